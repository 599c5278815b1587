"""A municipality leaves and comes back: the demo, exported, imported under a new slug
on the same instance (as the app's role, under row-level security on PostgreSQL),
exported again, reads the same but for its ids and what the import makes anew."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.audit import Actor
from app.core.crypto import FieldCipher
from app.core.models import AuditEntry
from app.core.tenancy import tenant_scope
from app.demo import DEMO_SLUG
from app.domain.archive.export import export_tenant
from app.domain.archive.policy import BLANKED, DROPPED_TABLES, archived_tables
from app.domain.archive.restore import import_archive
from app.domain.models import Person
from tests.domain.archive.archives import as_imported, fill_empty_tables, modulo_ids, read
from tests.factories import make_person

ACTOR = Actor.system("test")
#: The tests' secret key (conftest's settings).
CIPHER = FieldCipher("test-secret-key-that-is-long-enough-0123456789")


async def test_the_demo_comes_back_the_same_but_for_its_ids(
    demo_made: None, db: AsyncSession, tmp_path: Path
) -> None:
    demo = await get_tenant_by_slug(db, DEMO_SLUG)
    assert demo is not None
    filled = await fill_empty_tables(db, demo.id)
    with tenant_scope(demo.id):
        banked = await db.scalar(select(Person).order_by(Person.id.desc()).limit(1))
        assert banked is not None
        banked.bank_account_encrypted = CIPHER.encrypt("8327-9 123 456 789-0")
        await db.commit()
    assert "dispatch_recipients" in filled  # the demo sends nothing: the filler did

    first = await export_tenant(db, ACTOR, CIPHER, DEMO_SLUG, tmp_path / "first.tar.gz")
    imported = await import_archive(db, ACTOR, CIPHER, first.path, slug="kopia")
    second = await export_tenant(db, ACTOR, CIPHER, "kopia", tmp_path / "second.tar.gz")

    manifest, before = read(first.path)
    manifest_after, after = read(second.path)
    # Every table travelled, with rows in each.
    assert set(before) == {t.name for t in archived_tables()} | {"users"}
    assert [name for name, rows in before.items() if not rows] == []
    assert not set(before) & set(DROPPED_TABLES)
    # Accounts matched by email on the same instance: none made.
    assert imported.users_made == 0
    assert manifest["schema_version"] == manifest_after["schema_version"]
    assert manifest_after["tenant"]["slug"] == "kopia"
    for key in ("name", "locale", "timezone", "second_factor_policy", "created_at"):
        assert manifest_after["tenant"][key] == manifest["tenant"][key]

    # The import's own audit entry is the one row more.
    [entry] = [e for e in after["audit_entries"] if e["code"] == "tenancy.tenant.imported"]
    after["audit_entries"].remove(entry)
    assert entry["data"]["from_slug"] == DEMO_SLUG

    # What the import makes anew differs, as designed: the QR codes (taken here).
    old_codes = {row["code"] for row in before["material_deliveries"]}
    assert not old_codes & {row["code"] for row in after["material_deliveries"]}
    assert all(r["idempotency_key"].startswith("imported:") for r in after["outbox_messages"])
    # A bank account travels in the clear (the key stays) and is encrypted again here.
    assert "bank_account_encrypted" not in before["people"][0]
    assert [r["bank_account"] for r in before["people"] if r["bank_account"]] == [
        "8327-9 123 456 789-0"
    ]
    # Secrets stayed behind.
    for name, columns in BLANKED.items():
        assert all(row[c] is None for row in before[name] for c in columns), name

    [banked_copy] = [r["id"] for r in after["people"] if r["bank_account"]]
    # New ids, and the same rows with the same references.
    assert {r["id"] for r in before["people"]}.isdisjoint({r["id"] for r in after["people"]})
    normal_before = modulo_ids(as_imported(before), manifest["tenant"]["id"])
    normal_after = modulo_ids(as_imported(after), manifest_after["tenant"]["id"])
    for name in normal_before:
        assert len(normal_after[name]) == len(normal_before[name]), name
        for old, new in zip(normal_before[name], normal_after[name], strict=True):
            differing = {key: (old[key], new[key]) for key in old if old[key] != new[key]}
            assert differing == {}, name

    # The sequences moved past the ids taken: both municipalities take new rows.
    copy = await get_tenant_by_slug(db, "kopia")
    assert copy is not None and copy.id == imported.tenant_id
    for tenant in (demo, copy):
        with tenant_scope(tenant.id):
            await make_person(db, tenant)
    with tenant_scope(imported.tenant_id):
        stored = await db.scalar(
            select(Person.bank_account_encrypted).where(Person.id == banked_copy)
        )
        assert stored is not None and CIPHER.decrypt(stored) == "8327-9 123 456 789-0"
        codes = await db.scalars(select(AuditEntry.code).order_by(AuditEntry.id.desc()).limit(3))
        # Audited: the import, the second export, the new person.
        assert list(codes) == [
            "people.person.created",
            "tenancy.tenant.exported",
            "tenancy.tenant.imported",
        ]
