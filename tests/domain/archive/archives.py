"""Reading an archive back for a test, filling the tables the demo leaves empty, and
an archive's rows with every id replaced by its rank (to compare two "modulo ids")."""

from __future__ import annotations

import datetime as dt
import json
import tarfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    Time,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models.base import Base, UTCDateTime
from app.core.tenancy import tenant_scope
from app.domain.archive.policy import (
    LOOSE_REFERENCES,
    MANIFEST,
    UNSENT_ERROR,
    UNSENT_STATUSES,
    USERS,
    archived_tables,
    references,
)

Rows = dict[str, list[dict[str, Any]]]
#: Far from any midnight, in any zone a test may run in.
NOON = dt.datetime(2026, 6, 10, 10, 30, tzinfo=dt.UTC)


def read(path: Path) -> tuple[dict[str, Any], Rows]:
    with tarfile.open(path, "r:gz") as archive:
        manifest = json.loads(archive.extractfile(MANIFEST).read())  # type: ignore[union-attr]
        rows = {
            name: [
                json.loads(line)
                for line in archive.extractfile(entry["file"]).read().splitlines()  # type: ignore[union-attr]
            ]
            for name, entry in manifest["tables"].items()
        }
    return manifest, rows


def _value(table: Table, name: str, first: dict[str, int | None]) -> Any:
    column = table.c[name]
    targets = references(table)
    if name in targets:
        return None if targets[name] == table.name else first[targets[name]]
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return NOON
    if isinstance(kind, Date):
        return NOON.date()
    if isinstance(kind, Time):
        return dt.time(10, 30)
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer | BigInteger):
        return 1
    if isinstance(kind, Numeric) and not isinstance(kind, Float):
        return Decimal("1.50")
    if isinstance(kind, Float):
        return 1.5
    if isinstance(kind, LargeBinary):
        return b"\x89PNG"
    if isinstance(kind, JSON):
        return {"filled": name}
    if isinstance(kind, String | Text):
        return f"{table.name[:3]}-{name}"[: kind.length or 100]
    raise AssertionError(f"no value for {table.name}.{name} ({kind!r})")


async def fill_empty_tables(session: AsyncSession, tenant_id: int) -> list[str]:
    """One row in each archived table the municipality has none in, its references on
    the first row of each table (a loose reference too): the round trip then carries
    every table. Returns the tables filled."""
    filled = []
    with tenant_scope(tenant_id):
        first: dict[str, int | None] = {}
        member = select(Base.metadata.tables["memberships"].c.user_id).limit(1)
        first[USERS] = await session.scalar(member)
        for table in archived_tables():
            first[table.name] = await session.scalar(
                select(table.c.id).where(table.c.tenant_id == tenant_id).order_by(table.c.id)
            )
            if first[table.name] is not None:
                continue
            row = {
                c.name: _value(table, c.name, first)
                for c in table.c
                if c.name not in ("id", "tenant_id")
            }
            row["tenant_id"] = tenant_id
            first[table.name] = await session.scalar(
                insert(table).values(row).returning(table.c.id)
            )
            filled.append(table.name)
        outbox = Base.metadata.tables["outbox_messages"]
        await session.execute(
            outbox.update()
            .where(outbox.c.id == first["outbox_messages"])
            .values(dispatch_recipient_id=first["dispatch_recipients"])
        )
        await session.commit()
    return filled


def _ranks(rows: Rows) -> dict[str, dict[int, int]]:
    return {
        name: {
            row["id"]: rank for rank, row in enumerate(sorted(table_rows, key=lambda r: r["id"]))
        }
        for name, table_rows in rows.items()
    }


def modulo_ids(rows: Rows, tenant_id: int) -> Rows:
    """Every id (a row's own, its references, an audit entry's object) as its rank in
    its table: two archives of the same data then read the same."""
    ranks = _ranks(rows) | {"tenants": {tenant_id: 0}}
    classes = {m.class_.__name__: m.local_table.name for m in Base.registry.mappers}
    tables = {table.name: table for table in archived_tables()}
    out: Rows = {}
    for name, table_rows in rows.items():
        targets = references(tables[name]) if name in tables else {}
        normal = []
        for row in table_rows:
            row = dict(row)
            row["id"] = ranks[name][row["id"]]
            for column, target in targets.items():
                if row[column] is not None and target != "tenants":
                    known = ranks.get(target, {})
                    loose = (name, column) in LOOSE_REFERENCES
                    row[column] = known.get(row[column]) if loose else known[row[column]]
            target = classes.get(row.get("object_type") or "", "")
            object_id = row.get("object_id") or ""
            if (
                name == "audit_entries"
                and object_id.isdigit()
                and int(object_id) in ranks.get(target, {})
            ):
                row["object_id"] = f"#{ranks[target][int(object_id)]}"
            normal.append(row)
        out[name] = sorted(normal, key=lambda r: r["id"])
    return out


def as_imported(rows: Rows) -> Rows:
    """What the import makes of an archive's rows by design (docs/tenant-archive.md):
    unsent mail failed, idempotency keys and QR codes of its own."""
    out = {name: [dict(row) for row in table_rows] for name, table_rows in rows.items()}
    for row in out["outbox_messages"]:
        row["idempotency_key"] = None
        if row["status"] in UNSENT_STATUSES:
            row["status"], row["last_error"] = "failed", UNSENT_ERROR
    for row in out["material_deliveries"]:
        row["code"] = None
    return out
