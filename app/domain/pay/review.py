"""What the office reviews before it approves: each district's computed pay against
what was approved already, the check-in conflicts, the no-shows, and what is waiting
to be approved (the first lines, or corrections of lines approved before)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _
from app.domain.elections.elections import get_election
from app.domain.models import District, PayApproval, PayEntry, Person, Station
from app.domain.pay.compute import Conflict, ElectionPay, PayLine, compute_pay
from app.domain.pay.sources import Place, people_of_district

ZERO = Decimal("0")
#: The route's stand-in for "no district": the advance voting stations.
ADVANCE = 0

LineKey = tuple[int, int | None, str, dt.date]


def _key(person_id: int, role_type_id: int | None, kind: str, day: dt.date) -> LineKey:
    return (person_id, role_type_id, kind, day)


def pending_lines(
    computed: Iterable[PayLine], approved: Iterable[PayEntry], district_id: int | None
) -> list[PayLine]:
    """The lines an approval now would write: the difference between what is computed
    and what was approved, per person, role, kind and day. Where nothing was approved
    that is every computed line; after, only what changed, as corrections."""
    now: dict[LineKey, list[PayLine]] = {}
    for line in computed:
        now.setdefault(_key(line.person_id, line.role_type_id, line.kind, line.day), []).append(
            line
        )
    before: dict[LineKey, tuple[Decimal, Decimal, Decimal]] = {}
    for entry in approved:
        key = _key(entry.person_id, entry.role_type_id, entry.kind, entry.day)
        quantity, amount, _rate = before.get(key, (ZERO, ZERO, ZERO))
        before[key] = (quantity + entry.quantity, amount + entry.amount, entry.rate)
    pending = []
    for key in sorted(set(now) | set(before), key=lambda k: (k[0], k[3], k[2], k[1] or 0)):
        lines = now.get(key, [])
        quantity = sum((line.quantity for line in lines), ZERO)
        amount = sum((line.amount for line in lines), ZERO)
        old_quantity, old_amount, old_rate = before.get(key, (ZERO, ZERO, ZERO))
        if quantity == old_quantity and amount == old_amount:
            continue
        person_id, role_type_id, kind, day = key
        pending.append(
            PayLine(
                person_id,
                role_type_id,
                district_id,
                kind,
                day,
                quantity - old_quantity,
                lines[0].rate if lines else old_rate,
                amount - old_amount,
                "; ".join(line.text for line in lines if line.text)[:300],
                any(line.estimate for line in lines),
            )
        )
    return pending


@dataclass
class DistrictPay:
    """One district's pay (``district`` None: advance voting), for its review page."""

    election_id: int
    district: District | None
    people: dict[int, Person]
    lines: list[PayLine]
    conflicts: list[Conflict]
    no_shows: list[tuple[int, Place]]
    approved: list[PayEntry]
    approvals: list[PayApproval]
    pending: list[PayLine] = field(default_factory=list)

    @property
    def district_id(self) -> int | None:
        return self.district.id if self.district else None

    @property
    def computed_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def approved_total(self) -> Decimal:
        return sum((entry.amount for entry in self.approved), ZERO)

    @property
    def estimates(self) -> int:
        return sum(line.estimate for line in self.lines)

    def lines_by_person(self) -> list[tuple[Person, list[PayLine], Decimal]]:
        grouped: dict[int, list[PayLine]] = {}
        for line in self.lines:
            grouped.setdefault(line.person_id, []).append(line)
        rows = [
            (self.people[pid], lines, sum((line.amount for line in lines), ZERO))
            for pid, lines in grouped.items()
            if pid in self.people
        ]
        rows.sort(key=lambda row: (row[0].last_name, row[0].first_name, row[0].id))
        return rows


async def get_district(
    session: AsyncSession, election_id: int, district_key: int
) -> District | None:
    """The district of a route (``ADVANCE``: None, the advance voting stations)."""
    if district_key == ADVANCE:
        return None
    district = await session.scalar(
        select(District).where(District.id == district_key, District.election_id == election_id)
    )
    if district is None:
        raise NotFound(_("Not found."))
    return district


async def district_pay(
    session: AsyncSession, election_id: int, district_key: int, now: dt.datetime | None = None
) -> DistrictPay:
    """A district's computed pay, conflicts, no-shows, approvals and pending lines."""
    election = await get_election(session, election_id)
    district = await get_district(session, election.id, district_key)
    district_id = district.id if district else None
    pay = await compute_pay(
        session, election.id, people=people_of_district(election.id, district_id), now=now
    )
    return await _district_view(session, election.id, district, pay)


async def _district_view(
    session: AsyncSession, election_id: int, district: District | None, pay: ElectionPay
) -> DistrictPay:
    district_id = district.id if district else None
    lines = [line for line in pay.lines if line.district_id == district_id]
    where = _in_district(PayEntry.district_id, district_id)
    approved = list(
        await session.scalars(
            select(PayEntry)
            .where(PayEntry.election_id == election_id, where)
            .order_by(PayEntry.person_id, PayEntry.day, PayEntry.id)
        )
    )
    approvals = list(
        await session.scalars(
            select(PayApproval)
            .where(
                PayApproval.election_id == election_id,
                _in_district(PayApproval.district_id, district_id),
            )
            .order_by(PayApproval.id)
        )
    )
    conflicts = [c for c in pay.conflicts if c.district_id == district_id]
    no_shows = [(pid, p) for pid, p in pay.no_shows if p.district_id == district_id]
    person_ids = {line.person_id for line in lines} | {c.person_id for c in conflicts}
    person_ids |= {pid for pid, _p in no_shows} | {e.person_id for e in approved}
    people = {
        p.id: p for p in await session.scalars(select(Person).where(Person.id.in_(person_ids)))
    }
    view = DistrictPay(
        election_id, district, people, lines, conflicts, no_shows, approved, approvals
    )
    view.pending = pending_lines(lines, approved, district_id)
    return view


def _in_district(column: Any, district_id: int | None) -> ColumnElement[bool]:
    """The rows of a district, or (None) of the advance voting stations."""
    return cast(
        ColumnElement[bool], column.is_(None) if district_id is None else column == district_id
    )


@dataclass(frozen=True)
class DistrictRow:
    """One line of the election's pay overview."""

    district_key: int
    code: str
    name: str
    people: int
    computed: Decimal
    approved: Decimal
    estimates: int
    conflicts: int
    no_shows: int
    approved_at: dt.datetime | None

    @property
    def difference(self) -> Decimal:
        return self.computed - self.approved


async def overview(
    session: AsyncSession, election_id: int, now: dt.datetime | None = None
) -> list[DistrictRow]:
    """Every district's pay at a glance (advance voting last), for the pay page."""
    election = await get_election(session, election_id)
    pay = await compute_pay(session, election.id, now=now)
    districts = list(
        await session.scalars(
            select(District).where(District.election_id == election.id).order_by(District.code)
        )
    )
    approved = dict(
        (district_id, (amount, last))
        for district_id, amount, last in await session.execute(
            select(PayEntry.district_id, func.sum(PayEntry.amount), func.max(PayEntry.created_at))
            .where(PayEntry.election_id == election.id)
            .group_by(PayEntry.district_id)
        )
    )
    lines_of: dict[int | None, list[PayLine]] = {}
    for line in pay.lines:
        lines_of.setdefault(line.district_id, []).append(line)
    no_shows = Counter(p.district_id for _pid, p in pay.no_shows)
    conflicts = Counter(c.district_id for c in pay.conflicts)
    keys: list[tuple[int | None, int, str, str]] = [(d.id, d.id, d.code, d.name) for d in districts]
    keys.append((None, ADVANCE, "", ""))
    rows = []
    for district_id, key, code, name in keys:
        lines = lines_of.get(district_id, [])
        amount, last = approved.get(district_id, (ZERO, None))
        if district_id is None and not (lines or amount or no_shows[None] or conflicts[None]):
            continue
        rows.append(
            DistrictRow(
                key,
                code,
                name,
                len({line.person_id for line in lines}),
                sum((line.amount for line in lines), ZERO),
                Decimal(amount or 0),
                sum(line.estimate for line in lines),
                conflicts[district_id],
                no_shows[district_id],
                last,
            )
        )
    return rows


async def station_names(session: AsyncSession, election_id: int) -> dict[int, str]:
    rows = await session.execute(
        select(Station.id, Station.name).where(Station.election_id == election_id)
    )
    return {station_id: name for station_id, name in rows}
