"""Demo data for election day: reserves a coordinator can send where someone is missing,
and moving the demo's coming election to a chosen day (today, to try election day live).

``stemma demo --election-day today`` moves the coming election (its day, its advance
voting, its stations' shifts and opening hours, the availability and applications for
it and its courses' sessions) by the same number of days, so that everything keeps its
place relative to election day. It can be run again on another day: it moves by the
difference, and clears what an earlier try of election day left (check-ins, station
states and their history, incidents with their notes, turnout counts): those happened
on a day that is no longer the election day, and would show on the new one as if they
had happened there. On today, the turnout of the reporting times already past is
filled in, as chairs would have sent it.

"Today" works at any hour: check-in must be open the moment the command has run (see
``demo_day_clock``). From 05:30 to 22:00 the day keeps its real timetable (first shifts
at 07:30, check-in from two hours before a shift until the end of the day). Earlier,
the election day's timetable (its shifts and opening hours) is moved earlier so that the
first shifts start at the next half hour; from 22:00 on, election day is tomorrow and
its first shifts start at midnight, so check-in opens at once and stays open all of
tomorrow. A given date keeps the real timetable.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, utcnow
from app.core.tenancy import tenant_scope
from app.demo.reminders import reminders_due_now
from app.demo.rows import update_in_batches
from app.demo.turnout import fill_todays_turnout
from app.domain.elections.norm_templates import standard_templates
from app.domain.models import (
    HOLDING_STATES,
    ApplicationDay,
    Assignment,
    Availability,
    CheckIn,
    Course,
    CourseBooking,
    CourseSession,
    Election,
    Incident,
    IncidentNote,
    Person,
    Shift,
    Station,
    StationOpening,
    StationStatus,
    StationStatusChange,
    TurnoutReport,
)
from app.domain.ops.checkins import EARLY
from app.domain.staffing.assignments import StaffingError, add_reserve

#: How many reserves the demo's coming election keeps ready.
RESERVES = 3
#: Dates are moved in two steps, first this far away, so that no row ever takes a day
#: another row of the same station or person still has (unique per day on PostgreSQL).
_PARKING = dt.timedelta(days=36525)


async def fill_reserves(session: AsyncSession, tenant_id: int, election_id: int) -> None:
    """A few reserves for election ``election_id``: people free on election day who
    could work it and are booked on a basic course before it, so that a coordinator
    can send one to a station on the day."""
    actor = Actor.system("demo")
    with tenant_scope(tenant_id):
        election = await session.scalar(select(Election).where(Election.id == election_id))
        assert election is not None
        placed = select(Assignment.person_id).where(
            Assignment.election_id == election_id, Assignment.state.in_(HOLDING_STATES)
        )
        booked = (
            select(CourseBooking.person_id)
            .join(Course, Course.id == CourseBooking.course_id)
            .where(Course.election_id == election_id, CourseBooking.state == "booked")
        )
        candidates = await session.scalars(
            select(Person.id)
            .join(Availability, Availability.person_id == Person.id)
            .where(
                Availability.election_id == election_id,
                Availability.day == election.election_day,
                Availability.work_kind == "election_day",
                Person.status == "active",
                Person.user_id.is_(None),
                Person.id.not_in(placed),
                Person.id.in_(booked),
            )
            .order_by(Person.id)
            .limit(RESERVES * 4)
        )
        added = 0
        for person_id in list(candidates):
            if added >= RESERVES:
                break
            try:
                await add_reserve(
                    session, actor, election_id, person_id, note="Demo: kan skickas på valdagen"
                )
            except StaffingError:
                continue  # too young on the day, say: the next one
            added += 1


@dataclass(frozen=True)
class MovedElection:
    name: str
    old_day: dt.date
    new_day: dt.date
    #: Rows of an earlier try of election day that were cleared.
    cleared: int = 0
    #: When the election day's first shifts start, and check-in for them opens (local).
    first_shifts: dt.time | None = None
    check_in_opens: dt.datetime | None = None
    #: The reporting times whose turnout the demo filled in (those already past today).
    turnout_slots: tuple[str, ...] = ()


def first_shift_start() -> dt.time:
    """When a polling station's first shift starts in the standard templates (07:30)."""
    return min(
        dt.time.fromisoformat(item["starts_at"])
        for _name, kind, shifts in standard_templates("sv")
        if kind == "polling"
        for item in shifts
    )


def demo_day_clock(now: dt.datetime) -> tuple[dt.date, dt.time]:
    """The election day, and when its first shifts start, for a demo of election day
    made at ``now`` (local time): check-in (from ``EARLY`` before a shift starts until
    the end of its day) is open at ``now`` and for at least two hours after it.

    From when check-in for the real first shifts opens (05:30) until ``EARLY`` before
    midnight (22:00): today, with the real timetable. Before that, today with the first
    shifts at the next half hour (a real morning moved earlier: there is time to check
    in before the polls open). From 22:00: tomorrow, with the first shifts at midnight.
    """
    today, clock = now.date(), now.time().replace(tzinfo=None)
    first = first_shift_start()
    midnight = dt.datetime.combine(today, dt.time.min)
    if clock >= (midnight + dt.timedelta(days=1) - EARLY).time():
        return today + dt.timedelta(days=1), dt.time.min
    if clock >= (dt.datetime.combine(today, first) - EARLY).time():
        return today, first
    minutes = clock.hour * 60 + clock.minute + (1 if clock.second or clock.microsecond else 0)
    start = -(-minutes // 30) * 30
    return today, dt.time(start // 60, start % 60)


def _coming_election(elections: list[Election]) -> Election:
    """The demo's coming election: the one rolled over from the demo's first election."""
    first = min(elections, key=lambda election: election.id)
    rolled = [election for election in elections if election.rolled_over_from_id == first.id]
    return min(rolled, key=lambda election: election.id) if rolled else first


def election_to_move(
    elections: list[Election], held: dict[int, int], staffed: bool = False
) -> Election:
    """Which election the demo's election day is about.

    The small demo's: its coming election, where the demo clerk is a chair with a team
    (a handful of places: the rest is the optimiser's to fill). The Stockholm-scale
    demo's (``staffed``): the election the most places are held in (``held``: places
    per election id), its last election with teams at its 660 stations, so that its
    live dashboard has people to check in; the coming one on a tie."""
    coming = _coming_election(elections)
    if not staffed:
        return coming
    return max(elections, key=lambda e: (held.get(e.id, 0), e.id == coming.id))


async def _move_rows(
    session: AsyncSession, model: Any, rows: list[Any], days: dt.timedelta, *columns: str
) -> None:
    """Move the date ``columns`` of ``rows`` (id first, then the columns) by ``days``."""
    for step in (days + _PARKING, -_PARKING):
        rows = [
            (row[0], *(value + step if value is not None else None for value in row[1:]))
            for row in rows
        ]
        changes = [{"id": row[0], **dict(zip(columns, row[1:], strict=True))} for row in rows]
        await update_in_batches(session, model, changes)


async def move_election_day(
    session: AsyncSession,
    tenant_slug: str,
    day: dt.date | None = None,
    now: dt.datetime | None = None,
    staffed: bool = False,
) -> MovedElection | None:
    """Move the demo's election (``election_to_move``) so that its election day is
    ``day``, with the real timetable; without a day, to the day (and the timetable)
    ``demo_day_clock`` gives for ``now`` (default: the clock) in the municipality's time
    zone, so that check-in is open at once, and the election's reminders then set so
    that the shift reminder and the wake-up SMS go out at once (``app.demo.reminders``).
    None when there is no such demo."""
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
    if tenant is None:
        return None
    zone = ZoneInfo(tenant.timezone)
    first = first_shift_start()
    today = day is None
    now = now or utcnow()
    local_now = now.astimezone(zone)
    if day is None:
        day, first = demo_day_clock(local_now)
    with tenant_scope(tenant.id):
        elections = list(await session.scalars(select(Election).order_by(Election.id)))
        if not elections:
            return None
        held = await session.execute(
            select(Assignment.election_id, func.count())
            .where(Assignment.state.in_(HOLDING_STATES))
            .group_by(Assignment.election_id)
        )
        election = election_to_move(elections, {e: n for e, n in held.all()}, staffed)
        old_day = election.election_day
        cleared = 0
        if day != old_day:
            cleared = await _clear_election_day(session, election.id)
            await _move_days(session, election, day - old_day)
        await _move_clock(session, election, first)
        turnout = await fill_todays_turnout(session, tenant, election, now)
        await session.commit()
        election_id = election.id
    if today:
        # The shift reminder and the wake-up go out by themselves, now.
        await reminders_due_now(session, tenant.id, election_id, day, local_now)
    opens = dt.datetime.combine(day, first, tzinfo=zone) - EARLY
    return MovedElection(election.name, old_day, day, cleared, first, opens, turnout)


async def _move_days(session: AsyncSession, election: Election, days: dt.timedelta) -> None:
    """Move the election, its shifts, opening hours, availability, applied-for days and
    course sessions by ``days`` (in the caller's transaction)."""
    election.election_day += days
    if election.advance_start is not None:
        election.advance_start += days
    if election.advance_end is not None:
        election.advance_end += days
    stations = select(Station.id).where(Station.election_id == election.id)
    courses = select(Course.id).where(Course.election_id == election.id)
    moves: list[tuple[Any, Any, tuple[str, ...]]] = [
        (Shift, select(Shift.id, Shift.day).where(Shift.station_id.in_(stations)), ("day",)),
        (
            StationOpening,
            select(StationOpening.id, StationOpening.day).where(
                StationOpening.station_id.in_(stations)
            ),
            ("day",),
        ),
        (
            Availability,
            select(Availability.id, Availability.day).where(
                Availability.election_id == election.id
            ),
            ("day",),
        ),
        (
            ApplicationDay,
            select(ApplicationDay.id, ApplicationDay.day).where(
                ApplicationDay.election_id == election.id
            ),
            ("day",),
        ),
        (
            CourseSession,
            select(CourseSession.id, CourseSession.day, CourseSession.booking_deadline).where(
                CourseSession.course_id.in_(courses)
            ),
            ("day", "booking_deadline"),
        ),
    ]
    for model, query, columns in moves:
        rows = [tuple(row) for row in (await session.execute(query)).all()]
        await _move_rows(session, model, rows, days, *columns)


def _clock_moved(value: dt.time, delta: dt.timedelta) -> dt.time:
    """A time of day moved by ``delta``, held within the day (00:00 to 23:59)."""
    minutes = value.hour * 60 + value.minute + delta // dt.timedelta(minutes=1)
    minutes = min(max(minutes, 0), 24 * 60 - 1)
    return dt.time(minutes // 60, minutes % 60)


async def _move_clock(session: AsyncSession, election: Election, first: dt.time) -> None:
    """Move the election day's shifts and opening hours by the same time, so that the
    day's first shifts start at ``first`` (in the caller's transaction).

    "The day's first shifts" start at the time most stations' first shift starts, so a
    shift a planner moved by hand does not move the whole day. A row whose times would
    leave the day keeps them."""
    day = election.election_day
    stations = select(Station.id).where(Station.election_id == election.id)
    shifts = (
        await session.execute(
            select(Shift.id, Shift.station_id, Shift.starts_at, Shift.ends_at).where(
                Shift.station_id.in_(stations), Shift.day == day
            )
        )
    ).all()
    earliest: dict[int, dt.time] = {}
    for _id, station_id, starts, _ends in shifts:
        earliest[station_id] = min(starts, earliest.get(station_id, starts))
    if not earliest:
        return
    usual = Counter(earliest.values()).most_common(1)[0][0]
    delta = dt.datetime.combine(day, first) - dt.datetime.combine(day, usual)
    if not delta:
        return
    openings = (
        await session.execute(
            select(StationOpening.id, StationOpening.opens_at, StationOpening.closes_at).where(
                StationOpening.station_id.in_(stations), StationOpening.day == day
            )
        )
    ).all()
    for model, rows, columns in (
        (Shift, [(row[0], row[2], row[3]) for row in shifts], ("starts_at", "ends_at")),
        (StationOpening, openings, ("opens_at", "closes_at")),
    ):
        changes = []
        for row_id, begins, ends in rows:
            moved = (_clock_moved(begins, delta), _clock_moved(ends, delta))
            if moved[1] > moved[0]:
                changes.append({"id": row_id, **dict(zip(columns, moved, strict=True))})
        await update_in_batches(session, model, changes)


async def _clear_election_day(session: AsyncSession, election_id: int) -> int:
    """Delete the election's election-day records (in the caller's transaction); how
    many rows went."""
    incidents = select(Incident.id).where(Incident.election_id == election_id)
    cleared = 0
    for statement in (
        delete(IncidentNote).where(IncidentNote.incident_id.in_(incidents)),
        delete(Incident).where(Incident.election_id == election_id),
        delete(CheckIn).where(CheckIn.election_id == election_id),
        delete(StationStatusChange).where(StationStatusChange.election_id == election_id),
        delete(StationStatus).where(StationStatus.election_id == election_id),
        delete(TurnoutReport).where(TurnoutReport.election_id == election_id),
    ):
        result = await session.execute(statement.execution_options(synchronize_session=False))
        cleared += int(getattr(result, "rowcount", 0) or 0)
    return cleared
