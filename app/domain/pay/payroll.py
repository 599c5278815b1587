"""The payroll file: each municipality's layout (format, columns in order, pay codes)
and the export of approved pay in it.

This file is the one place a full personal identity number and a bank account leave
Stemma; every export is audited with who and when (never with the numbers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.crypto import DecryptionError, FieldCipher
from app.core.documents.spreadsheets import write_csv, write_xlsx
from app.core.i18n import _, lazy_gettext, named
from app.core.validation import Cleaner
from app.domain.elections.elections import get_election
from app.domain.models import (
    PAY_EXPORT_FORMATS,
    PAY_LINE_KINDS,
    District,
    Election,
    PayEntry,
    PayExportLayout,
    Person,
    RoleType,
)
from app.domain.pay import PayError
from app.domain.pay.labels import PAY_LINE_KIND
from app.domain.pay.review import ADVANCE, get_district

#: What a payroll column may hold.
PAYROLL_FIELDS = {
    "national_id": lazy_gettext("Personal identity number"),
    "person_id": lazy_gettext("Person number in Stemma"),
    "last_name": lazy_gettext("Last name"),
    "first_name": lazy_gettext("First name"),
    "name": lazy_gettext("Name"),
    "pay_code": lazy_gettext("Pay code"),
    "kind": lazy_gettext("Kind of pay"),
    "quantity": lazy_gettext("Quantity"),
    "rate": lazy_gettext("Rate"),
    "amount": lazy_gettext("Amount"),
    "date": lazy_gettext("Date"),
    "district_code": lazy_gettext("District code"),
    "district": lazy_gettext("District"),
    "role": lazy_gettext("Role"),
    "text": lazy_gettext("Text"),
    "correction": lazy_gettext("Correction"),
    "bank_account": lazy_gettext("Bank account"),
    "election": lazy_gettext("Election"),
}
DEFAULT_COLUMNS = (
    "national_id",
    "name",
    "pay_code",
    "quantity",
    "rate",
    "amount",
    "date",
    "district_code",
    "text",
)
DEFAULT_PAY_CODES = {
    "fee": "ARV",
    "hours_weekday": "TIM",
    "hours_evening": "TIMK",
    "hours_weekend": "TIMH",
    "supplement": "TILL",
    "counting": "RAKN",
    "training": "UTB",
    "travel": "RESA",
    "adjustment": "JUST",
}
#: Rows of the layout form: the most columns a file may have.
MAX_COLUMNS = 18


def default_layout() -> PayExportLayout:
    return PayExportLayout(
        file_format="csv",
        columns=[{"field": f, "header": str(PAYROLL_FIELDS[f])} for f in DEFAULT_COLUMNS],
        pay_codes=dict(DEFAULT_PAY_CODES),
    )


async def get_layout(session: AsyncSession) -> PayExportLayout:
    """The municipality's payroll layout, or the default one until it sets its own."""
    layout = await session.scalar(select(PayExportLayout))
    return layout or default_layout()


def clean_layout(data: Mapping[str, Any]) -> dict[str, Any]:
    """The layout from its form: ``field_N`` and ``header_N`` for the columns in order
    (an empty field leaves the row out), ``code_<kind>`` for the pay codes."""
    cleaner = Cleaner(data)
    file_format = cleaner.choice("file_format", PAY_EXPORT_FORMATS, "csv")
    columns: list[dict[str, str]] = []
    fields_seen: set[str] = set()
    headers_seen: set[str] = set()
    for number in range(1, MAX_COLUMNS + 1):
        chosen = cleaner.raw(f"field_{number}")
        if not chosen:
            continue
        field = cleaner.choice(f"field_{number}", tuple(PAYROLL_FIELDS))
        header = cleaner.text(f"header_{number}", 60) or str(PAYROLL_FIELDS.get(field, ""))
        if field in fields_seen:
            cleaner.fail(f"field_{number}", _("This column is in the file already."))
        if header.casefold() in headers_seen:
            cleaner.fail(f"header_{number}", _("Another column has this heading already."))
        fields_seen.add(field)
        headers_seen.add(header.casefold())
        columns.append({"field": field, "header": header})
    if not columns:
        cleaner.fail("field_1", _("Choose at least one column."))
    codes = {kind: cleaner.text(f"code_{kind}", 20) for kind in PAY_LINE_KINDS}
    cleaner.done()
    return {"file_format": file_format, "columns": columns, "pay_codes": codes}


async def save_layout(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any]
) -> PayExportLayout:
    """Set the municipality's payroll layout; a duplicate column or heading is refused
    at its row and nothing is written."""
    values = clean_layout(data)
    layout = await session.scalar(select(PayExportLayout))
    if layout is None:
        layout = PayExportLayout()
        session.add(layout)
    layout.file_format = values["file_format"]
    layout.columns = values["columns"]
    layout.pay_codes = values["pay_codes"]
    await session.flush()
    await record(session, actor, "pay.layout.saved", layout, data=values)
    await session.commit()
    return layout


@dataclass(frozen=True)
class PayrollFile:
    body: bytes
    file_format: str
    lines: int
    amount: Decimal


def _row(
    layout: PayExportLayout,
    entry: PayEntry,
    person: Person,
    district: District | None,
    role: RoleType | None,
    election: Election,
    bank_account: str,
) -> list[Any]:
    values: dict[str, Any] = {
        "national_id": person.national_id or "",
        "person_id": person.id,
        "last_name": person.last_name,
        "first_name": person.first_name,
        "name": person.full_name,
        "pay_code": str(layout.pay_codes.get(entry.kind, "")),
        "kind": str(PAY_LINE_KIND.get(entry.kind, entry.kind)),
        "quantity": entry.quantity,
        "rate": entry.rate,
        "amount": entry.amount,
        "date": entry.day,
        "district_code": district.code if district else "",
        "district": district.name if district else _("Advance voting"),
        "role": named(role) if role else "",
        "text": entry.text,
        "correction": _("yes") if entry.correction else "",
        "bank_account": bank_account,
        "election": election.name,
    }
    return [values[column["field"]] for column in layout.columns]


def _bank_account(cipher: FieldCipher, person: Person) -> str:
    if not person.bank_account_encrypted:
        return ""
    try:
        return cipher.decrypt(person.bank_account_encrypted)
    except DecryptionError:
        return ""


async def export_payroll(
    session: AsyncSession,
    actor: Actor,
    cipher: FieldCipher,
    election_id: int,
    district_key: int | None = None,
) -> PayrollFile:
    """The approved pay of an election (or of one district; ``ADVANCE`` for advance
    voting) in the municipality's layout. Only approved lines are exported; refuses
    when there are none. The export is audited."""
    election = await get_election(session, election_id)
    layout = await get_layout(session)
    statement = (
        select(PayEntry, Person, District, RoleType)
        .join(Person, Person.id == PayEntry.person_id)
        .outerjoin(District, District.id == PayEntry.district_id)
        .outerjoin(RoleType, RoleType.id == PayEntry.role_type_id)
        .where(PayEntry.election_id == election.id)
        .order_by(Person.last_name, Person.first_name, Person.id, PayEntry.day, PayEntry.id)
    )
    district_id: int | None = None
    if district_key is not None:
        district = await get_district(session, election.id, district_key)
        district_id = district.id if district else None
        statement = statement.where(
            PayEntry.district_id.is_(None)
            if district_key == ADVANCE
            else PayEntry.district_id == district_id
        )
    found = (await session.execute(statement)).tuples().all()
    if not found:
        raise PayError(_("No approved pay to export yet: approve a district first."), "form")
    wants_bank = any(column["field"] == "bank_account" for column in layout.columns)
    rows = [
        _row(
            layout,
            entry,
            person,
            district,
            role,
            election,
            _bank_account(cipher, person) if wants_bank else "",
        )
        for entry, person, district, role in found
    ]
    header = [column["header"] for column in layout.columns]
    if layout.file_format == "xlsx":
        body = write_xlsx(str(_("Payroll")), header, rows)
    else:
        body = write_csv(header, rows)
    amount = sum((entry.amount for entry, *_rest in found), Decimal("0"))
    await record(
        session,
        actor,
        "pay.payroll.exported",
        election,
        data={
            "district": district_id if district_key not in (None, ADVANCE) else district_key,
            "lines": len(rows),
            "amount": str(amount),
            "format": layout.file_format,
            "columns": [column["field"] for column in layout.columns],
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    )
    await session.commit()
    return PayrollFile(body, layout.file_format, len(rows), amount)
