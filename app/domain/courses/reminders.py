"""The day-before reminder of a course session: where and when, and what to bring.

Each booking is reminded once. The job first claims the bookings it will remind with
one conditional UPDATE (``reminded_at`` from NULL to now, RETURNING the ids it
changed), then writes the mail and text for exactly those in the same transaction. A
second run, or a second worker at the same moment, finds them claimed: on PostgreSQL
its UPDATE waits for the first one's row locks and then no longer matches; on SQLite
the single writer does the same. The outbox's idempotency keys are a second guard.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.models.base import utcnow
from app.domain.courses import notices
from app.domain.courses.notices import Letterhead
from app.domain.models import CourseBooking, CourseSession, Room


async def send_reminders(session: AsyncSession, sender: Letterhead, today: dt.date) -> int:
    """Remind everyone with a seat on an open session tomorrow (``today`` is the
    municipality's local day) who has not been reminded; returns how many were."""
    tomorrow = today + dt.timedelta(days=1)
    sessions_tomorrow = select(CourseSession.id).where(
        CourseSession.day == tomorrow, CourseSession.status == "open"
    )
    claimed = list(
        await session.scalars(
            update(CourseBooking)
            .where(
                CourseBooking.session_id.in_(sessions_tomorrow),
                CourseBooking.state == "booked",
                CourseBooking.reminded_at.is_(None),
            )
            .values(reminded_at=utcnow())
            .returning(CourseBooking.id)
            .execution_options(synchronize_session=False)
        )
    )
    if not claimed:
        await session.commit()
        return 0
    bookings = await session.scalars(
        select(CourseBooking)
        .where(CourseBooking.id.in_(claimed))
        .options(
            selectinload(CourseBooking.person),
            selectinload(CourseBooking.session).selectinload(CourseSession.course),
            selectinload(CourseBooking.session)
            .selectinload(CourseSession.room)
            .selectinload(Room.building),
        )
        .order_by(CourseBooking.id)
        .execution_options(populate_existing=True)
    )
    for booking in bookings:
        await notices.reminder(session, sender, booking)
    await session.commit()
    return len(claimed)
