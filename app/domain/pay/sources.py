"""What pay is computed from, read in a few set-wise queries: accepted places, check-ins,
the office's settled hours, course attendance and manual adjustments.

Each reader takes an optional ``people`` selection (a SELECT of person ids) so one
district's page reads only its people, while the payroll export reads them all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CompoundSelect, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import (
    Assignment,
    CheckIn,
    Course,
    CourseBooking,
    CourseSession,
    Election,
    PayAdjustment,
    PaySettlement,
    Shift,
    Station,
)

#: A course without an election counts for the election it was attended before, when
#: attended within this long before the election day.
TRAINING_REACH = dt.timedelta(days=365)


@dataclass(frozen=True)
class Place:
    """An accepted place: a person in a role on a shift of a station."""

    assignment_id: int
    person_id: int
    role_type_id: int
    shift_id: int
    station_id: int
    station: str
    district_id: int | None
    day: dt.date
    shift: str
    starts_at: dt.time
    ends_at: dt.time


@dataclass(frozen=True)
class Stamp:
    """One check-in of a person on a shift."""

    kind: str
    at: dt.datetime
    station_id: int
    district_id: int | None
    day: dt.date


#: A selection of person ids to read pay for (None: everyone).
People = Select[int] | CompoundSelect[int] | None


def _narrow[S](statement: S, column: Any, people: People) -> S:
    if people is None:
        return statement
    return cast(S, cast(Any, statement).where(column.in_(people)))


async def accepted_places(
    session: AsyncSession, election_id: int, people: People = None
) -> list[Place]:
    statement = (
        select(
            Assignment.id,
            Assignment.person_id,
            Assignment.role_type_id,
            Assignment.shift_id,
            Assignment.station_id,
            Station.name,
            Station.district_id,
            Shift.day,
            Shift.name,
            Shift.starts_at,
            Shift.ends_at,
        )
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Station, Station.id == Assignment.station_id)
        .where(Assignment.election_id == election_id, Assignment.state == "accepted")
        .order_by(Assignment.person_id, Shift.day, Shift.starts_at, Assignment.id)
    )
    rows = await session.execute(_narrow(statement, Assignment.person_id, people))
    return [Place(*row) for row in rows]


async def stamps(
    session: AsyncSession, election_id: int, people: People = None
) -> dict[tuple[int, int], list[Stamp]]:
    """Check-ins by (shift id, person id), in the order they were made."""
    statement = (
        select(
            CheckIn.shift_id,
            CheckIn.person_id,
            CheckIn.kind,
            CheckIn.checked_at,
            CheckIn.station_id,
            Station.district_id,
            Shift.day,
        )
        .join(Station, Station.id == CheckIn.station_id)
        .join(Shift, Shift.id == CheckIn.shift_id)
        .where(CheckIn.election_id == election_id)
        .order_by(CheckIn.checked_at, CheckIn.id)
    )
    found: dict[tuple[int, int], list[Stamp]] = {}
    for shift_id, person_id, kind, at, station_id, district_id, day in await session.execute(
        _narrow(statement, CheckIn.person_id, people)
    ):
        found.setdefault((shift_id, person_id), []).append(
            Stamp(kind, at, station_id, district_id, day)
        )
    return found


async def settlements(
    session: AsyncSession, election_id: int, people: People = None
) -> dict[tuple[int, int], PaySettlement]:
    statement = select(PaySettlement).where(PaySettlement.election_id == election_id)
    rows = await session.scalars(_narrow(statement, PaySettlement.person_id, people))
    return {(s.shift_id, s.person_id): s for s in rows}


async def training_days(
    session: AsyncSession, election: Election, people: People = None
) -> dict[int, dt.date]:
    """The day each person attended training for this election (the first, if several):
    a course of this election, or one of no election attended in the year before."""
    statement = (
        select(CourseBooking.person_id, CourseSession.day)
        .join(CourseSession, CourseSession.id == CourseBooking.session_id)
        .join(Course, Course.id == CourseBooking.course_id)
        .where(
            CourseBooking.state == "attended",
            or_(
                Course.election_id == election.id,
                and_(
                    Course.election_id.is_(None),
                    CourseSession.day <= election.election_day,
                    CourseSession.day >= election.election_day - TRAINING_REACH,
                ),
            ),
        )
        .order_by(CourseSession.day)
    )
    days: dict[int, dt.date] = {}
    for person_id, day in await session.execute(
        _narrow(statement, CourseBooking.person_id, people)
    ):
        days.setdefault(person_id, day)
    return days


async def adjustments(
    session: AsyncSession, election_id: int, people: People = None
) -> list[PayAdjustment]:
    statement = (
        select(PayAdjustment)
        .where(PayAdjustment.election_id == election_id)
        .order_by(PayAdjustment.id)
    )
    return list(await session.scalars(_narrow(statement, PayAdjustment.person_id, people)))


def people_of_district(election_id: int, district_id: int | None) -> CompoundSelect[int]:
    """The people with an accepted place or a check-in at a district's stations (None:
    the advance voting stations), as a selection of person ids."""
    where_district = (
        Station.district_id.is_(None) if district_id is None else Station.district_id == district_id
    )
    placed = (
        select(Assignment.person_id)
        .join(Station, Station.id == Assignment.station_id)
        .where(
            Assignment.election_id == election_id, Assignment.state == "accepted", where_district
        )
    )
    checked = (
        select(CheckIn.person_id)
        .join(Station, Station.id == CheckIn.station_id)
        .where(CheckIn.election_id == election_id, where_district)
    )
    return placed.union(checked)
