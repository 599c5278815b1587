"""Every table with a tenant_id is either in the archive or left out on purpose, and
every column that would not survive the trip as it is has been decided on: a new
table, a new secret or a new id without a foreign key fails here until it is."""

from __future__ import annotations

from sqlalchemy import Integer, UniqueConstraint, inspect
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models.base import Base
from app.domain.archive.policy import (
    BLANKED,
    DROPPED_TABLES,
    ENCRYPTED,
    LOOSE_REFERENCES,
    REWRITTEN,
    archived_tables,
    import_order,
    references,
    tenant_tables,
)

#: Integer ``*_id`` columns of tenant tables that hold no id of this instance's rows.
NOT_REFERENCES: dict[tuple[str, str], str] = {
    ("person_merges", "merged_id"): (
        "the id a merged-away person had on the instance it was merged on: history, kept "
        "as written (that person's row is gone; a live person's id is looked up first)"
    ),
}
#: Text ``*_id`` columns: ids of the outside world, or named with their class.
OUTSIDE_IDS = {
    ("audit_entries", "object_id"): "remapped by its object_type (remap.Remapper)",
    ("outbox_messages", "provider_id"): "the gateway's id: blanked",
    ("incoming_sms", "provider_id"): "the gateway's id of an SMS received; unique per tenant",
    ("people", "national_id"): "a personal identity number (personal data, travels)",
    ("applications", "national_id"): "a personal identity number (personal data, travels)",
}
#: Columns unique over the whole instance (not per municipality) that travel as they are.
GLOBALLY_UNIQUE_KEPT: dict[tuple[str, str], str] = {
    ("outbox_messages", "dispatch_recipient_id"): "a loose reference: remapped",
}
SECRET_WORDS = ("hash", "token", "secret", "nonce", "password", "code")
#: Columns whose name sounds secret but whose value is not one.
NOT_SECRET = {
    ("check_ins", "payload_hash"): "a digest of a check-in's own fields, for idempotency",
    ("audit_entries", "code"): "what was done",
    ("buildings", "postal_code"): "an address",
    ("pay_export_layouts", "pay_codes"): "payroll codes",
    ("role_types", "code"): "the role's short name",
    ("districts", "code"): "the district's number",
    ("people", "postal_code"): "an address",
    ("applications", "postal_code"): "an address",
    ("material_deliveries", "code"): "rewritten (a new QR code)",
    ("outbox_messages", "idempotency_key"): "rewritten",
}


def _decided(table: str, column: str) -> bool:
    return column in BLANKED.get(table, ()) or column in REWRITTEN.get(table, ())


def test_every_tenant_table_travels_or_is_left_out_on_purpose() -> None:
    tenant = {table.name for table in tenant_tables()}
    archived = {table.name for table in archived_tables()}
    assert archived | set(DROPPED_TABLES) == tenant
    assert not archived & set(DROPPED_TABLES)
    assert set(DROPPED_TABLES) <= tenant  # a table renamed or gone is noticed
    assert {table.name for table in import_order()} == archived
    # The filter is the column, not the ORM's mixin: the outbox is not TenantScoped.
    assert "outbox_messages" in archived


async def test_the_database_has_no_tenant_table_the_metadata_lacks(db: AsyncSession) -> None:
    def tables_with_tenant_id(connection: object) -> set[str]:
        inspector = inspect(connection)
        return {
            name
            for name in inspector.get_table_names()
            if any(column["name"] == "tenant_id" for column in inspector.get_columns(name))
        }

    found = await (await db.connection()).run_sync(tables_with_tenant_id)
    assert found == {table.name for table in tenant_tables()}


def test_every_id_column_is_a_reference_or_said_not_to_be() -> None:
    undecided = []
    for table in tenant_tables():
        targets = references(table)
        for column in table.c:
            key = (table.name, column.name)
            if not column.name.endswith("_id") or column.name in ("id", "tenant_id"):
                continue
            if column.name in targets or key in NOT_REFERENCES or key in OUTSIDE_IDS:
                continue
            undecided.append(f"{key} ({'integer' if isinstance(column.type, Integer) else 'text'})")
    assert undecided == []
    for (name, column), target in LOOSE_REFERENCES.items():
        assert column in Base.metadata.tables[name].c
        assert target in Base.metadata.tables


def test_every_secret_sounding_column_is_blanked_rewritten_or_said_not_secret() -> None:
    undecided = [
        f"{table.name}.{column.name}"
        for table in archived_tables()
        for column in table.c
        if any(word in column.name for word in SECRET_WORDS)
        and not _decided(table.name, column.name)
        and (table.name, column.name) not in NOT_SECRET
    ]
    assert undecided == []
    stale = [key for key in NOT_SECRET if key[1] not in Base.metadata.tables[key[0]].c]
    assert stale == []


def test_every_column_unique_over_the_instance_is_decided() -> None:
    """A column unique over the whole instance would collide when a municipality is
    imported beside itself: it must be blanked or rewritten (or be a remapped id)."""
    undecided = []
    for table in archived_tables():
        keys = [c.columns for c in table.constraints if isinstance(c, UniqueConstraint)]
        keys += [index.columns for index in table.indexes if index.unique]
        for columns in keys:
            names = [column.name for column in columns]
            if "tenant_id" in names or any(name in references(table) for name in names):
                continue  # per municipality, or held by a row of its own (remapped)
            for name in names:
                key = (table.name, name)
                if not _decided(*key) and key not in GLOBALLY_UNIQUE_KEPT:
                    undecided.append(key)
    assert undecided == []


def test_every_encrypted_column_is_read_out_and_encrypted_again() -> None:
    encrypted = {
        (table.name, column.name)
        for table in archived_tables()
        for column in table.c
        if column.name.endswith("_encrypted")
    }
    assert encrypted == {(name, c) for name, columns in ENCRYPTED.items() for c in columns}
    for name, columns in ENCRYPTED.items():
        assert not set(columns.values()) & set(Base.metadata.tables[name].c.keys())
