"""The few questions system code asks across municipalities, answered with ids only.

On PostgreSQL no setting lets a connection past the row policies (see
``app.core.rls``): each question is a SECURITY DEFINER function made by migration
0015 and owned by the tables' owner, which answers with municipality ids and nothing
of their data. The caller then reads what it needs inside each municipality's
``tenant_scope``, as any other code does. SQLite has no row policies: there the same
question is the ORM statement given, run with ``all_tenants``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.tenancy import ALL_TENANTS


def _on_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def tenant_ids(
    session: AsyncSession, function: str, arguments: tuple[Any, ...], fallback: Select[Any]
) -> list[Any]:
    """The ids (``None`` for rows of no municipality) the database function ``function``
    answers with for ``arguments``; on SQLite, what ``fallback`` selects."""
    if _on_postgresql(session):
        statement: Select[Any] = select(getattr(func, function)(*arguments))
    else:
        statement = fallback.execution_options(**{ALL_TENANTS: True})
    return list(await session.scalars(statement))


async def tenant_id(
    session: AsyncSession, function: str, arguments: tuple[Any, ...], fallback: Select[Any]
) -> int | None:
    """The one id ``function`` answers with, or None (see ``tenant_ids``)."""
    found = await tenant_ids(session, function, arguments, fallback)
    return found[0] if found else None


async def run_everywhere(session: AsyncSession, function: str, arguments: tuple[Any, ...]) -> bool:
    """Run a function that changes rows of every municipality (on PostgreSQL); False
    elsewhere, where the caller runs its own statements with ``all_tenants``."""
    if not _on_postgresql(session):
        return False
    await session.execute(select(getattr(func, function)(*arguments)))
    return True
