"""Changing a booking: moving it to another session of the course, or cancelling it.
A seat left behind goes to the session's waiting list."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models.base import utcnow
from app.domain.courses import CourseError, notices
from app.domain.courses.booking import check_open, get_booking
from app.domain.courses.catalog import get_session
from app.domain.courses.notices import Letterhead
from app.domain.courses.seats import lock_session, lock_sessions, seats_taken
from app.domain.courses.waiting_list import promote_waiting
from app.domain.models import CourseBooking


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
    check_open(booking.session, sender, by_clerk=person_id is not None)
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
    check_open(old_session, sender, by_clerk)
    target = await get_session(session, new_session_id)
    if target.course_id != booking.course_id:
        raise NotFound(_("Not found."))
    check_open(target, sender, by_clerk)
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
    await notices.booked(session, sender, booking)
    if held_seat:
        await promote_waiting(session, actor, sender, old_session)
    await session.commit()
    return booking
