"""Refuse to serve as a database role that PostgreSQL's row-level security lets past.

A superuser or a role with BYPASSRLS skips every row policy, and the tables' owner (the
role that runs the migrations) is let past by the policies' own clause (see
``app.core.rls``): connected as any of them, the app would keep municipalities apart by
its ORM hook alone, and nothing would say so. ``stemma serve``, ``stemma worker`` and
the app's start refuse; ``stemma migrate`` runs as the owner on purpose.
"""

from __future__ import annotations

from sqlalchemy import column, func, select, table
from sqlalchemy.ext.asyncio import AsyncEngine

#: The setting that lets a development set-up run as such a role anyway.
ESCAPE = "STEMMA_ALLOW_PRIVILEGED_DATABASE_ROLE"


class UnsafeDatabaseRoleError(RuntimeError):
    """The app connected to PostgreSQL as a role the row policies do not bind."""


async def privileges_past_row_security(engine: AsyncEngine) -> list[str]:
    """What lets the connected role past the row policies (empty: nothing, or SQLite)."""
    if engine.dialect.name != "postgresql":
        return []
    roles = table("pg_roles", column("rolname"), column("rolsuper"), column("rolbypassrls"))
    tables = table("pg_tables", column("tablename"), column("schemaname"), column("tableowner"))
    owner = (
        select(tables.c.tableowner)
        .where(tables.c.tablename == "tenants", tables.c.schemaname == func.current_schema())
        .scalar_subquery()
    )
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(
                    func.current_user(),
                    roles.c.rolsuper,
                    roles.c.rolbypassrls,
                    owner == func.current_user(),
                ).where(roles.c.rolname == func.current_user())
            )
        ).one()
    name, superuser, bypass, owns = row
    found = []
    if superuser:
        found.append(f"{name} is a superuser (ALTER ROLE {name} NOSUPERUSER)")
    if bypass:
        found.append(f"{name} has BYPASSRLS (ALTER ROLE {name} NOBYPASSRLS)")
    if owns:
        found.append(f"{name} owns the tables: it runs the migrations, not the app")
    return found


async def refuse_privileged_role(engine: AsyncEngine, allowed: bool) -> None:
    """Raise UnsafeDatabaseRoleError naming what to fix, unless ``allowed`` (the
    development escape ``STEMMA_ALLOW_PRIVILEGED_DATABASE_ROLE``)."""
    if allowed:
        return
    found = await privileges_past_row_security(engine)
    if found:
        raise UnsafeDatabaseRoleError(
            "Stemma refuses to start: PostgreSQL's row-level security would not keep the"
            " municipalities apart, because the database role "
            + "; ".join(found)
            + ". Connect with STEMMA_DATABASE_URL as an ordinary role (see README,"
            " 'The database role'); for development only, set "
            f"{ESCAPE}=true."
        )
