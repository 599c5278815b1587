"""The waiting list moving up: when a seat frees, the first waiting gets it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.models.base import utcnow
from app.domain.courses import notices
from app.domain.courses.booking import booking_details
from app.domain.courses.notices import Letterhead
from app.domain.courses.seats import seats_taken
from app.domain.models import CourseBooking, CourseSession


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
            .options(*booking_details())  # type: ignore[arg-type]
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
        await notices.moved_up(session, sender, booking)
    await session.flush()
    return waiting
