"""The async engine and sessions: one engine per process, one session per request or job."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.tenancy import current_tenant_id

log = logging.getLogger(__name__)


#: How long a use case safe to run again waits for a new primary after losing the old one
#: (Patroni promotes its synchronous standby within seconds; see docs/cluster.md).
FAILOVER_PATIENCE = 30.0
#: The SQLSTATEs of a server that is going away or is not the primary (any more):
#: connection exceptions (08...), shutdowns and "cannot connect now" (57P01-57P03),
#: and a write refused by a standby (25006).
_GONE_SQLSTATES = ("57P01", "57P02", "57P03", "25006")

#: A pooled connection idle longer than this is pinged before it is used again.
PING_IDLE_SECONDS = 1.0
#: Where a pooled connection remembers when it was handed back.
_CHECKED_IN_AT = "stemma_checked_in_at"

#: Where a PostgreSQL connection remembers which tenant its settings were last set for.
_RLS_STATE = "stemma_rls_state"
#: Set while those settings were changed in a transaction not yet committed: its
#: rollback takes them back, and the connection must send them again.
_RLS_UNCOMMITTED = "stemma_rls_uncommitted"


def create_engine(database_url: str, pool_size: int = 20, **options: Any) -> AsyncEngine:
    """The engine for ``database_url``; ``pool_size`` is PostgreSQL's connections kept."""
    # Error messages must not carry bound values: they hold emails, names and hashes.
    options.setdefault("hide_parameters", True)
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, connect_args={"timeout": 30}, **options)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    # A connection is pinged before use only when it lay idle in the pool (see
    # ``_ping_when_idle``), not on every checkout: asyncpg's ping is three round trips
    # (BEGIN, a query, ROLLBACK), a tenth of a check-in's server CPU (bench --only costs).
    ping = options.pop("pool_pre_ping", True)
    # No overflow: SQLAlchemy closes an overflow connection as soon as it is returned,
    # so a burst beyond the pool (thousands of phones reconnecting after a process
    # died) opened and closed a connection for nearly every request, each with its
    # handshake, a new server process and its statements prepared again.
    options.setdefault("pool_size", pool_size)
    options.setdefault("max_overflow", 0)
    engine = create_async_engine(database_url, **options)
    event.listen(engine.sync_engine, "before_cursor_execute", _sync_row_level_security)
    event.listen(engine.sync_engine, "commit", _keep_row_level_security)
    event.listen(engine.sync_engine, "rollback", _forget_row_level_security)
    event.listen(engine.sync_engine, "rollback_savepoint", _forget_row_level_security_always)
    # A connection handed back to the pool is rolled back there, outside any Connection.
    event.listen(engine.sync_engine.pool, "reset", _forget_row_level_security_on_reset)
    if ping:
        event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
        event.listen(
            engine.sync_engine.pool,
            "checkout",
            functools.partial(_ping_when_idle, engine.sync_engine.dialect),
        )
    return engine


def _note_checkin(_dbapi_connection: Any, connection_record: Any) -> None:
    if connection_record is not None:
        connection_record.info[_CHECKED_IN_AT] = time.monotonic()


def _ping_when_idle(
    dialect: Any, dbapi_connection: Any, connection_record: Any, _proxy: Any
) -> None:
    """Ping a connection that lay in the pool longer than PING_IDLE_SECONDS (a server
    restarted or a balancer's idle timeout may have ended it meanwhile); one handed
    back moments ago goes out as it is. A dead one is replaced by a new connection and,
    as the pool's own pre-ping does, every connection the pool held before it with it
    (the server went away). So does the first statement to fail on a dead connection
    that was used moments before a failover; use cases safe to run again retry that
    failure (``again_after_failover``)."""
    last = connection_record.info.get(_CHECKED_IN_AT)
    if last is not None and time.monotonic() - last < PING_IDLE_SECONDS:
        return
    try:
        alive = dialect.do_ping(dbapi_connection)
    except Exception as error:
        if dialect.is_disconnect(error, dbapi_connection, None):
            raise InvalidatePoolError(str(error)) from error
        raise
    if alive is False:
        raise InvalidatePoolError("the connection did not answer a ping")


def _sync_row_level_security(
    connection: Any, _cursor: Any, _statement: Any, _parameters: Any, _context: Any, _many: Any
) -> None:
    """Tell PostgreSQL which tenant the next statement runs for.

    The row-level security policies (see ``app.core.rls``) read ``stemma.tenant_id``,
    so a query that slips past the ORM hook (raw SQL, a Core statement) still sees
    only the current tenant's rows. The setting is sent only when it changes for this
    connection. ``all_tenants`` changes nothing here: no setting opens every tenant
    (reads across tenants go through the functions ``app.core.across_tenants`` calls).
    """
    wanted = str(current_tenant_id() or "")
    if connection.info.get(_RLS_STATE) == wanted:
        return
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute("SELECT set_config('stemma.tenant_id', $1, false)", (wanted,))
    finally:
        cursor.close()
    connection.info[_RLS_STATE] = wanted
    connection.info[_RLS_UNCOMMITTED] = True


def _keep_row_level_security(connection: Any) -> None:
    connection.info.pop(_RLS_UNCOMMITTED, None)


def _forget_row_level_security(connection: Any) -> None:
    # A rollback undoes set_config() made inside the transaction, and only that: after
    # a read-only transaction (most sessions end so) the committed settings still hold.
    if connection.invalidated:
        # Its database connection is gone (a request cancelled mid-statement when its
        # client left): nothing of it is used again, and asking for its ``info`` would
        # raise, so the session's close would fail and never give the connection back.
        return
    _forget_uncommitted(connection.info)


def _forget_row_level_security_always(connection: Any, *_args: Any) -> None:
    # A savepoint's rollback may or may not have undone them: send them again.
    connection.info.pop(_RLS_STATE, None)


def _forget_row_level_security_on_reset(
    dbapi_connection: Any, connection_record: Any, reset_state: Any
) -> None:
    _forget_uncommitted(connection_record.info)


def _forget_uncommitted(info: dict[str, Any]) -> None:
    if info.pop(_RLS_UNCOMMITTED, False):
        info.pop(_RLS_STATE, None)


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


def lost_the_database(error: BaseException) -> bool:
    """Whether ``error`` says the database went away or is no longer the primary (a
    failover), rather than that the statement was wrong."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, (OSError, TimeoutError)):
            return True
        state = getattr(seen, "sqlstate", None)
        if isinstance(state, str) and (state.startswith("08") or state in _GONE_SQLSTATES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def again_after_failover[T](
    session: AsyncSession,
    attempt: Callable[[], Awaitable[T]],
    patience: float = FAILOVER_PATIENCE,
) -> T:
    """Run ``attempt`` (a whole unit of work on ``session``) and, when it fails because
    the database went away, roll back and run it again until ``patience`` seconds pass.

    Only for use cases that are safe to run twice: one whose commit may have reached the
    database before the connection broke must find its own row the second time (an
    idempotency key). The pool's pre-ping and the rollback give the next attempt a new
    connection, through the balancer to the new primary.
    """
    deadline = time.monotonic() + patience
    pause = 0.2
    while True:
        try:
            return await attempt()
        except Exception as error:
            if not lost_the_database(error) or time.monotonic() + pause > deadline:
                raise
            log.warning("database lost (%s); trying again", type(error).__name__)
        try:
            await session.rollback()
        except Exception as error:
            if not lost_the_database(error):
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 2.0)


def retried_after_failover[**P, T](
    use_case: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
) -> Callable[Concatenate[AsyncSession, P], Awaitable[T]]:
    """A use case (taking its session first) run through ``again_after_failover``, so
    its signature is written once. Only for use cases safe to run twice (see there)."""

    @functools.wraps(use_case)
    async def run(session: AsyncSession, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await again_after_failover(session, lambda: use_case(session, *args, **kwargs))

    return run
