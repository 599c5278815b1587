"""Writing many rows at once (a dispatch's frozen list, its outbox rows).

On PostgreSQL the rows go as one statement per batch, ``INSERT … SELECT … FROM
unnest(<one array per column>)``: one parse, one plan and one round trip for thousands
of rows, where an executemany binds and executes each row. Each row names its tenant
and the table's row policy checks it, as for any insert. SQLite, in process, takes
the executemany as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeDecorator, TypeEngine

#: Rows written per statement.
BATCH = 5_000


def _element_type(column_type: TypeEngine[Any]) -> TypeEngine[Any]:
    """The database type an array of this column is cast to (a decorator's own)."""
    if isinstance(column_type, TypeDecorator):
        return column_type.impl_instance
    return column_type


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], batch: int = BATCH
) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in the caller's
    transaction."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        for start in range(0, len(rows), batch):
            await session.execute(insert(table), list(rows[start : start + batch]))
        return
    names = list(rows[0])
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        # A value every row shares (the tenant, a status, a time) is sent once; the
        # others as one array each, and encoding an array costs per element.
        first = chunk[0]
        shared = [name for name in names if all(row[name] == first[name] for row in chunk)]
        varying = [name for name in names if name not in shared]
        columns: dict[str, Any] = {
            name: bindparam(f"shared_{index}", value=first[name], type_=table.c[name].type)
            for index, name in enumerate(shared)
        }
        if varying:
            arrays = [
                bindparam(
                    f"column_{index}",
                    value=[row[name] for row in chunk],
                    type_=ARRAY(_element_type(table.c[name].type)),
                )
                for index, name in enumerate(varying)
            ]
            source = func.unnest(*arrays).table_valued(*varying).render_derived()
            columns.update({name: source.c[name] for name in varying})
            statement = select(*(columns[name] for name in names))
        else:
            statement = select(*(columns[name] for name in names)).select_from(
                func.generate_series(1, len(chunk)).table_valued("n").render_derived()
            )
        await session.execute(insert(table).from_select(names, statement))
