"""Booking many at once: a station's team, or every assigned person who still lacks a
course, planned first (who gets which seat) and then booked all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models.base import utcnow
from app.domain.courses import CourseError, notices
from app.domain.courses.booking import check_open
from app.domain.courses.catalog import get_course, get_session
from app.domain.courses.notices import Letterhead
from app.domain.courses.qualifications import qualifications_of
from app.domain.courses.seats import lock_sessions, seats_taken
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    Course,
    CourseBooking,
    CourseSession,
    Election,
    Person,
    Station,
)


@dataclass
class BookingPlan:
    """Who would get which seat, and who is left without one, before anything is written."""

    course: Course
    seats: list[tuple[Person, CourseSession]] = field(default_factory=list)
    unplaced: list[Person] = field(default_factory=list)
    #: Already qualified or booked, so left alone.
    skipped: int = 0

    @property
    def person_ids(self) -> list[int]:
        return sorted(person.id for person, _session in self.seats)


async def untrained_people(
    session: AsyncSession,
    course: Course,
    election: Election,
    *,
    district_id: int | None = None,
    station_id: int | None = None,
) -> tuple[list[list[Person]], int]:
    """People holding a place in the election (in a district or station when given)
    whose role requires the course (any role when it names none) and who neither have
    it nor a booking of it. Returns them as teams, one list per station (by station
    name, then person name; someone on two stations is in the first), and how many
    assigned people were left out because they have it or are booked."""
    role_ids = {req.role_type_id for req in course.requirements}
    statement = (
        select(Person, Station.name)
        .join(Assignment, Assignment.person_id == Person.id)
        .join(Station, Station.id == Assignment.station_id)
        .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
        .order_by(Station.name, Person.last_name, Person.first_name, Person.id)
    )
    if role_ids:
        statement = statement.where(Assignment.role_type_id.in_(role_ids))
    if district_id is not None:
        statement = statement.where(Station.district_id == district_id)
    if station_id is not None:
        statement = statement.where(Station.id == station_id)
    people: dict[int, Person] = {}
    station_of: dict[int, str] = {}
    for person, station_name in await session.execute(statement):
        people.setdefault(person.id, person)
        station_of.setdefault(person.id, station_name)
    ids = list(people)
    held = await qualifications_of(session, ids, [course.id], election.election_day)
    booked = set(
        await session.scalars(
            select(CourseBooking.person_id).where(
                CourseBooking.course_id == course.id,
                CourseBooking.person_id.in_(ids),
                CourseBooking.state.in_(("booked", "waiting", "attended")),
            )
        )
    )
    teams: dict[str, list[Person]] = {}
    for pid, person in people.items():
        if (pid, course.id) not in held and pid not in booked:
            teams.setdefault(station_of[pid], []).append(person)
    left = sum(len(team) for team in teams.values())
    return list(teams.values()), len(people) - left


async def plan_bookings(
    session: AsyncSession,
    sender: Letterhead,
    course_id: int,
    election_id: int,
    session_ids: Sequence[int],
    *,
    district_id: int | None = None,
    station_id: int | None = None,
) -> BookingPlan:
    """Seat the untrained assigned people on the chosen sessions in date order, a
    station's people together where the seats allow. Writes nothing."""
    course = await get_course(session, course_id)
    election = await session.get(Election, election_id)
    if election is None:
        raise NotFound(_("Not found."))
    teams, skipped = await untrained_people(
        session, course, election, district_id=district_id, station_id=station_id
    )
    plan = BookingPlan(course, skipped=skipped)
    sessions = []
    for sid in sorted(set(session_ids)):
        course_session = await get_session(session, sid)
        if course_session.course_id != course.id:
            raise NotFound(_("Not found."))
        check_open(course_session, sender, by_clerk=False)
        sessions.append(course_session)
    sessions.sort(key=lambda s: (s.day, s.starts_at, s.id))
    free = {s.id: s.capacity - await seats_taken(session, s.id) for s in sessions}
    # A station's people train together where one session has room for all of them;
    # a team too large for any session is spread over the sessions in date order.
    for team in teams:
        whole = next((s for s in sessions if free[s.id] >= len(team)), None)
        for person in team:
            target = whole or next((s for s in sessions if free[s.id] > 0), None)
            if target is None:
                plan.unplaced.append(person)
                continue
            plan.seats.append((person, target))
            free[target.id] -= 1
    return plan


async def book_plan(
    session: AsyncSession,
    actor: Actor,
    sender: Letterhead,
    course_id: int,
    election_id: int,
    session_ids: Sequence[int],
    expected_person_ids: Sequence[int],
    *,
    district_id: int | None = None,
    station_id: int | None = None,
) -> BookingPlan:
    """Book what ``plan_bookings`` showed, all or nothing.

    The plan is made again under the sessions' locks; if it no longer seats exactly
    the people the planner saw (someone booked meanwhile, a seat went), nothing is
    written and the planner is asked to look again.
    """
    await lock_sessions(session, session_ids)
    plan = await plan_bookings(
        session,
        sender,
        course_id,
        election_id,
        session_ids,
        district_id=district_id,
        station_id=station_id,
    )
    if plan.person_ids != sorted(set(expected_person_ids)):
        await session.rollback()
        raise CourseError(
            _("The bookings or seats changed meanwhile. Look at the list again and confirm.")
        )
    made = []
    for person, course_session in plan.seats:
        booking = CourseBooking(
            session_id=course_session.id,
            course_id=course_session.course_id,
            person_id=person.id,
            state="booked",
            seated_at=utcnow(),
            booked_by_label=actor.label,
        )
        booking.person = person
        booking.session = course_session
        session.add(booking)
        made.append(booking)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise CourseError(
            _("The bookings or seats changed meanwhile. Look at the list again and confirm.")
        ) from None
    for booking in made:
        # After the flush: each message's idempotency key carries the booking's id.
        await notices.booked(session, sender, booking)
    await record(
        session,
        actor,
        "courses.booking.bulk_created",
        plan.course,
        data={
            "election": election_id,
            "district": district_id,
            "station": station_id,
            "sessions": sorted(set(session_ids)),
            "people": len(plan.seats),
        },
    )
    await session.commit()
    return plan
