"""The async engine and sessions: one engine per process, one session per request or job."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.tenancy import ALL_TENANTS, current_tenant_id

#: Where a PostgreSQL connection remembers which tenant its settings were last set for.
_RLS_STATE = "stemma_rls_state"


def create_engine(database_url: str, pool_size: int = 20, **options: Any) -> AsyncEngine:
    """The engine for ``database_url``; ``pool_size`` is PostgreSQL's connections kept."""
    # Error messages must not carry bound values: they hold emails, names and hashes.
    options.setdefault("hide_parameters", True)
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, connect_args={"timeout": 30}, **options)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    options.setdefault("pool_pre_ping", True)
    # No overflow: SQLAlchemy closes an overflow connection as soon as it is returned,
    # so a burst beyond the pool (thousands of phones reconnecting after a process
    # died) opened and closed a connection for nearly every request, each with its
    # handshake, a new server process and its statements prepared again.
    options.setdefault("pool_size", pool_size)
    options.setdefault("max_overflow", 0)
    engine = create_async_engine(database_url, **options)
    event.listen(engine.sync_engine, "before_cursor_execute", _sync_row_level_security)
    event.listen(engine.sync_engine, "rollback", _forget_row_level_security)
    return engine


def _sync_row_level_security(
    connection: Any, _cursor: Any, _statement: Any, _parameters: Any, context: Any, _many: Any
) -> None:
    """Tell PostgreSQL which tenant the next statement runs for.

    The row-level security policies (see the migrations) read ``stemma.tenant_id``
    and ``stemma.all_tenants``, so a query that slips past the ORM hook (raw SQL,
    a Core statement) still sees only the current tenant's rows. The settings are
    sent only when they change for this connection.
    """
    options = context.execution_options if context is not None else {}
    wanted = (str(current_tenant_id() or ""), "on" if options.get(ALL_TENANTS) else "off")
    if connection.info.get(_RLS_STATE) == wanted:
        return
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(
            "SELECT set_config('stemma.tenant_id', $1, false),"
            " set_config('stemma.all_tenants', $2, false)",
            wanted,
        )
    finally:
        cursor.close()
    connection.info[_RLS_STATE] = wanted


def _forget_row_level_security(connection: Any) -> None:
    # A rollback undoes set_config() made inside the transaction.
    connection.info.pop(_RLS_STATE, None)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while one writer commits; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


async def refresh_statistics(session: AsyncSession, *tables: str) -> None:
    """Update the query planner's statistics after a bulk load, so searches use their
    indexes at once instead of after the next autovacuum (PostgreSQL) or never (SQLite)."""
    for table in tables:
        await session.execute(text(f"ANALYZE {table}"))
    await session.commit()
