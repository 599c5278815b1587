"""Seating people on sessions: booking, the waiting list, rebooking, cancelling, and
booking a team or every untrained clerk at once.

Every change to a session's seats takes that session's lock first (a write to its
row: a row lock on PostgreSQL, the single writer on SQLite), then counts the seats,
so two people taking the last seat at once get exactly one seat between them. A
unique index refuses a second active booking of one course for one person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models.base import utcnow
from app.domain.courses import CourseError, notices
from app.domain.courses.catalog import get_course, get_session, seats_taken
from app.domain.courses.notices import Letterhead
from app.domain.courses.qualifications import qualifications_of
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    Course,
    CourseBooking,
    CourseSession,
    Election,
    Person,
    Room,
    SessionTeacher,
    Station,
)


async def lock_session(session: AsyncSession, session_id: int) -> None:
    """Take a session's seat lock until the transaction ends."""
    await session.execute(
        update(CourseSession)
        .where(CourseSession.id == session_id)
        .values(status=CourseSession.status)
        .execution_options(synchronize_session=False)
    )


async def lock_sessions(session: AsyncSession, session_ids: Sequence[int]) -> None:
    # Always in id order, so two transactions locking the same sessions never deadlock.
    for session_id in sorted(set(session_ids)):
        await lock_session(session, session_id)


def _loaded() -> list[object]:
    return [
        selectinload(CourseBooking.person),
        selectinload(CourseBooking.session).selectinload(CourseSession.course),
        selectinload(CourseBooking.session)
        .selectinload(CourseSession.room)
        .selectinload(Room.building),
    ]


async def get_booking(
    session: AsyncSession, booking_id: int, person_id: int | None = None
) -> CourseBooking:
    """A booking; with ``person_id`` only that person's (a clerk's own), else 404."""
    statement = (
        select(CourseBooking)
        .where(CourseBooking.id == booking_id)
        .options(*_loaded())  # type: ignore[arg-type]
        .execution_options(populate_existing=True)
    )
    if person_id is not None:
        statement = statement.where(CourseBooking.person_id == person_id)
    booking = await session.scalar(statement)
    if booking is None:
        raise NotFound(_("Not found."))
    return booking


def _check_open(course_session: CourseSession, sender: Letterhead, by_clerk: bool) -> None:
    if course_session.status == "cancelled":
        raise CourseError(_("The session is cancelled."), "session_id")
    today = sender.today()
    if course_session.day < today:
        raise CourseError(_("The session has already taken place."), "session_id")
    if by_clerk and today > course_session.booking_deadline:
        raise CourseError(
            _(
                "The booking deadline (%(day)s) has passed; contact the election office.",
                day=course_session.booking_deadline.isoformat(),
            ),
            "session_id",
        )


async def book_person(
    session: AsyncSession,
    actor: Actor,
    sender: Letterhead,
    session_id: int,
    person_id: int,
    *,
    by_clerk: bool = False,
    join_waiting_list: bool = False,
) -> CourseBooking:
    """Give a person a seat on a session, or a place on its waiting list.

    Refuses a cancelled or past session, a clerk after the deadline, a second booking
    of the same course, and a full session unless ``join_waiting_list``.
    """
    await lock_session(session, session_id)
    course_session = await get_session(session, session_id)
    person = await session.get(Person, person_id)
    if person is None:
        raise NotFound(_("Not found."))
    _check_open(course_session, sender, by_clerk)
    existing = await session.scalar(
        select(CourseBooking)
        .where(
            CourseBooking.person_id == person.id,
            CourseBooking.course_id == course_session.course_id,
            CourseBooking.state.in_(("booked", "waiting", "attended")),
        )
        .options(selectinload(CourseBooking.session))
    )
    if existing is not None:
        raise _already_booked(person, existing)
    full = await seats_taken(session, course_session.id) >= course_session.capacity
    if full and not join_waiting_list:
        raise CourseError(
            _("The session is full. Choose another session or join the waiting list."),
            "session_id",
        )
    booking = CourseBooking(
        session_id=course_session.id,
        course_id=course_session.course_id,
        person_id=person.id,
        state="waiting" if full else "booked",
        seated_at=None if full else utcnow(),
        booked_by_label=actor.label,
    )
    session.add(booking)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise CourseError(
            _("%(name)s already has a booking for this course.", name=person.full_name)
        ) from None
    booking.person = person
    booking.session = course_session
    await record(
        session,
        actor,
        "courses.booking.created",
        booking,
        data={"person": person.id, "session": course_session.id, "state": booking.state},
    )
    notices.booked(session, sender, booking)
    await session.commit()
    return booking


def _already_booked(person: Person, existing: CourseBooking) -> CourseError:
    if existing.state == "attended":
        return CourseError(
            _(
                "%(name)s already attended this course on %(day)s.",
                name=person.full_name,
                day=existing.session.day.isoformat(),
            )
        )
    return CourseError(
        _(
            "%(name)s is already booked on this course (%(day)s); rebook instead.",
            name=person.full_name,
            day=existing.session.day.isoformat(),
        )
    )


async def cancel_booking(
    session: AsyncSession,
    actor: Actor,
    sender: Letterhead,
    booking_id: int,
    *,
    person_id: int | None = None,
) -> CourseBooking:
    """Cancel a seat or a place on the waiting list; the first waiting moves up.

    With ``person_id`` this is the clerk cancelling their own booking, which the
    deadline limits; a planner may cancel until the session has taken place.
    """
    booking = await get_booking(session, booking_id, person_id)
    locked = booking.session_id
    await lock_session(session, locked)
    booking = await get_booking(session, booking_id, person_id)
    if booking.session_id != locked:
        raise CourseError(_("The booking changed meanwhile. Reload the page and try again."))
    if booking.state not in ("booked", "waiting"):
        raise CourseError(_("Only a booked seat or a place on the waiting list can be cancelled."))
    _check_open(booking.session, sender, by_clerk=person_id is not None)
    held_seat = booking.state == "booked"
    booking.state = "cancelled"
    booking.cancelled_at = utcnow()
    await session.flush()
    await record(
        session,
        actor,
        "courses.booking.cancelled",
        booking,
        data={"person": booking.person_id, "session": booking.session_id},
    )
    if held_seat:
        await promote_waiting(session, actor, sender, booking.session)
    await session.commit()
    return booking


async def rebook(
    session: AsyncSession,
    actor: Actor,
    sender: Letterhead,
    booking_id: int,
    new_session_id: int,
    *,
    person_id: int | None = None,
    join_waiting_list: bool = False,
) -> CourseBooking:
    """Move a booking to another session of the same course in one step, so the person
    is never without a seat in between; the seat left behind goes to the waiting list."""
    booking = await get_booking(session, booking_id, person_id)
    locked = booking.session_id
    await lock_sessions(session, [locked, new_session_id])
    booking = await get_booking(session, booking_id, person_id)
    if booking.session_id != locked:
        raise CourseError(_("The booking changed meanwhile. Reload the page and try again."))
    by_clerk = person_id is not None
    if booking.state not in ("booked", "waiting"):
        raise CourseError(_("Only a booked seat or a place on the waiting list can be moved."))
    if booking.session_id == new_session_id:
        raise CourseError(_("The booking is already on this session."), "session_id")
    old_session = booking.session
    _check_open(old_session, sender, by_clerk)
    target = await get_session(session, new_session_id)
    if target.course_id != booking.course_id:
        raise NotFound(_("Not found."))
    _check_open(target, sender, by_clerk)
    full = await seats_taken(session, target.id) >= target.capacity
    if full and not join_waiting_list:
        raise CourseError(
            _("The session is full. Choose another session or join the waiting list."),
            "session_id",
        )
    held_seat = booking.state == "booked"
    booking.session_id = target.id
    booking.session = target
    booking.state = "waiting" if full else "booked"
    booking.seated_at = None if full else utcnow()
    booking.reminded_at = None
    booking.created_at = utcnow()  # a new place in the target's waiting list
    await session.flush()
    await record(
        session,
        actor,
        "courses.booking.moved",
        booking,
        data={"person": booking.person_id, "from": old_session.id, "to": target.id},
    )
    notices.booked(session, sender, booking)
    if held_seat:
        await promote_waiting(session, actor, sender, old_session)
    await session.commit()
    return booking


async def promote_waiting(
    session: AsyncSession, actor: Actor, sender: Letterhead, course_session: CourseSession
) -> list[CourseBooking]:
    """Give free seats to the waiting list, first come first served, and tell each person.

    The caller holds the session's lock. Nobody moves up once the session has begun
    its day or is cancelled: a seat that frees on the day is left to the roll call.
    """
    if course_session.status != "open" or course_session.day <= sender.today():
        return []
    free = course_session.capacity - await seats_taken(session, course_session.id)
    if free <= 0:
        return []
    waiting = list(
        await session.scalars(
            select(CourseBooking)
            .where(CourseBooking.session_id == course_session.id, CourseBooking.state == "waiting")
            .options(*_loaded())  # type: ignore[arg-type]
            .order_by(CourseBooking.created_at, CourseBooking.id)
            .limit(free)
        )
    )
    for booking in waiting:
        booking.state = "booked"
        booking.seated_at = utcnow()
        await record(
            session,
            actor,
            "courses.booking.moved_up",
            booking,
            data={"person": booking.person_id, "session": course_session.id},
        )
        notices.moved_up(session, sender, booking)
    await session.flush()
    return waiting


async def cancel_session(
    session: AsyncSession, actor: Actor, sender: Letterhead, session_id: int, reason: str = ""
) -> int:
    """Cancel a session, free every seat and waiting place, and tell each person, with
    the other sessions of the course that still have seats. Returns how many were told."""
    await lock_session(session, session_id)
    course_session = await get_session(session, session_id)
    if course_session.status == "cancelled":
        raise CourseError(_("The session is already cancelled."))
    if course_session.day < sender.today():
        raise CourseError(_("The session has already taken place."))
    marked = await session.scalar(
        select(CourseBooking.id).where(
            CourseBooking.session_id == course_session.id,
            CourseBooking.state.in_(("attended", "no_show")),
        )
    )
    if marked is not None:
        raise CourseError(
            _("The roll call has been taken, so the session can no longer be cancelled.")
        )
    course_session.status = "cancelled"
    course_session.cancelled_at = utcnow()
    bookings = list(
        await session.scalars(
            select(CourseBooking)
            .where(
                CourseBooking.session_id == course_session.id,
                CourseBooking.state.in_(("booked", "waiting")),
            )
            .options(*_loaded())  # type: ignore[arg-type]
        )
    )
    alternatives = await _other_sessions_with_seats(session, course_session, sender.today())
    for booking in bookings:
        booking.state = "cancelled"
        booking.cancelled_at = utcnow()
        notices.session_cancelled(session, sender, booking, alternatives, reason[:500])
    await session.flush()
    await record(
        session,
        actor,
        "courses.session.cancelled",
        course_session,
        data={"course": course_session.course_id, "bookings": len(bookings)},
    )
    await session.commit()
    return len(bookings)


async def _other_sessions_with_seats(
    session: AsyncSession, course_session: CourseSession, today: dt.date
) -> list[CourseSession]:
    from app.domain.courses.catalog import session_rows

    rows = await session_rows(
        session, course_id=course_session.course_id, from_day=today, only_open=True
    )
    # Only sessions a person may still book themselves: ahead, and before their deadline.
    return [
        row.session
        for row in rows
        if row.session.id != course_session.id
        and row.free
        and row.session.day > today
        and row.session.booking_deadline >= today
    ][:5]


# --- many at once ------------------------------------------------------------------


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
        _check_open(course_session, sender, by_clerk=False)
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
        notices.booked(session, sender, booking)
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


async def teaching_of(session: AsyncSession, person_id: int) -> list[CourseSession]:
    """Sessions a person teaches, for their register page and calendar."""
    return list(
        await session.scalars(
            select(CourseSession)
            .join(SessionTeacher, SessionTeacher.session_id == CourseSession.id)
            .where(SessionTeacher.person_id == person_id)
            .options(selectinload(CourseSession.course))
            .order_by(CourseSession.day, CourseSession.starts_at)
        )
    )


async def bookings_of(session: AsyncSession, person_id: int) -> list[CourseBooking]:
    """A person's bookings, newest session first."""
    return list(
        await session.scalars(
            select(CourseBooking)
            .join(CourseSession, CourseSession.id == CourseBooking.session_id)
            .where(CourseBooking.person_id == person_id)
            .options(*_loaded())  # type: ignore[arg-type]
            .order_by(CourseSession.day.desc(), CourseBooking.id.desc())
        )
    )
