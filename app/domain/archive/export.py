"""Write one municipality's complete data to an archive (format: docs/tenant-archive.md).

The archive is a ``.tar.gz``: ``manifest.json`` first, then one JSON Lines file per
table under ``tables/`` (a row a line, ``tenant_id`` left out, ids as they are here).
The manifest names the schema version (the database's Alembic revision), the
municipality, and each file's row count and SHA-256. The file is made readable by its
owner only: it holds personal data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Table, column, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.audit import Actor, record
from app.core.crypto import DecryptionError, FieldCipher
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.models import Tenant
from app.core.models.base import Base, utcnow
from app.core.tenancy import tenant_scope
from app.domain.archive.policy import (
    BLANKED,
    DROPPED_TABLES,
    ENCRYPTED,
    FORMAT_VERSION,
    MANIFEST,
    TABLES_DIR,
    USER_COLUMNS,
    USERS,
    archived_tables,
    encode,
    references,
)

#: Rows read from the database at a time.
CHUNK = 2000
ALEMBIC_VERSION = table("alembic_version", column("version_num"))


class ArchiveError(DomainError):
    """An archive cannot be written or read; nothing was written."""


@dataclass
class Written:
    path: Path
    rows: int
    tables: int
    sha256: str


async def schema_version(session: AsyncSession) -> str:
    """The database's Alembic revision: an archive is read only at the same one."""
    return str(await session.scalar(select(ALEMBIC_VERSION.c.version_num)))


def file_name(name: str) -> str:
    return f"{TABLES_DIR}/{name}.jsonl"


class _TableFile:
    """One table's JSON Lines in a temporary file, with its count and digest."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        self.path = folder / f"{name}.jsonl"
        self.handle = self.path.open("wb")
        self.digest = hashlib.sha256()
        self.rows = 0

    def write(self, row: dict[str, Any]) -> None:
        line = json.dumps(row, ensure_ascii=False, sort_keys=True).encode() + b"\n"
        self.handle.write(line)
        self.digest.update(line)
        self.rows += 1

    def close(self) -> dict[str, Any]:
        self.handle.close()
        return {"file": file_name(self.name), "rows": self.rows, "sha256": self.digest.hexdigest()}


def _clear(cipher: FieldCipher, table: Table, row: dict[str, Any]) -> None:
    """The encrypted columns in the clear, under their archive names."""
    for stored_as, name in ENCRYPTED.get(table.name, {}).items():
        stored = row.pop(stored_as)
        try:
            row[name] = None if stored is None else cipher.decrypt(stored)
        except DecryptionError as error:
            raise ArchiveError(
                _(
                    "A value of %(table)s cannot be decrypted with this instance's secret"
                    " key; nothing was written.",
                    table=table.name,
                )
            ) from error


async def _write_table(
    session: AsyncSession,
    cipher: FieldCipher,
    table: Table,
    tenant_id: int,
    out: _TableFile,
    users: set[int],
) -> None:
    blanked = BLANKED.get(table.name, ())
    user_columns = [name for name, target in references(table).items() if target == USERS]
    names = [c.name for c in table.c if c.name != "tenant_id"]
    result = await session.stream(
        select(table).where(table.c.tenant_id == tenant_id).order_by(table.c.id)
    )
    async for chunk in result.mappings().partitions(CHUNK):
        for source in chunk:
            row = {name: None if name in blanked else encode(source[name]) for name in names}
            users.update(value for name in user_columns if (value := row[name]) is not None)
            _clear(cipher, table, row)
            out.write(row)


async def _write_users(session: AsyncSession, ids: set[int], out: _TableFile) -> None:
    wanted = sorted(ids)
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start : start + CHUNK]
        found = await session.execute(
            select(*(Base.metadata.tables[USERS].c[name] for name in USER_COLUMNS))
            .where(Base.metadata.tables[USERS].c.id.in_(part))
            .order_by(Base.metadata.tables[USERS].c.id)
        )
        for source in found.mappings():
            out.write({name: encode(source[name]) for name in USER_COLUMNS})


def _tenant_entry(tenant: Tenant) -> dict[str, Any]:
    return {
        "id": tenant.id,
        "slug": tenant.slug,
        "name": tenant.name,
        "locale": tenant.locale,
        "timezone": tenant.timezone,
        "second_factor_policy": tenant.second_factor_policy,
        "created_at": encode(tenant.created_at),
    }


def _pack(folder: Path, manifest: dict[str, Any], out: Path) -> str:
    """The tar.gz at ``out`` (written beside it, then moved, owner-only); its SHA-256."""
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(prefix=".tenant-", suffix=".part", dir=out.parent)
    os.close(descriptor)
    try:
        os.chmod(partial, 0o600)
        with tarfile.open(partial, "w:gz") as archive:
            body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            info.mtime = int(utcnow().timestamp())
            info.mode = 0o600
            archive.addfile(info, io.BytesIO(body))
            for entry in manifest["tables"].values():
                member = archive.gettarinfo(folder / Path(entry["file"]).name, entry["file"])
                member.mode = 0o600
                member.uid = member.gid = 0
                member.uname = member.gname = ""
                with (folder / Path(entry["file"]).name).open("rb") as handle:
                    archive.addfile(member, handle)
        os.replace(partial, out)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    digest = hashlib.sha256()
    with out.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


async def export_tenant(
    session: AsyncSession,
    actor: Actor,
    cipher: FieldCipher,
    slug: str,
    out: Path,
    now: dt.datetime | None = None,
) -> Written:
    """Write the municipality at ``slug`` to ``out`` and audit it there; ``cipher``
    (the instance's) reads the encrypted columns (``policy.ENCRYPTED``)."""
    tenant = await get_tenant_by_slug(session, slug)
    if tenant is None:
        raise ArchiveError(_("No municipality has this address."), "tenant")
    manifest: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "schema_version": await schema_version(session),
        "exported_at": encode(now or utcnow()),
        "tenant": _tenant_entry(tenant),
        "dropped_tables": sorted(DROPPED_TABLES),
        "blanked_columns": {name: list(columns) for name, columns in sorted(BLANKED.items())},
        "tables": {},
    }
    with tempfile.TemporaryDirectory(prefix="stemma-export-") as folder, tenant_scope(tenant.id):
        users: set[int] = set()
        for table in archived_tables():
            out_file = _TableFile(Path(folder), table.name)
            try:
                await _write_table(session, cipher, table, tenant.id, out_file, users)
            finally:
                manifest["tables"][table.name] = out_file.close()
        users_file = _TableFile(Path(folder), USERS)
        try:
            await _write_users(session, users, users_file)
        finally:
            manifest["tables"][USERS] = users_file.close()
        sha256 = _pack(Path(folder), manifest, out)
        rows = sum(entry["rows"] for entry in manifest["tables"].values())
        await record(
            session,
            actor,
            "tenancy.tenant.exported",
            tenant,
            data={"rows": rows, "sha256": sha256, "schema_version": manifest["schema_version"]},
        )
        await session.commit()
    return Written(out, rows, len(manifest["tables"]), sha256)
