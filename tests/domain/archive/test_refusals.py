"""What the import refuses, with a clear message and nothing written; accounts made on
an instance that lacks them, signing in with their own password; what stays behind."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from quart.testing import QuartClient
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.accounts.users import AccountsError
from app.core.audit import Actor
from app.core.crypto import DecryptionError, FieldCipher
from app.core.i18n import locale_scope
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.archive.export import ArchiveError, export_tenant, schema_version
from app.domain.archive.policy import MANIFEST
from app.domain.archive.restore import import_archive
from app.domain.models import Person
from tests.domain.archive.archives import read
from tests.factories import login, make_person, make_tenant, make_user

ACTOR = Actor.system("test")
#: The tests' secret key (conftest's settings).
CIPHER = FieldCipher("test-secret-key-that-is-long-enough-0123456789")


def _rewrite(path: Path, change: Any) -> Path:
    """A copy of the archive with ``change(name, body) -> body`` applied to each file."""
    out = path.with_name("changed.tar.gz")
    with tarfile.open(path, "r:gz") as source, tarfile.open(out, "w:gz") as target:
        for member in source.getmembers():
            body = change(member.name, source.extractfile(member).read())  # type: ignore[union-attr]
            member.size = len(body)
            target.addfile(member, io.BytesIO(body))
    return out


async def _counts(db: AsyncSession) -> tuple[int, int]:
    tenants = await db.scalar(select(func.count()).select_from(Tenant))
    users = await db.scalar(select(func.count()).select_from(User))
    return int(tenants or 0), int(users or 0)


@pytest.fixture
async def archive(db: AsyncSession, tmp_path: Path) -> Path:
    tenant = await make_tenant(db, slug="lund")
    await make_user(db, tenant, "admin")
    await make_person(db, tenant, national_id="198112189876")
    written = await export_tenant(db, ACTOR, CIPHER, "lund", tmp_path / "lund.tar.gz")
    return written.path


async def test_an_archive_of_another_schema_version_is_refused(
    db: AsyncSession, archive: Path
) -> None:
    def older(name: str, body: bytes) -> bytes:
        if name != MANIFEST:
            return body
        return json.dumps(json.loads(body) | {"schema_version": "0001"}).encode()

    before = await _counts(db)
    with locale_scope("sv"), pytest.raises(ArchiveError) as refused:
        await import_archive(db, ACTOR, CIPHER, _rewrite(archive, older), slug="ny")
    assert refused.value.message.startswith("Arkivet har schemaversion 0001")
    assert f"databasen har {await schema_version(db)}:" in refused.value.message
    assert await _counts(db) == before


async def test_a_damaged_archive_is_refused_before_anything_is_written(
    db: AsyncSession, archive: Path
) -> None:
    def damaged(name: str, body: bytes) -> bytes:
        return body.replace(b"198112189876", b"198112189877") if "people" in name else body

    before = await _counts(db)
    with pytest.raises(ArchiveError, match="people"):
        await import_archive(db, ACTOR, CIPHER, _rewrite(archive, damaged), slug="ny")
    assert await _counts(db) == before
    with pytest.raises(ArchiveError):
        await import_archive(db, ACTOR, CIPHER, Path(__file__), slug="ny")

    def nameless(name: str, body: bytes) -> bytes:
        if name != MANIFEST:
            return body
        return json.dumps({k: v for k, v in json.loads(body).items() if k != "tenant"}).encode()

    with pytest.raises(ArchiveError, match=r"inte ett kommunarkiv|not a Stemma"):
        await import_archive(db, ACTOR, CIPHER, _rewrite(archive, nameless), slug="ny")
    assert await _counts(db) == before


async def test_a_failure_half_way_leaves_nothing_written(
    db: AsyncSession, archive: Path, tmp_path: Path
) -> None:
    """Two people with one national id: the database refuses the second after the
    municipality, its accounts and the tables before were written; all are undone."""
    _manifest, rows = read(archive)
    [person] = rows["people"]
    twin = json.dumps(person | {"id": person["id"] + 1000}, sort_keys=True).encode() + b"\n"

    def doubled(name: str, body: bytes) -> bytes:
        if name == "tables/people.jsonl":
            return body + twin
        if name == MANIFEST:
            manifest = json.loads(body)
            entry = manifest["tables"]["people"]
            entry["rows"] += 1
            entry["sha256"] = hashlib.sha256(body_of_people + twin).hexdigest()
            return json.dumps(manifest).encode()
        return body

    with tarfile.open(archive, "r:gz") as source:
        body_of_people = source.extractfile("tables/people.jsonl").read()  # type: ignore[union-attr]
    await db.execute(delete(User).where(User.email.like("%@lund.test")))
    await db.commit()
    before = await _counts(db)
    with pytest.raises(ArchiveError, match="people"):
        await import_archive(db, ACTOR, CIPHER, _rewrite(archive, doubled), slug="ny")
    assert await _counts(db) == before
    assert await db.scalar(select(Tenant.id).where(Tenant.slug == "ny")) is None


async def test_a_taken_slug_is_refused(db: AsyncSession, archive: Path) -> None:
    with pytest.raises(AccountsError) as refused:
        await import_archive(db, ACTOR, CIPHER, archive)
    assert refused.value.field == "slug"


async def test_accounts_missing_here_are_made_and_sign_in_with_their_password(
    db: AsyncSession, client: QuartClient, tmp_path: Path
) -> None:
    tenant = await make_tenant(db, slug="malmo")
    admin = await make_user(db, tenant, "admin")
    with tenant_scope(tenant.id):
        await create_api_token(db, ACTOR, "Lön")
    written = await export_tenant(db, ACTOR, CIPHER, "malmo", tmp_path / "malmo.tar.gz")
    _manifest, rows = read(written.path)
    assert "api_tokens" not in rows and "push_subscriptions" not in rows
    await db.execute(delete(User).where(User.id == admin.id))
    await db.commit()

    imported = await import_archive(db, ACTOR, CIPHER, written.path, slug="malmo-2")
    assert imported.users_made == 1
    await login(client, admin)
    with tenant_scope(imported.tenant_id):
        assert await db.scalar(select(func.count()).select_from(Person)) == 0


async def test_a_bank_account_is_encrypted_with_the_importing_instances_key(
    db: AsyncSession, tmp_path: Path
) -> None:
    tenant = await make_tenant(db, slug="umea")
    person = await make_person(db, tenant)
    with tenant_scope(tenant.id):
        person.bank_account_encrypted = CIPHER.encrypt("5000-1 234 567")
        await db.commit()
    written = await export_tenant(db, ACTOR, CIPHER, "umea", tmp_path / "umea.tar.gz")
    other = FieldCipher("another-instances-secret-key-that-is-long-enough-987")

    imported = await import_archive(db, ACTOR, other, written.path, slug="umea-2")
    with tenant_scope(imported.tenant_id):
        stored = await db.scalar(select(Person.bank_account_encrypted))
    assert stored is not None and other.decrypt(stored) == "5000-1 234 567"
    with pytest.raises(DecryptionError):
        CIPHER.decrypt(stored)

    # A value this instance cannot read is refused, not written out unreadable.
    with tenant_scope(tenant.id):
        person.bank_account_encrypted = other.encrypt("5000-1 234 567")
        await db.commit()
    with pytest.raises(ArchiveError, match="people"):
        await export_tenant(db, ACTOR, CIPHER, "umea", tmp_path / "again.tar.gz")
    assert not (tmp_path / "again.tar.gz").exists()
