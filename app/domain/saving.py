"""The last steps every register service shares: uniqueness checks and the audited write."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record

T = TypeVar("T")


def has_name(column: Any, name: str) -> ColumnElement[bool]:
    """``column`` holds ``name``, in any case. SQLite lowers only ASCII letters, so
    "Ängen" and "ängen" may pass its ``lower()`` as two names: the exact name is asked
    for as well, so the unique constraint never sees a duplicate the check missed."""
    return (func.lower(column) == name.lower()) | (column == name)


async def is_taken(
    session: AsyncSession, statement: Select[Any], id_column: Any, exclude_id: int | None
) -> bool:
    """Whether ``statement`` finds a row other than the one being edited."""
    if exclude_id is not None:
        statement = statement.where(id_column != exclude_id)
    return await session.scalar(statement.limit(1)) is not None


async def store[T](
    session: AsyncSession,
    actor: Actor,
    obj: T,
    values: Mapping[str, Any],
    code: str,
    created: bool,
    data: Mapping[str, Any] | None = None,
) -> T:
    """Set ``values`` on ``obj``, write it with an audit entry ``<code>.created`` or
    ``<code>.updated``, and commit."""
    for key, value in values.items():
        setattr(obj, key, value)
    session.add(obj)
    await session.flush()
    await record(
        session, actor, f"{code}.{'created' if created else 'updated'}", obj, data=dict(data or {})
    )
    await session.commit()
    return obj
