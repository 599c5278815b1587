"""A person's pay statement: what they are paid for an election, line by line, as the
office sees it and as the clerk reads it in the portal (their own only). The id number
is masked here: only the payroll file carries it whole."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.documents.tables import Column, ReportTable, Value, display, write_report_pdf
from app.core.errors import NotFound
from app.core.i18n import _, named
from app.domain.elections.elections import get_election
from app.domain.models import (
    Assignment,
    CheckIn,
    District,
    Election,
    PayEntry,
    Person,
    RoleType,
)
from app.domain.pay.compute import PayLine, compute_pay
from app.domain.pay.labels import PAY_LINE_KIND
from app.domain.registers.identity import mask_national_id

ZERO = Decimal("0")


@dataclass
class Statement:
    election: Election
    person: Person
    lines: list[PayLine]
    #: Approved amount so far (corrections included).
    approved: Decimal
    roles: dict[int, str]
    districts: dict[int, District]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def estimated(self) -> bool:
        return any(line.estimate for line in self.lines)


async def person_statement(
    session: AsyncSession, election_id: int, person_id: int, now: dt.datetime | None = None
) -> Statement:
    """A person's pay in an election; 404 for someone with no place or pay in it."""
    election = await get_election(session, election_id)
    person = await session.scalar(select(Person).where(Person.id == person_id))
    if person is None:
        raise NotFound(_("Not found."))
    people = select(Person.id).where(Person.id == person.id)
    pay = await compute_pay(session, election.id, people=people, now=now)
    entries = list(
        await session.scalars(
            select(PayEntry).where(
                PayEntry.election_id == election.id, PayEntry.person_id == person.id
            )
        )
    )
    if person.id not in pay.home and not entries and not pay.lines:
        checked_in = await session.scalar(
            select(CheckIn.id)
            .where(CheckIn.election_id == election.id, CheckIn.person_id == person.id)
            .limit(1)
        )
        if checked_in is None:
            raise NotFound(_("Not found."))
    roles = {r.id: named(r) for r in await session.scalars(select(RoleType))}
    district_ids = {line.district_id for line in pay.lines if line.district_id}
    districts = {
        d.id: d
        for d in await session.scalars(select(District).where(District.id.in_(district_ids)))
    }
    approved = sum((e.amount for e in entries), ZERO)
    return Statement(election, person, pay.lines, approved, roles, districts)


def statement_table(statement: Statement) -> ReportTable:
    columns = [
        Column(_("Date"), 1.0),
        Column(_("Kind of pay"), 1.6),
        Column(_("Role"), 1.3),
        Column(_("Where"), 3.2),
        Column(_("Quantity"), 0.9, True),
        Column(_("Rate"), 1.0, True),
        Column(_("Amount"), 1.1, True),
    ]
    rows: list[list[Value]] = []
    for line in sorted(statement.lines, key=lambda line: (line.day, line.kind)):
        district = statement.districts.get(line.district_id or 0)
        where = line.text or (f"{district.code} {district.name}" if district else "")
        kind = str(PAY_LINE_KIND.get(line.kind, line.kind))
        if line.estimate:
            kind += " (" + _("estimate") + ")"
        rows.append(
            [
                line.day,
                kind,
                statement.roles.get(line.role_type_id or 0, ""),
                where,
                line.quantity,
                line.rate,
                line.amount,
            ]
        )
    totals: list[Value] = [_("Total"), "", "", "", None, None, statement.total]
    person = statement.person
    notes = [
        f"{person.full_name} · "
        + (mask_national_id(person.national_id_country, person.national_id) or "–"),
        _("Approved for payroll so far: %(amount)s", amount=display(statement.approved)),
    ]
    if statement.estimated:
        notes.append(_("Lines marked as estimates are for shifts still to be worked."))
    return ReportTable(
        "pay_statement",
        _("Pay statement"),
        columns,
        rows,
        totals if rows else None,
        notes=notes,
    )


def write_statement_pdf(municipality: str, timezone: str, statement: Statement) -> bytes:
    """The statement on A4, tagged, for reading and printing (dated in ``timezone``)."""
    return write_report_pdf(
        statement_table(statement), municipality, statement.election, timezone=timezone
    )


async def my_pay(
    session: AsyncSession, person: Person, now: dt.datetime | None = None
) -> list[Statement]:
    """A clerk's pay in each election they hold an accepted place in, newest first: for
    the portal, where a clerk sees their own only."""
    election_ids = list(
        await session.scalars(
            select(Election.id)
            .join(Assignment, Assignment.election_id == Election.id)
            .where(Assignment.person_id == person.id, Assignment.state == "accepted")
            .group_by(Election.id, Election.election_day)
            .order_by(Election.election_day.desc())
        )
    )
    return [await person_statement(session, eid, person.id, now) for eid in election_ids]
