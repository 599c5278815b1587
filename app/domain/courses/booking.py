"""Booking a person on a session: a seat, or a place on its waiting list when it is
full; finding a booking and a person's bookings.

Moving and cancelling a booking are in ``booking_changes``, the waiting list moving up
in ``waiting_list``, booking many people at once in ``bulk_booking``, and the seat lock
every one of them takes first in ``seats``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models.base import utcnow
from app.domain.courses import CourseError, notices
from app.domain.courses.catalog import get_session
from app.domain.courses.notices import Letterhead
from app.domain.courses.seats import lock_session, seats_taken
from app.domain.models import CourseBooking, CourseSession, Person, Room


def booking_details() -> list[object]:
    """Loader options for what a booking shows: the person, and the session with its
    course and room."""
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
        .options(*booking_details())  # type: ignore[arg-type]
        .execution_options(populate_existing=True)
    )
    if person_id is not None:
        statement = statement.where(CourseBooking.person_id == person_id)
    booking = await session.scalar(statement)
    if booking is None:
        raise NotFound(_("Not found."))
    return booking


def check_open(course_session: CourseSession, sender: Letterhead, by_clerk: bool) -> None:
    """Refuse a cancelled or past session, and a clerk after the booking deadline."""
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
    check_open(course_session, sender, by_clerk)
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
    # Read before the flush: after a rollback the person's attributes are expired, and
    # loading them again is I/O outside the async call (MissingGreenlet).
    name = person.full_name
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise CourseError(_("%(name)s already has a booking for this course.", name=name)) from None
    booking.person = person
    booking.session = course_session
    await record(
        session,
        actor,
        "courses.booking.created",
        booking,
        data={"person": person.id, "session": course_session.id, "state": booking.state},
    )
    await notices.booked(session, sender, booking)
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


async def bookings_of(session: AsyncSession, person_id: int) -> list[CourseBooking]:
    """A person's bookings, newest session first."""
    return list(
        await session.scalars(
            select(CourseBooking)
            .join(CourseSession, CourseSession.id == CourseBooking.session_id)
            .where(CourseBooking.person_id == person_id)
            .options(*booking_details())  # type: ignore[arg-type]
            .order_by(CourseSession.day.desc(), CourseBooking.id.desc())
        )
    )
