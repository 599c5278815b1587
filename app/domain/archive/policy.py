"""What of each table travels in a municipality's archive, and how values are written.

Every table with a ``tenant_id`` column travels, but for the few in ``DROPPED_TABLES``
(secrets and short-lived keys). Of the platform's global tables only ``users`` travels:
the accounts that are members of the municipality or named by one of its rows.
Columns holding a secret, or a key only the instance that made it can honour, are
written empty (``BLANKED``); a few are made anew by the import (``REWRITTEN``).
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, LargeBinary, Numeric, Table, Time
from sqlalchemy.schema import sort_tables

import app.domain.models  # noqa: F401  (every table in the metadata)
from app.core.models.base import Base, UTCDateTime

#: The archive's own format; a reader refuses another.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TABLES_DIR = "tables"
USERS = "users"

#: Tenant tables that stay behind, and why (said in docs/tenant-archive.md too).
DROPPED_TABLES: dict[str, str] = {
    "api_tokens": "API keys are secrets; the office makes new ones on the new instance",
    "push_subscriptions": "a browser's push address and keys; phones subscribe again",
    "realtime_tickets": "one-time tickets for a live socket, valid for seconds",
    "events": "live events for this instance's open sockets to catch up by; their"
    " transaction ids and snapshots are this database's and mean nothing in another",
}

#: Columns written empty: secrets (hashes of links and tokens sent to people) and keys
#: only the instance that made them can honour. The links stop working; people are
#: sent new ones. A required one is made anew by the import (see ``REWRITTEN``).
BLANKED: dict[str, tuple[str, ...]] = {
    "people": ("calendar_token_hash", "calendar_token_nonce"),
    "applications": ("access_token_hash", "access_token_expires_at"),
    "assignments": ("offer_token_hash",),
    "message_senders": ("callback_token",),
    "outbox_messages": ("claim_token", "provider_id"),
}

#: Columns encrypted with a key derived from the instance's secret key, which the
#: other instance does not have: written in the clear under the second name (the
#: archive is as confidential as the register it holds) and encrypted again, with
#: the importing instance's key, by the import.
ENCRYPTED: dict[str, dict[str, str]] = {"people": {"bank_account_encrypted": "bank_account"}}

#: Columns the import writes anew: the gateway's callback secret (random), the
#: outbox's idempotency key (unique over the instance, and its ids are the old ones),
#: and a delivery's QR code (unique over the instance, whose other municipalities'
#: codes row-level security hides): the crates' labels are printed again.
REWRITTEN: dict[str, tuple[str, ...]] = {
    "message_senders": ("callback_token",),
    "outbox_messages": ("idempotency_key",),
    "material_deliveries": ("code",),
}

#: Outbox messages not sent when the archive was written are imported as failed with
#: this error, so that the new instance never sends them a second time.
UNSENT_STATUSES = ("pending", "sending", "uncertain")
UNSENT_ERROR = "not sent before the municipality was moved (tenant import)"

#: Columns that hold another row's id without a foreign key: (table, column) -> table.
#: An id not in the archive (the row was deleted) is imported as empty.
LOOSE_REFERENCES: dict[tuple[str, str], str] = {
    ("outbox_messages", "dispatch_recipient_id"): "dispatch_recipients",
    ("dispatch_recipients", "station_id"): "stations",
    ("dispatch_recipients", "shift_id"): "shifts",
    ("dispatch_recipients", "role_type_id"): "role_types",
}

#: The columns of ``users`` that travel (no sign-in sessions, second factors,
#: recovery codes or remembered devices: those stay, and users enrol again).
USER_COLUMNS = (
    "id",
    "email",
    "name",
    "password_hash",
    "locale",
    "is_active",
    "created_at",
    "last_login_at",
)


def tenant_tables() -> list[Table]:
    """Every table with a ``tenant_id``, parents before children."""
    return [table for table in Base.metadata.sorted_tables if "tenant_id" in table.c]


def archived_tables() -> list[Table]:
    """The tenant tables that travel, parents before children."""
    return [table for table in tenant_tables() if table.name not in DROPPED_TABLES]


def import_order() -> list[Table]:
    """The archived tables in the order the import writes them: every table after the
    tables it refers to, by foreign key or loosely, and the audit log last (it names
    rows of every table)."""
    tables = archived_tables()
    by_name = {table.name: table for table in tables}
    audit = by_name["audit_entries"]
    extra = [(by_name[target], by_name[name]) for (name, _), target in LOOSE_REFERENCES.items()]
    extra += [(table, audit) for table in tables if table is not audit]
    return sort_tables(tables, extra_dependencies=extra)


def references(table: Table) -> dict[str, str]:
    """The columns of ``table`` that hold another row's id: column -> referred table
    (``tenant_id`` left out: the import sets it)."""
    found = {
        fk.parent.name: fk.column.table.name
        for fk in table.foreign_keys
        if fk.parent.name != "tenant_id"
    }
    for (name, column), target in LOOSE_REFERENCES.items():
        if name == table.name:
            found[column] = target
    return found


def encode(value: Any) -> Any:
    """A column's value as JSON: times in ISO 8601 (UTC with its offset), decimals as
    strings, bytes in base64; JSON documents as they are."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def decode(table: Table, column: str, value: Any) -> Any:
    """The Python value of ``value`` (as ``encode`` wrote it) for ``table.column``."""
    if value is None:
        return None
    kind = table.c[column].type
    if isinstance(kind, UTCDateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return dt.date.fromisoformat(value)
    if isinstance(kind, Time):
        return dt.time.fromisoformat(value)
    if isinstance(kind, Numeric) and kind.asdecimal:
        return Decimal(value)
    if isinstance(kind, LargeBinary):
        return base64.b64decode(value)
    return value
