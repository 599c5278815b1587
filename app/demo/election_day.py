"""Demo data for election day: reserves a coordinator can send where someone is missing,
and moving the demo's coming election to a chosen day (today, to try election day live).

``stemma demo --election-day today`` moves the coming election (its day, its advance
voting, its stations' shifts and opening hours, the availability and applications for
it and its courses' sessions) by the same number of days, so that everything keeps its
place relative to election day. It can be run again on another day: it moves by the
difference, and clears what an earlier try of election day left (check-ins, station
states and their history, incidents with their notes, turnout counts): those happened
on a day that is no longer the election day, and would show on the new one as if they
had happened there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, utcnow
from app.core.tenancy import tenant_scope
from app.demo.rows import update_in_batches
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


def _coming_election(elections: list[Election]) -> Election:
    """The demo's coming election: the one rolled over from the demo's first election."""
    rolled = [election for election in elections if election.rolled_over_from_id is not None]
    return max(rolled or elections, key=lambda election: election.id)


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
    session: AsyncSession, tenant_slug: str, day: dt.date | None = None
) -> MovedElection | None:
    """Move the demo's coming election so that its election day is ``day`` (default:
    today in the municipality's time zone). None when there is no such demo."""
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == tenant_slug))
    if tenant is None:
        return None
    if day is None:
        day = utcnow().astimezone(ZoneInfo(tenant.timezone)).date()
    with tenant_scope(tenant.id):
        elections = list(await session.scalars(select(Election).order_by(Election.id)))
        if not elections:
            return None
        election = _coming_election(elections)
        old_day = election.election_day
        days = day - old_day
        cleared = 0
        if days:
            cleared = await _clear_election_day(session, election.id)
            election.election_day = day
            if election.advance_start is not None:
                election.advance_start += days
            if election.advance_end is not None:
                election.advance_end += days
            stations = select(Station.id).where(Station.election_id == election.id)
            courses = select(Course.id).where(Course.election_id == election.id)
            moves: list[tuple[Any, Any, tuple[str, ...]]] = [
                (
                    Shift,
                    select(Shift.id, Shift.day).where(Shift.station_id.in_(stations)),
                    ("day",),
                ),
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
                    select(
                        CourseSession.id, CourseSession.day, CourseSession.booking_deadline
                    ).where(CourseSession.course_id.in_(courses)),
                    ("day", "booking_deadline"),
                ),
            ]
            for model, query, columns in moves:
                rows = [tuple(row) for row in (await session.execute(query)).all()]
                await _move_rows(session, model, rows, days, *columns)
        await session.commit()
    return MovedElection(election.name, old_day, day, cleared)


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
