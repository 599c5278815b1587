"""What a clerk sees of courses in the portal: the courses their places require, where
they stand on each, their bookings, and the sessions they may still pick.

Everything starts from the clerk's own person record, so another person's booking is
never found here. Only places the clerk can see in the portal count (offered and
accepted, on a day still ahead): a proposal the office has not sent yet stays unseen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.i18n import named
from app.domain.courses.catalog import SessionRow, session_rows
from app.domain.courses.qualifications import CourseNeed, course_needs, required_courses
from app.domain.models import (
    Assignment,
    Course,
    CourseBooking,
    CourseSession,
    Election,
    Person,
    Qualification,
    RoleType,
    Room,
    Shift,
    Station,
)
from app.domain.staffing.queries import assignments_of_person

#: The places whose courses a clerk sees (the portal shows no proposal before it is sent).
PORTAL_PLACE_STATES = ("offered", "accepted")
#: How a course's status sorts on the page: what needs doing first.
_STATUS_ORDER = {"missing": 0, "waiting": 1, "booked": 2, "qualified": 3}


@dataclass(frozen=True)
class RequiredFor:
    """One place that requires a course: the role, the station and the election."""

    election: str
    role: str
    station: str
    day: dt.date


@dataclass(frozen=True)
class SessionChoice:
    """A session the clerk could book or move to, with its seats and deadline."""

    row: SessionRow
    today: dt.date

    @property
    def session(self) -> CourseSession:
        return self.row.session

    @property
    def seats_left(self) -> int:
        return self.row.free

    @property
    def full(self) -> bool:
        return self.row.free <= 0

    @property
    def deadline_passed(self) -> bool:
        return self.today > self.row.session.booking_deadline


@dataclass
class MyCourse:
    """One course on the clerk's page."""

    course: Course
    #: qualified, booked, waiting or missing.
    status: str
    required_for: list[RequiredFor] = field(default_factory=list)
    qualification: Qualification | None = None
    #: An expired qualification of a course still required (shown as "renew").
    expired: Qualification | None = None
    #: The current seat or waiting-list place (state booked or waiting).
    booking: CourseBooking | None = None
    #: The place on the waiting list (1 = next to get a seat).
    waiting_position: int | None = None
    #: Open sessions from today, the booked one left out.
    choices: list[SessionChoice] = field(default_factory=list)

    @property
    def required(self) -> bool:
        return bool(self.required_for)

    @property
    def needed_by(self) -> dt.date | None:
        """The first day of a place that needs the course."""
        return min((place.day for place in self.required_for), default=None)

    @property
    def online(self) -> bool:
        return self.course.kind != "classroom"

    @property
    def bookable_choices(self) -> list[SessionChoice]:
        return [choice for choice in self.choices if not choice.deadline_passed]

    def choice(self, session_id: int) -> SessionChoice | None:
        return next((c for c in self.choices if c.session.id == session_id), None)


async def _visible_places(
    session: AsyncSession, person: Person, today: dt.date
) -> list[tuple[Assignment, Election, Station, Shift, RoleType]]:
    rows = await session.execute(
        assignments_of_person(person.id).where(
            Assignment.state.in_(PORTAL_PLACE_STATES), Shift.day >= today
        )
    )
    return [(a, e, st, sh, r) for a, e, st, sh, r in rows]


async def current_bookings(session: AsyncSession, person: Person) -> list[CourseBooking]:
    """The person's seats and waiting-list places (on sessions not cancelled)."""
    return list(
        await session.scalars(
            select(CourseBooking)
            .join(CourseSession, CourseSession.id == CourseBooking.session_id)
            .where(
                CourseBooking.person_id == person.id,
                CourseBooking.state.in_(("booked", "waiting")),
                CourseSession.status == "open",
            )
            .options(
                selectinload(CourseBooking.session).selectinload(CourseSession.course),
                selectinload(CourseBooking.session)
                .selectinload(CourseSession.room)
                .selectinload(Room.building),
            )
            .order_by(CourseSession.day, CourseSession.starts_at, CourseBooking.id)
        )
    )


async def _waiting_positions(
    session: AsyncSession, bookings: Sequence[CourseBooking]
) -> dict[int, int]:
    """{booking id: place on its session's waiting list}, first come first served."""
    positions: dict[int, int] = {}
    for booking in bookings:
        if booking.state != "waiting":
            continue
        ahead = await session.scalar(
            select(func.count(CourseBooking.id)).where(
                CourseBooking.session_id == booking.session_id,
                CourseBooking.state == "waiting",
                (CourseBooking.created_at < booking.created_at)
                | (
                    (CourseBooking.created_at == booking.created_at)
                    & (CourseBooking.id < booking.id)
                ),
            )
        )
        positions[booking.id] = int(ahead or 0) + 1
    return positions


async def my_courses(session: AsyncSession, person: Person, today: dt.date) -> list[MyCourse]:
    """The clerk's courses: those their coming places require (with where they stand on
    each and the open sessions to pick), then those booked for them that no place requires.

    ``today`` is the municipality's local day (deadlines are local days).
    """
    places = await _visible_places(session, person, today)
    courses: dict[int, Course] = {}
    required_for: dict[int, list[RequiredFor]] = {}
    required_by_election: dict[int, dict[int, list[Course]]] = {}
    for _assignment, election, station, shift, role in places:
        if election.id not in required_by_election:
            required_by_election[election.id] = await required_courses(session, election.id)
        for course in required_by_election[election.id].get(role.id, []):
            courses[course.id] = course
            place = RequiredFor(election.name, named(role), station.name, shift.day)
            if place not in required_for.setdefault(course.id, []):
                required_for[course.id].append(place)
    bookings = await current_bookings(session, person)
    booking_of = {booking.course_id: booking for booking in bookings}
    for booking in bookings:
        courses.setdefault(booking.course_id, booking.session.course)
    if not courses:
        return []
    held = {
        q.course_id: q
        for q in await session.scalars(
            select(Qualification)
            .where(Qualification.person_id == person.id, Qualification.course_id.in_(list(courses)))
            # Oldest first, so the latest grant of a course is the one kept.
            .order_by(Qualification.achieved_on, Qualification.id)
        )
    }
    positions = await _waiting_positions(session, bookings)
    rows = await session_rows(session, course_ids=list(courses), from_day=today, only_open=True)
    choices: dict[int, list[SessionChoice]] = {}
    for row in rows:
        choices.setdefault(row.session.course_id, []).append(SessionChoice(row, today))

    found: list[MyCourse] = []
    for course_id, course in courses.items():
        places_needing = required_for.get(course_id, [])
        # A qualification must hold through the last day a place needs it (staffing
        # checks it on election day, the last day of an election).
        needed_on = max((p.day for p in places_needing), default=today)
        qualification = held.get(course_id)
        valid = qualification is not None and (
            qualification.valid_until is None or qualification.valid_until >= needed_on
        )
        seat = booking_of.get(course_id)
        if valid:
            status = "qualified"
        elif seat is not None:
            status = seat.state
        else:
            status = "missing"
        found.append(
            MyCourse(
                course=course,
                status=status,
                required_for=places_needing,
                qualification=qualification if valid else None,
                expired=qualification if qualification is not None and not valid else None,
                booking=seat,
                waiting_position=positions.get(seat.id) if seat else None,
                choices=[
                    c
                    for c in choices.get(course_id, [])
                    if seat is None or c.session.id != seat.session_id
                ],
            )
        )
    found.sort(key=lambda c: (not c.required, _STATUS_ORDER[c.status], c.course.name.lower()))
    return found


def find_course(courses: Sequence[MyCourse], course_id: int) -> MyCourse | None:
    return next((c for c in courses if c.course.id == course_id), None)


def course_of_session(courses: Sequence[MyCourse], session_id: int) -> MyCourse | None:
    """The clerk's course that offers this session to them (None: not theirs to book)."""
    return next((c for c in courses if c.choice(session_id) is not None), None)


async def needs_by_assignment(
    session: AsyncSession, person: Person, assignments: Sequence[Assignment]
) -> dict[int, list[CourseNeed]]:
    """{assignment id: the role's required courses and where the person stands on each},
    for the course line on the portal's assignment cards."""
    by_election: dict[int, list[Assignment]] = {}
    for assignment in assignments:
        by_election.setdefault(assignment.election_id, []).append(assignment)
    found: dict[int, list[CourseNeed]] = {}
    for election_id, members in by_election.items():
        election = await session.get(Election, election_id)
        if election is None:
            continue
        needs = await course_needs(
            session, election, [(person.id, a.role_type_id) for a in members]
        )
        for assignment in members:
            found[assignment.id] = needs.get((person.id, assignment.role_type_id), [])
    return found
