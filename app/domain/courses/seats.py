"""A session's seats: the lock every change to them takes, and how many are held.

Every change to a session's seats takes that session's lock first (a write to its
row: a row lock on PostgreSQL, the single writer on SQLite), then counts the seats,
so two people taking the last seat at once get exactly one seat between them. A
unique index refuses a second active booking of one course for one person.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import CourseBooking, CourseSession


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


async def seats_taken(session: AsyncSession, session_id: int) -> int:
    """Seats held: booked, attended and no-show (a no-show sat on a seat that day)."""
    return int(
        await session.scalar(
            select(func.count(CourseBooking.id)).where(
                CourseBooking.session_id == session_id,
                CourseBooking.state.in_(("booked", "attended", "no_show")),
            )
        )
        or 0
    )
