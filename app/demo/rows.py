"""Writing the demo's many rows in batches: the Stockholm-scale demo has 15,000 people,
and one statement with all of them passes the database drivers' parameter limits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

BATCH = 2_000


async def insert_in_batches(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(model), rows[start : start + BATCH])


async def update_in_batches(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    """Rows by primary key (``{"id": ..., column: value}``)."""
    for start in range(0, len(rows), BATCH):
        await session.execute(update(model), rows[start : start + BATCH])
