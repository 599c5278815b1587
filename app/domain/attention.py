"""What needs attention now: the few figures the back office's start page shows about
the election in focus, each an aggregate query or two, so the page costs about the same
for ten stations as for six hundred.

Here are the counts; the face decides which a user sees (only what they may open) and
where each one links, so that every figure leads to the page where it is put right.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, distinct, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.models import utcnow
from app.domain.courses.qualifications import course_needs, required_courses, unmet
from app.domain.elections.elections import get_election
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    CheckIn,
    Election,
    Incident,
    RoleType,
    Shift,
    StaffingNorm,
    Station,
    StationOpening,
    StationStatus,
    counted_minimum,
)
from app.domain.ops.access import at, local_zone
from app.domain.ops.alerts import LATE_ARRIVAL
from app.domain.ops.dashboard import election_in_focus
from app.domain.recruitment.applications import count_new
from app.domain.recruitment.contact import count_unread
from app.domain.staffing.overview import held_per_place, with_norms_and_held


@dataclass(frozen=True)
class Focus:
    """The election the start page is about: today's or the next one ahead (``ahead``),
    else the latest one (past, so nothing of it needs doing)."""

    election: Election
    today: dt.date
    ahead: bool
    #: Whether any of its stations has a shift today (election day, or advance voting).
    working_today: bool


async def focus(session: AsyncSession, now: dt.datetime | None = None) -> Focus | None:
    """The election in focus, or None when the municipality has none yet."""
    now = now or utcnow()
    election_id = await election_in_focus(session, now)
    if election_id is None:
        return None
    election = await get_election(session, election_id)
    zone = await local_zone(session)
    today = now.astimezone(zone).date()
    working = await session.scalar(
        select(
            exists().where(
                Shift.day == today,
                Shift.station_id.in_(select(Station.id).where(Station.election_id == election_id)),
            )
        )
    )
    return Focus(election, today, election.election_day >= today, bool(working))


@dataclass(frozen=True)
class StaffingFigures:
    """Places against the norm, offers past their answer-by time, and stations with no
    room, for one election."""

    #: Places open up to the target, and those of them below the minimum.
    places_missing: int
    places_below_minimum: int
    #: Stations with a place open below the minimum (what the board's filter shows).
    stations_below_minimum: int
    offers_overdue: int
    stations_without_room: int


async def staffing_figures(
    session: AsyncSession, election_id: int, now: dt.datetime | None = None
) -> StaffingFigures:
    """The staffing board's totals (counted as ``staffing.overview`` counts them, so the
    figure and the board agree) summed in the database, and two counts beside them."""
    held = held_per_place(election_id)
    holding = func.coalesce(held.c.held, 0)
    minimum = counted_minimum()
    short = holding < minimum
    open_to_target = case((holding < StaffingNorm.target, StaffingNorm.target - holding), else_=0)
    places = (
        await session.execute(
            with_norms_and_held(
                select(
                    func.coalesce(func.sum(open_to_target), 0),
                    func.coalesce(func.sum(case((short, minimum - holding), else_=0)), 0),
                    func.count(distinct(case((short, Station.id)))),
                ).select_from(Station),
                held,
            ).where(Station.election_id == election_id, StaffingNorm.target > 0)
        )
    ).one()
    overdue = await session.scalar(
        select(func.count(Assignment.id)).where(
            Assignment.election_id == election_id,
            Assignment.state == "offered",
            Assignment.answer_by < (now or utcnow()),
        )
    )
    roomless = await session.scalar(
        select(func.count(Station.id)).where(
            Station.election_id == election_id, Station.room_id.is_(None)
        )
    )
    return StaffingFigures(
        places_missing=int(places[0]),
        places_below_minimum=int(places[1]),
        stations_below_minimum=int(places[2]),
        offers_overdue=overdue or 0,
        stations_without_room=roomless or 0,
    )


async def overdue_offers(
    session: AsyncSession, election_id: int, now: dt.datetime | None = None
) -> list[Assignment]:
    """The election's offers past their answer-by time, the longest overdue first, with
    their person, station, shift and role loaded."""
    return list(
        await session.scalars(
            select(Assignment)
            .where(
                Assignment.election_id == election_id,
                Assignment.state == "offered",
                Assignment.answer_by < (now or utcnow()),
            )
            .options(
                selectinload(Assignment.person),
                selectinload(Assignment.station),
                selectinload(Assignment.shift),
                selectinload(Assignment.role_type),
            )
            .order_by(Assignment.answer_by, Assignment.id)
        )
    )


async def leads_lacking_course(session: AsyncSession, election_id: int) -> int:
    """How many people hold a place leading a station (chair, vice chair) without a
    course their role requires, and no seat on one before their first day."""
    election = await get_election(session, election_id)
    required = await required_courses(session, election.id)
    leading = list(
        await session.scalars(
            select(RoleType.id).where(
                RoleType.leads_station.is_(True), RoleType.id.in_(list(required))
            )
        )
    )
    if not leading:
        return 0
    places = (
        await session.execute(
            select(Assignment.person_id, Assignment.role_type_id, func.min(Shift.day))
            .join(Shift, Shift.id == Assignment.shift_id)
            .where(
                Assignment.election_id == election.id,
                Assignment.state.in_(HOLDING_STATES),
                Assignment.role_type_id.in_(leading),
            )
            .group_by(Assignment.person_id, Assignment.role_type_id)
        )
    ).all()
    needs = await course_needs(session, election, [(row[0], row[1]) for row in places])
    return len(
        {
            person_id
            for person_id, role_id, first_day in places
            if unmet(needs[(person_id, role_id)], first_day)
        }
    )


@dataclass(frozen=True)
class DayFigures:
    """Today at the election's stations, as the live dashboard's alerts count it."""

    #: Stations past today's opening time that have not opened.
    stations_not_open: int
    #: Places on shifts running for 20 minutes or more whose holder has not checked in.
    not_arrived: int
    open_incidents: int
    high_incidents: int


async def day_figures(
    session: AsyncSession, election_id: int, now: dt.datetime | None = None
) -> DayFigures:
    """Stations not open, no-shows and open incidents now, in a few aggregate reads."""
    zone = await local_zone(session)
    now = (now or utcnow()).astimezone(dt.UTC)
    today = now.astimezone(zone).date()
    stations = select(Station.id).where(Station.election_id == election_id)
    opened = select(StationStatus.station_id).where(
        StationStatus.election_id == election_id, StationStatus.state != "not_opened"
    )
    openings = await session.scalars(
        select(StationOpening.opens_at).where(
            StationOpening.station_id.in_(stations),
            StationOpening.day == today,
            StationOpening.station_id.not_in(opened),
        )
    )
    not_open = sum(1 for opens in openings if at(today, opens, zone) <= now)
    shifts = [
        (shift_id, at(today, starts, zone), at(today, ends, zone))
        for shift_id, starts, ends in await session.execute(
            select(Shift.id, Shift.starts_at, Shift.ends_at).where(
                Shift.station_id.in_(stations), Shift.day == today
            )
        )
    ]
    late = [
        shift_id
        for shift_id, starts, ends in shifts
        if starts + LATE_ARRIVAL <= now and (ends <= starts or now < ends)
    ]
    not_arrived = 0
    if late:
        checked_in = select(CheckIn.id).where(
            CheckIn.shift_id == Assignment.shift_id, CheckIn.person_id == Assignment.person_id
        )
        not_arrived = (
            await session.scalar(
                select(func.count(Assignment.id)).where(
                    Assignment.shift_id.in_(late),
                    Assignment.state.in_(HOLDING_STATES),
                    ~checked_in.exists(),
                )
            )
            or 0
        )
    incidents = dict(
        (
            await session.execute(
                select(Incident.severity, func.count(Incident.id))
                .where(Incident.election_id == election_id, Incident.state != "resolved")
                .group_by(Incident.severity)
            )
        ).all()
    )
    return DayFigures(
        stations_not_open=not_open,
        not_arrived=not_arrived,
        open_incidents=sum(incidents.values()),
        high_incidents=incidents.get("high", 0),
    )


@dataclass(frozen=True)
class InboxFigures:
    applications_new: int
    messages_unread: int


async def inbox_figures(session: AsyncSession) -> InboxFigures:
    """Applications waiting for the office's review, and contact messages nobody read."""
    return InboxFigures(await count_new(session), await count_unread(session))
