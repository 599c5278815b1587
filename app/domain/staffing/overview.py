"""The staffing board's overview at any size: each station's places against the norm in
one aggregate query (never a board per station), the totals and district lines drawn
from it, and the counts each filter choice would give.

The board draws whole station cards only for the page of stations it shows
(``board.staffing_board`` with ``station_ids``); what is missing where, for the whole
election, comes from here, and so do the district summaries of the reports.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, Subquery, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.courses.qualifications import course_needs, required_courses, unmet
from app.domain.elections.elections import get_election
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    District,
    RoleType,
    Shift,
    StaffingNorm,
    Station,
    counted_minimum,
)
from app.domain.staffing.kept_off import fills_its_place

#: What the board's "show" filter keeps: every station, those with a place missing
#: below the minimum, or those with any open place.
SHOW_CHOICES = ("all", "below_minimum", "open")


@dataclass(frozen=True)
class OverviewFilters:
    district_id: int | None = None
    station_kind: str | None = None
    day: dt.date | None = None
    role_type_id: int | None = None
    #: A part of a station's name, case-insensitive.
    station_query: str = ""
    show: str = "all"


@dataclass
class Tally:
    """Places against the norm, and the holders by the state of their assignment."""

    places: int = 0
    filled: int = 0
    below_minimum: int = 0
    proposed: int = 0
    offered: int = 0
    accepted: int = 0

    @property
    def missing(self) -> int:
        """Places open up to the target (those below the minimum among them)."""
        return self.places - self.filled

    @property
    def status(self) -> str:
        if self.below_minimum:
            return "missing"
        return "below" if self.missing else "full"

    def add(self, other: Tally) -> None:
        self.places += other.places
        self.filled += other.filled
        self.below_minimum += other.below_minimum
        self.proposed += other.proposed
        self.offered += other.offered
        self.accepted += other.accepted


@dataclass
class StationLine:
    station_id: int
    name: str
    kind: str
    district_id: int | None
    tally: Tally = field(default_factory=Tally)


@dataclass
class DistrictLine:
    """A district's stations summed (``district`` None: the advance voting stations)."""

    district: District | None
    stations: int = 0
    stations_below_minimum: int = 0
    tally: Tally = field(default_factory=Tally)
    lacking_course: int = 0


@dataclass
class Overview:
    #: The stations the filters keep, in the board's order (advance first, by name).
    stations: list[StationLine]
    #: How many stations each ``show`` choice keeps, the other filters as chosen.
    show_counts: dict[str, int]
    #: Places missing below the target per role, the other filters as chosen (no role).
    role_missing: dict[int, int]
    roles: list[RoleType]

    @property
    def totals(self) -> Tally:
        total = Tally()
        for line in self.stations:
            total.add(line.tally)
        return total

    def districts(
        self, districts: list[District], lacking_course: dict[int | None, int]
    ) -> list[DistrictLine]:
        """The kept stations summed per district, in the districts' order, the advance
        voting stations last; only districts with a kept station."""
        lines: dict[int | None, DistrictLine] = {}
        for station in self.stations:
            line = lines.setdefault(station.district_id, DistrictLine(None))
            line.stations += 1
            line.stations_below_minimum += bool(station.tally.below_minimum)
            line.tally.add(station.tally)
        ordered = []
        for district in districts:
            if district.id in lines:
                line = lines[district.id]
                line.district = district
                line.lacking_course = lacking_course.get(district.id, 0)
                ordered.append(line)
        if None in lines:
            lines[None].lacking_course = lacking_course.get(None, 0)
            ordered.append(lines[None])
        return ordered


def _kept(line: StationLine, show: str) -> bool:
    if show == "below_minimum":
        return line.tally.below_minimum > 0
    if show == "open":
        return line.tally.missing > 0
    return True


def held_per_place(election_id: int, *more: Any) -> Subquery:
    """Per (shift, role) of the election: ``held``, the assignments that fill a place
    (``fills_its_place``: a holder kept off fills none), and the ``more`` columns."""
    return (
        select(
            Assignment.shift_id,
            Assignment.role_type_id,
            func.count(Assignment.id).label("held"),
            *more,
        )
        .where(Assignment.election_id == election_id, fills_its_place())
        .group_by(Assignment.shift_id, Assignment.role_type_id)
        .subquery()
    )


def with_norms_and_held[S: Select[*tuple[Any, ...]]](statement: S, held: Subquery) -> S:
    """``statement`` over stations, joined to each of their norms (with its role, which
    ``counted_minimum`` reads) and to what is held of it (``held_per_place``)."""
    return (
        statement.join(Shift, Shift.station_id == Station.id)
        .join(StaffingNorm, StaffingNorm.shift_id == Shift.id)
        .join(RoleType, RoleType.id == StaffingNorm.role_type_id)
        .outerjoin(
            held,
            (held.c.shift_id == StaffingNorm.shift_id)
            & (held.c.role_type_id == StaffingNorm.role_type_id),
        )
    )


async def staffing_overview(
    session: AsyncSession, election_id: int, filters: OverviewFilters
) -> Overview:
    """Every station's places, filled places and holders per state under ``filters``,
    in two aggregate queries whatever the election's size."""
    held = held_per_place(
        election_id,
        *(
            func.count(Assignment.id).filter(Assignment.state == state).label(state)
            for state in HOLDING_STATES
        ),
    )
    statement = with_norms_and_held(
        select(
            Station.id,
            Station.name,
            Station.kind,
            Station.district_id,
            StaffingNorm.role_type_id,
            counted_minimum(),
            StaffingNorm.target,
            func.coalesce(held.c.held, 0),
            *(func.coalesce(held.c[state], 0) for state in HOLDING_STATES),
        ),
        held,
    ).where(Station.election_id == election_id, StaffingNorm.target > 0)
    statement = statement.order_by(Station.kind.desc(), Station.name, Station.id)
    if filters.district_id:
        statement = statement.where(Station.district_id == filters.district_id)
    if filters.station_kind in ("polling", "advance"):
        statement = statement.where(Station.kind == filters.station_kind)
    if filters.day:
        statement = statement.where(Shift.day == filters.day)
    query = " ".join(filters.station_query.lower().split())
    if query:
        statement = statement.where(func.lower(Station.name).contains(query, autoescape=True))
    lines: dict[int, StationLine] = {}
    role_missing: dict[int, int] = {}
    for row in await session.execute(statement):
        station_id, name, kind, district_id, role_id, minimum, target, count = row[:8]
        proposed, offered, accepted = row[8:]
        role_missing[role_id] = role_missing.get(role_id, 0) + max(0, target - count)
        line = lines.setdefault(station_id, StationLine(station_id, name, kind, district_id))
        if filters.role_type_id and role_id != filters.role_type_id:
            continue
        line.tally.add(
            Tally(
                places=target,
                filled=min(count, target),
                below_minimum=max(0, minimum - count),
                proposed=proposed,
                offered=offered,
                accepted=accepted,
            )
        )
    chosen = [line for line in lines.values() if line.tally.places]
    show_counts = {show: sum(1 for line in chosen if _kept(line, show)) for show in SHOW_CHOICES}
    show = filters.show if filters.show in SHOW_CHOICES else "all"
    roles = list(
        await session.scalars(
            select(RoleType)
            .where(RoleType.id.in_(role_missing))
            .order_by(RoleType.sort_order, RoleType.id)
        )
    )
    return Overview(
        [line for line in chosen if _kept(line, show)], show_counts, role_missing, roles
    )


@dataclass(frozen=True)
class DistrictSummary:
    district_id: int | None
    code: str
    name: str
    stations: int
    places: int
    filled: int
    missing_minimum: int
    #: Holders who lack a course their role requires (met before the shift's day).
    lacking_course: int = 0

    @property
    def status(self) -> str:
        if self.missing_minimum:
            return "missing"
        return "below" if self.filled < self.places else "full"


async def district_summaries(session: AsyncSession, election_id: int) -> list[DistrictSummary]:
    """Places, filled places and places missing below the minimum, per district (advance
    voting stations together as one line), in two aggregate queries; and the holders
    lacking a required course (one batched ``course_needs`` when a course is required)."""
    held = held_per_place(election_id)
    rows = await session.execute(
        with_norms_and_held(
            select(
                Station.district_id,
                counted_minimum(),
                StaffingNorm.target,
                func.coalesce(held.c.held, 0),
            ),
            held,
        ).where(Station.election_id == election_id)
    )
    totals: dict[int | None, list[int]] = {}
    for district_id, minimum, target, count in rows:
        entry = totals.setdefault(district_id, [0, 0, 0])
        entry[0] += target
        entry[1] += min(count, target)
        entry[2] += max(0, minimum - count)
    counts = dict(
        (
            await session.execute(
                select(Station.district_id, func.count(Station.id))
                .where(Station.election_id == election_id)
                .group_by(Station.district_id)
            )
        ).all()
    )
    districts = await session.scalars(
        select(District).where(District.election_id == election_id).order_by(District.code)
    )
    lacking = await lacking_course_by_district(session, election_id)

    def summary(district_id: int | None, code: str, name: str) -> DistrictSummary:
        places, filled, missing = totals.get(district_id, [0, 0, 0])
        return DistrictSummary(
            district_id,
            code,
            name,
            counts.get(district_id, 0),
            places,
            filled,
            missing,
            lacking.get(district_id, 0),
        )

    result = [summary(d.id, d.code, d.name) for d in districts]
    if None in counts:
        result.append(summary(None, "", ""))
    return result


async def lacking_course_by_district(
    session: AsyncSession, election_id: int
) -> dict[int | None, int]:
    """{district id (None: advance voting): holders lacking a required course}."""
    if not await required_courses(session, election_id):
        return {}
    election = await get_election(session, election_id)
    rows = (
        await session.execute(
            select(Assignment.person_id, Assignment.role_type_id, Shift.day, Station.district_id)
            .join(Shift, Shift.id == Assignment.shift_id)
            .join(Station, Station.id == Assignment.station_id)
            .where(Assignment.election_id == election_id, Assignment.state.in_(HOLDING_STATES))
        )
    ).all()
    needs = await course_needs(session, election, {(row[0], row[1]) for row in rows})
    lacking: dict[int | None, int] = {}
    for person_id, role_id, day, district_id in rows:
        if unmet(needs[(person_id, role_id)], day):
            lacking[district_id] = lacking.get(district_id, 0) + 1
    return lacking
