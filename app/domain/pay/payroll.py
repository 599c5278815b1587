"""The payroll file: each municipality's layout (format, columns in order, pay codes)
and the export of approved pay in it.

This file is the one place a full personal identity number and a bank account leave
Stemma; every export is audited with who and when (never with the numbers).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.crypto import DecryptionError, FieldCipher
from app.core.documents.spreadsheets import write_csv, write_xlsx
from app.core.i18n import _, lazy_gettext, named
from app.core.models import AuditEntry
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


@dataclass(frozen=True)
class _Payee:
    national_id: str
    first_name: str
    last_name: str
    bank_account: str


class _Rows:
    """The file's rows, from plain columns: the export reads thousands of lines, and whole
    ORM objects (a person's every field) would cost seconds."""

    def __init__(
        self,
        layout: PayExportLayout,
        election: Election,
        payees: dict[int, _Payee],
        districts: dict[int, District],
        roles: dict[int, str],
    ) -> None:
        self.columns = [column["field"] for column in layout.columns]
        self.codes = layout.pay_codes
        self.election, self.payees, self.districts, self.roles = election, payees, districts, roles
        self.kinds = {kind: str(label) for kind, label in PAY_LINE_KIND.items()}
        self.advance, self.yes = _("Advance voting"), _("yes")

        # One reader per column, chosen once: only the file's columns are made per row.
        self.readers = [self._reader(field) for field in self.columns]

    def _reader(self, field: str) -> Callable[[Any, _Payee, District | None], Any]:
        codes, kinds, roles = self.codes, self.kinds, self.roles
        readers: dict[str, Callable[[Any, _Payee, District | None], Any]] = {
            "national_id": lambda e, p, d: p.national_id,
            "person_id": lambda e, p, d: e.person_id,
            "last_name": lambda e, p, d: p.last_name,
            "first_name": lambda e, p, d: p.first_name,
            "name": lambda e, p, d: f"{p.first_name} {p.last_name}",
            "pay_code": lambda e, p, d: str(codes.get(e.kind, "")),
            "kind": lambda e, p, d: kinds.get(e.kind, e.kind),
            "quantity": lambda e, p, d: e.quantity,
            "rate": lambda e, p, d: e.rate,
            "amount": lambda e, p, d: e.amount,
            "date": lambda e, p, d: e.day,
            "district_code": lambda e, p, d: d.code if d else "",
            "district": lambda e, p, d: d.name if d else self.advance,
            "role": lambda e, p, d: roles.get(e.role_type_id or 0, ""),
            "text": lambda e, p, d: e.text,
            "correction": lambda e, p, d: self.yes if e.correction else "",
            "bank_account": lambda e, p, d: p.bank_account,
            "election": lambda e, p, d: self.election.name,
        }
        return readers[field]

    def row(self, entry: Any) -> list[Any]:
        person = self.payees[entry.person_id]
        district = self.districts.get(entry.district_id or 0)
        return [read(entry, person, district) for read in self.readers]


def _bank_account(cipher: FieldCipher, stored: str | None) -> str:
    if not stored:
        return ""
    try:
        return cipher.decrypt(stored)
    except DecryptionError:
        return ""


async def _payees(
    session: AsyncSession, person_ids: set[int], cipher: FieldCipher | None
) -> dict[int, _Payee]:
    """The people of the file: their names, full id numbers and (when the file has the
    column) bank accounts."""
    rows = await session.execute(
        select(
            Person.id,
            Person.national_id,
            Person.first_name,
            Person.last_name,
            Person.bank_account_encrypted,
        ).where(Person.id.in_(person_ids))
    )
    return {
        pid: _Payee(
            national_id or "",
            first,
            last,
            _bank_account(cipher, account) if cipher is not None else "",
        )
        for pid, national_id, first, last, account in rows
    }


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
    statement = select(
        PayEntry.person_id,
        PayEntry.district_id,
        PayEntry.role_type_id,
        PayEntry.kind,
        PayEntry.day,
        PayEntry.quantity,
        PayEntry.rate,
        PayEntry.amount,
        PayEntry.text,
        PayEntry.correction,
    ).where(PayEntry.election_id == election.id)
    district_id: int | None = None
    if district_key is not None:
        district = await get_district(session, election.id, district_key)
        district_id = district.id if district else None
        statement = statement.where(
            PayEntry.district_id.is_(None)
            if district_key == ADVANCE
            else PayEntry.district_id == district_id
        )
    entries = list((await session.execute(statement.order_by(PayEntry.id))).all())
    if not entries:
        raise PayError(_("No approved pay to export yet: approve a district first."), "form")
    wants_bank = any(column["field"] == "bank_account" for column in layout.columns)
    payees = await _payees(session, {e.person_id for e in entries}, cipher if wants_bank else None)
    rows_of = _Rows(
        layout,
        election,
        payees,
        {
            d.id: d
            for d in await session.scalars(
                select(District).where(District.election_id == election.id)
            )
        },
        {r.id: named(r) for r in await session.scalars(select(RoleType))},
    )
    entries.sort(
        key=lambda e: (
            payees[e.person_id].last_name,
            payees[e.person_id].first_name,
            e.person_id,
            e.day,
        )
    )
    rows = [rows_of.row(entry) for entry in entries]
    header = [column["header"] for column in layout.columns]
    # Written in a worker thread: a city's file is thousands of lines, and XlsxWriter (pure
    # Python) would hold the event loop, and every other request, for as long.
    if layout.file_format == "xlsx":
        body = await asyncio.to_thread(write_xlsx, str(_("Payroll")), header, rows)
    else:
        body = await asyncio.to_thread(write_csv, header, rows)
    amount = sum((entry.amount for entry in entries), Decimal("0"))
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
            "columns": rows_of.columns,
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        },
    )
    await session.commit()
    return PayrollFile(body, layout.file_format, len(rows), amount)


async def recent_exports(
    session: AsyncSession, election_id: int, limit: int = 5
) -> list[AuditEntry]:
    """The latest payroll files taken of an election: who and when, from the audit log."""
    return list(
        await session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.code == "pay.payroll.exported",
                AuditEntry.object_type == "Election",
                AuditEntry.object_id == str(election_id),
            )
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )
