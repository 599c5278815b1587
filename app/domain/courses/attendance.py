"""The roll call: who came to a session, who did not, and walk-ins. Attending grants
the course; a qualification can also be recorded by hand (a test result, a course
taken elsewhere)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models.base import utcnow
from app.domain.courses import CourseError
from app.domain.courses.catalog import get_course, get_session
from app.domain.courses.notices import Letterhead
from app.domain.courses.qualifications import grant, revoke_from_booking
from app.domain.courses.seats import lock_session, lock_sessions
from app.domain.courses.waiting_list import promote_waiting
from app.domain.models import CourseBooking, CourseSession, Person, Qualification

#: What a roll call may set a booking to ("booked" clears a mark made by mistake).
MARKS = ("attended", "no_show", "booked")


@dataclass(frozen=True)
class RollCall:
    session: CourseSession
    rows: list[CourseBooking]
    waiting: list[CourseBooking]

    @property
    def attended(self) -> int:
        return sum(1 for row in self.rows if row.state == "attended")

    @property
    def no_shows(self) -> int:
        return sum(1 for row in self.rows if row.state == "no_show")


async def roll_call(session: AsyncSession, session_id: int) -> RollCall:
    """The people with a seat on a session (by name), and its waiting list."""
    course_session = await get_session(session, session_id)
    bookings = list(
        await session.scalars(
            select(CourseBooking)
            .join(Person, Person.id == CourseBooking.person_id)
            .where(
                CourseBooking.session_id == course_session.id,
                CourseBooking.state.in_(("booked", "attended", "no_show", "waiting")),
            )
            .options(selectinload(CourseBooking.person))
            .order_by(Person.last_name, Person.first_name, CourseBooking.id)
            .execution_options(populate_existing=True)
        )
    )
    return RollCall(
        course_session,
        [b for b in bookings if b.state != "waiting"],
        sorted((b for b in bookings if b.state == "waiting"), key=lambda b: (b.created_at, b.id)),
    )


def _check_day(course_session: CourseSession, sender: Letterhead) -> None:
    if course_session.status == "cancelled":
        raise CourseError(_("The session is cancelled."))
    if course_session.day > sender.today():
        raise CourseError(_("Attendance can be recorded from the day of the session."))


async def mark_attendance(
    session: AsyncSession,
    actor: Actor,
    sender: Letterhead,
    session_id: int,
    marks: Mapping[int, str],
) -> int:
    """Record the roll call: {booking id: attended | no_show | booked}.

    Attending grants the course, dated the session's day; marking someone no-show
    after all takes back what the roll call granted. All marks are written or none:
    a booking of another session or an unknown mark refuses the whole roll call.
    Returns how many bookings changed.
    """
    await lock_session(session, session_id)
    course_session = await get_session(session, session_id)
    _check_day(course_session, sender)
    course = await get_course(session, course_session.course_id)
    bookings = {
        b.id: b
        for b in await session.scalars(
            select(CourseBooking)
            .where(
                CourseBooking.session_id == course_session.id,
                CourseBooking.id.in_(list(marks)),
                CourseBooking.state.in_(("booked", "attended", "no_show")),
            )
            .execution_options(populate_existing=True)
        )
    }
    if set(marks) - set(bookings) or set(marks.values()) - set(MARKS):
        raise CourseError(_("The list changed meanwhile. Reload the roll call and mark again."))
    changed = 0
    for booking_id, mark in sorted(marks.items()):
        booking = bookings[booking_id]
        if booking.state == mark:
            continue
        was = booking.state
        booking.state = mark
        booking.marked_at = utcnow()
        if mark == "attended":
            await grant(
                session,
                actor,
                booking.person_id,
                course,
                course_session.day,
                source="attendance",
                booking_id=booking.id,
            )
        elif was == "attended":
            await revoke_from_booking(session, actor, booking.id)
        await record(
            session,
            actor,
            f"courses.attendance.{mark}",
            booking,
            data={"person": booking.person_id, "session": course_session.id},
        )
        changed += 1
    await session.commit()
    return changed


async def add_walk_in(
    session: AsyncSession,
    actor: Actor,
    sender: Letterhead,
    session_id: int,
    person_id: int,
    *,
    confirmed: bool = False,
) -> CourseBooking:
    """Record someone who came without a seat on this session, as attended.

    Only with ``confirmed`` (the explicit "walk-in" choice); without it the planner is
    told the person is not booked (or only on this session's waiting list). A seat or
    waiting place they held is given up (and a seat passed on to its waiting list).
    """
    person = await session.get(Person, person_id)
    if person is None:
        raise NotFound(_("Not found."))
    course_id = (await get_session(session, session_id)).course_id
    # Both sessions' locks in id order (as a move takes them), then read again.
    existing = await _held_booking(session, person.id, course_id)
    await lock_sessions(
        session, [session_id] + ([existing.session_id] if existing is not None else [])
    )
    existing = await _held_booking(session, person.id, course_id)
    course_session = await get_session(session, session_id)
    _check_day(course_session, sender)
    _check_walk_in(person, course_session, existing, confirmed)
    if existing is not None:
        await _give_up_place(session, actor, sender, existing)
    booking = CourseBooking(
        session_id=course_session.id,
        course_id=course_session.course_id,
        person_id=person.id,
        state="attended",
        walk_in=True,
        seated_at=utcnow(),
        marked_at=utcnow(),
        booked_by_label=actor.label,
    )
    session.add(booking)
    await session.flush()
    course = await get_course(session, course_session.course_id)
    await grant(
        session,
        actor,
        person.id,
        course,
        course_session.day,
        source="attendance",
        booking_id=booking.id,
    )
    await record(
        session,
        actor,
        "courses.attendance.walk_in",
        booking,
        data={"person": person.id, "session": course_session.id},
    )
    await session.commit()
    return booking


async def _held_booking(
    session: AsyncSession, person_id: int, course_id: int
) -> CourseBooking | None:
    """The person's active booking of the course (a seat, a waiting place or attended)."""
    return await session.scalar(
        select(CourseBooking)
        .where(
            CourseBooking.person_id == person_id,
            CourseBooking.course_id == course_id,
            CourseBooking.state.in_(("booked", "waiting", "attended")),
        )
        .options(selectinload(CourseBooking.session))
        .execution_options(populate_existing=True)
    )


def _check_walk_in(
    person: Person,
    course_session: CourseSession,
    existing: CourseBooking | None,
    confirmed: bool,
) -> None:
    """Refuse someone on this session's list or who already attended the course, and
    anyone without ``confirmed``, saying whether they are on the waiting list."""
    on_this_list = existing is not None and existing.session_id == course_session.id
    if on_this_list and existing is not None and existing.state != "waiting":
        raise CourseError(
            _("%(name)s is on this session's list; tick them there.", name=person.full_name)
        )
    if existing is not None and existing.state == "attended":
        raise CourseError(
            _(
                "%(name)s already attended this course on %(day)s.",
                name=person.full_name,
                day=existing.session.day.isoformat(),
            )
        )
    if not confirmed:
        message = (
            _(
                "%(name)s is on this session's waiting list, without a seat. Choose "
                "“walk-in” to record them as attended.",
                name=person.full_name,
            )
            if on_this_list
            else _(
                "%(name)s is not booked on this session. Choose “walk-in” to record them "
                "as attended anyway.",
                name=person.full_name,
            )
        )
        raise CourseError(message, "person_id")


async def _give_up_place(
    session: AsyncSession, actor: Actor, sender: Letterhead, existing: CourseBooking
) -> None:
    """Cancel the walk-in's place elsewhere (or on this waiting list); a seat they held
    goes to that session's waiting list."""
    held_seat = existing.state == "booked"
    existing.state = "cancelled"
    existing.cancelled_at = utcnow()
    await session.flush()
    if held_seat:
        await promote_waiting(
            session, actor, sender, await get_session(session, existing.session_id)
        )


async def record_result(
    session: AsyncSession,
    actor: Actor,
    person_id: int,
    course_id: int,
    achieved_on: dt.date,
    result: str = "",
    source: str = "manual",
) -> Qualification:
    """Record by hand that a person has a course (an online course, a test, training
    taken elsewhere)."""
    person = await session.get(Person, person_id)
    if person is None:
        raise NotFound(_("Not found."))
    course = await get_course(session, course_id)
    qualification = await grant(
        session, actor, person.id, course, achieved_on, source=source, result=result
    )
    await session.commit()
    return qualification
