"""Read a municipality's archive into this instance, in one transaction.

The archive must be of this database's schema version, and whole (each file's SHA-256
as its manifest says). The municipality gets the archive's slug or a new one. Every row
gets a new id from this instance (PostgreSQL's sequences, SQLite's next rowid) and every
reference is carried over to it; accounts are matched by email to those here, and made
when missing. Anything wrong, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.municipalities import add_tenant
from app.core.audit import Actor, record
from app.core.crypto import FieldCipher
from app.core.i18n import _
from app.core.models.base import Base
from app.core.outbox.senders import new_callback_token
from app.core.tenancy import ALL_TENANTS, tenant_scope
from app.domain.archive.export import CHUNK, ArchiveError, file_name, schema_version
from app.domain.archive.policy import (
    ENCRYPTED,
    FORMAT_VERSION,
    MANIFEST,
    UNSENT_ERROR,
    UNSENT_STATUSES,
    USER_COLUMNS,
    USERS,
    archived_tables,
    decode,
    import_order,
    references,
)
from app.domain.archive.remap import Remapper
from app.domain.materials.packing import new_code


@dataclass
class Imported:
    tenant_id: int
    slug: str
    rows: int
    users_made: int


class _Archive:
    """The archive's manifest and its files, checked against the manifest's digests."""

    def __init__(self, path: Path) -> None:
        try:
            self._tar = tarfile.open(path, "r:gz")  # noqa: SIM115 (closed by close())
            self.manifest = json.loads(self._read(MANIFEST))
        except (OSError, tarfile.TarError, ValueError, KeyError) as error:
            raise ArchiveError(_("This file is not a Stemma municipality archive.")) from error

    def _read(self, name: str) -> bytes:
        member = self._tar.extractfile(name)
        if member is None:
            raise KeyError(name)
        return member.read()

    def verify(self) -> None:
        """Every file the manifest names is there and as written (before any write)."""
        for name, entry in self.manifest["tables"].items():
            digest = hashlib.sha256()
            try:
                member = self._tar.extractfile(entry["file"])
                if member is None:
                    raise KeyError(entry["file"])
                while block := member.read(1 << 20):
                    digest.update(block)
            except (KeyError, tarfile.TarError) as error:
                raise ArchiveError(
                    _("The archive lacks the table %(table)s.", table=name)
                ) from error
            if digest.hexdigest() != entry["sha256"]:
                raise ArchiveError(
                    _("The archive is damaged: %(table)s is not as written.", table=name)
                )

    def rows(self, name: str) -> list[dict[str, Any]]:
        entry = self.manifest["tables"].get(name)
        if entry is None:
            raise ArchiveError(_("The archive lacks the table %(table)s.", table=name))
        try:
            body = self._read(file_name(name))
        except (KeyError, tarfile.TarError) as error:
            raise ArchiveError(_("The archive lacks the table %(table)s.", table=name)) from error
        if hashlib.sha256(body).hexdigest() != entry["sha256"]:
            raise ArchiveError(
                _("The archive is damaged: %(table)s is not as written.", table=name)
            )
        rows = [json.loads(line) for line in body.splitlines() if line]
        if len(rows) != entry["rows"]:
            raise ArchiveError(
                _("The archive is damaged: %(table)s is not as written.", table=name)
            )
        return rows

    def close(self) -> None:
        self._tar.close()


async def _new_ids(session: AsyncSession, table: Table, count: int) -> list[int]:
    """``count`` ids for ``table`` from this instance, ascending."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, "id")
        taken = await session.scalars(
            select(func.nextval(sequence)).select_from(func.generate_series(1, count))
        )
        return sorted(taken)
    highest = await session.scalar(
        select(func.coalesce(func.max(table.c.id), 0)).execution_options(**{ALL_TENANTS: True})
    )
    return list(range(int(highest or 0) + 1, int(highest or 0) + 1 + count))


async def _insert(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(table), rows[start : start + CHUNK])


#: What the manifest says of the municipality.
TENANT_KEYS = {"id", "slug", "name", "locale", "timezone", "second_factor_policy", "created_at"}


def _check(archive: _Archive, here: str) -> None:
    manifest = archive.manifest
    tenant = manifest.get("tenant") if isinstance(manifest, dict) else None
    if not isinstance(tenant, dict) or not set(tenant) >= TENANT_KEYS:
        raise ArchiveError(_("This file is not a Stemma municipality archive."))
    if manifest.get("format") != FORMAT_VERSION:
        raise ArchiveError(_("This archive is of a format this version of Stemma cannot read."))
    if manifest.get("schema_version") != here:
        raise ArchiveError(
            _(
                "This archive is of schema version %(archive)s and this database is at"
                " %(here)s: import it into an instance at the same version.",
                archive=str(manifest.get("schema_version")),
                here=here,
            )
        )
    known = {table.name for table in archived_tables()} | {USERS}
    unknown = sorted(set(manifest.get("tables", {})) - known)
    missing = sorted(known - set(manifest.get("tables", {})))
    if unknown or missing:
        raise ArchiveError(
            _(
                "The archive's tables are not this instance's: %(tables)s.",
                tables=", ".join(unknown + missing),
            )
        )


async def _users(session: AsyncSession, archive: _Archive, remap: Remapper) -> int:
    """Map the archive's accounts to this instance's by email; make the missing ones."""
    rows = archive.rows(USERS)
    users = Base.metadata.tables[USERS]
    here: dict[str, int] = {}
    emails = [row["email"] for row in rows]
    for start in range(0, len(emails), CHUNK):
        found = await session.execute(
            select(users.c.email, users.c.id).where(
                users.c.email.in_(emails[start : start + CHUNK])
            )
        )
        here.update({email: user_id for email, user_id in found})
    missing = [row for row in rows if row["email"] not in here]
    new_ids = iter(await _new_ids(session, users, len(missing)))
    made = []
    for row in rows:
        if row["email"] in here:
            remap.add(USERS, row["id"], here[row["email"]])
            continue
        new_id = next(new_ids)
        remap.add(USERS, row["id"], new_id)
        made.append(
            {name: decode(users, name, row[name]) for name in USER_COLUMNS} | {"id": new_id}
        )
    await _insert(session, users, made)
    return len(made)


def _fresh_values(table: Table, row: dict[str, Any]) -> None:
    """The columns the import writes anew (``policy.REWRITTEN``), and unsent mail."""
    if table.name == "message_senders":
        row["callback_token"] = new_callback_token()
    elif table.name == "outbox_messages":
        row["idempotency_key"] = f"imported:{row['id']}"
        if row["status"] in UNSENT_STATUSES:
            row["status"] = "failed"
            row["last_error"] = UNSENT_ERROR
    elif table.name == "material_deliveries":
        # Unique over the instance, and under row-level security another
        # municipality's codes cannot be seen to be avoided: always a new one.
        row["code"] = new_code()


def _encrypt(cipher: FieldCipher, table: Table, row: dict[str, Any]) -> None:
    for column, name in ENCRYPTED.get(table.name, {}).items():
        clear = row.pop(name, None)
        row[column] = None if clear is None else cipher.encrypt(clear)


async def _table(
    session: AsyncSession,
    cipher: FieldCipher,
    table: Table,
    rows: list[dict[str, Any]],
    tenant_id: int,
    remap: Remapper,
) -> None:
    """Insert one table's rows with new ids; a reference to its own table afterwards."""
    new_ids = await _new_ids(session, table, len(rows))
    for row, new_id in zip(rows, new_ids, strict=True):
        remap.add(table.name, row["id"], new_id)
    own = [name for name, target in references(table).items() if target == table.name]
    later: list[dict[str, Any]] = []
    ready = []
    for source in rows:
        row = remap.row(table, source)
        _encrypt(cipher, table, row)
        row = {name: decode(table, name, value) for name, value in row.items()}
        row["tenant_id"] = tenant_id
        _fresh_values(table, row)
        for name in own:
            if row[name] is not None:
                later.append({"_id": row["id"], "_column": name, "_value": row[name]})
                row[name] = None
        ready.append(row)
    await _insert(session, table, ready)
    for name in own:
        values = [
            {"_id": item["_id"], "_value": item["_value"]}
            for item in later
            if item["_column"] == name
        ]
        if values:
            statement = (
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values({name: bindparam("_value")})
            )
            await session.execute(statement, values)


async def import_archive(
    session: AsyncSession,
    actor: Actor,
    cipher: FieldCipher,
    path: Path,
    slug: str | None = None,
) -> Imported:
    """Read the archive at ``path`` into a new municipality (``slug`` or the archive's);
    ``cipher`` (the instance's) encrypts the columns the archive holds in the clear."""
    archive = _Archive(path)
    try:
        _check(archive, await schema_version(session))
        archive.verify()
        entry = archive.manifest["tenant"]
        try:
            tenant = await add_tenant(
                session, slug or entry["slug"], entry["name"], entry["locale"], entry["timezone"]
            )
            tenant.second_factor_policy = entry["second_factor_policy"]
            tenant.created_at = dt.datetime.fromisoformat(entry["created_at"])
            await session.flush()
            remap = Remapper(tenant.id, entry["id"])
            users_made = await _users(session, archive, remap)
            rows = 0
            with tenant_scope(tenant.id):
                for table in import_order():
                    table_rows = archive.rows(table.name)
                    try:
                        await _table(session, cipher, table, table_rows, tenant.id, remap)
                    except DBAPIError as error:
                        raise ArchiveError(
                            _(
                                "The database refused the rows of %(table)s; nothing was written.",
                                table=table.name,
                            )
                        ) from error
                    rows += len(table_rows)
                await record(
                    session,
                    actor,
                    "tenancy.tenant.imported",
                    tenant,
                    data={
                        "from_slug": entry["slug"],
                        "schema_version": archive.manifest["schema_version"],
                        "rows": rows,
                    },
                )
                result = Imported(tenant.id, tenant.slug, rows, users_made)
                await session.commit()
        except BaseException:
            await session.rollback()
            raise
    finally:
        archive.close()
    return result
