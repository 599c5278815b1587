"""Scheduling sessions: creating or changing one (its room, seats and teachers, without
clashes) and cancelling it. Everyone booked hears of a change or a cancellation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _, ngettext
from app.core.models.base import utcnow
from app.core.validation import Cleaner, FieldErrors, parse_ids
from app.domain.courses import CourseError, notices
from app.domain.courses.booking import booking_details
from app.domain.courses.catalog import get_course, get_session, session_rows
from app.domain.courses.notices import Letterhead
from app.domain.courses.seats import lock_session, seats_taken
from app.domain.courses.waiting_list import promote_waiting
from app.domain.models import (
    Course,
    CourseBooking,
    CourseSession,
    Person,
    Room,
    SessionTeacher,
)

#: The languages a session can be given in.
LANGUAGES = ("sv", "da", "en")


def clean_session(data: Mapping[str, Any]) -> dict[str, Any]:
    cleaner = Cleaner(data)
    values: dict[str, Any] = {
        "day": cleaner.date("day", required=True),
        "starts_at": cleaner.time("starts_at"),
        "ends_at": cleaner.time("ends_at"),
        "room_id": cleaner.identifier("room_id"),
        "capacity": cleaner.integer("capacity", 0, 10000),
        "language": cleaner.choice("language", LANGUAGES, "sv"),
        "booking_deadline": cleaner.date("booking_deadline"),
        "notes": cleaner.text("notes", 5000),
    }
    starts, ends = values["starts_at"], values["ends_at"]
    if starts is not None and ends is not None and ends <= starts:
        cleaner.fail("ends_at", _("The end must be after the start."))
    day, deadline = values["day"], values["booking_deadline"]
    if day is not None and deadline is None:
        # The day before by default: rooms and materials are planned from the list.
        values["booking_deadline"] = day - dt.timedelta(days=1)
    elif day is not None and deadline is not None and deadline > day:
        cleaner.fail("booking_deadline", _("The booking deadline must be on or before the day."))
    cleaner.done()
    return values


async def save_session(
    session: AsyncSession,
    actor: Actor,
    course_id: int,
    sender: Letterhead,
    data: Mapping[str, Any],
    teacher_ids: Sequence[str | int] = (),
    session_id: int | None = None,
) -> CourseSession:
    """Create or change a session of a course.

    Refuses a room smaller than the seats, seats in a classroom course without a room,
    and a teacher who teaches another session at the same time. Raising the seats
    moves people up from the waiting list in the same transaction.
    """
    course = await get_course(session, course_id)
    values = clean_session(data)
    teachers = parse_ids([str(i) for i in teacher_ids])
    room = await _checked_room(session, course, values, teachers)
    await _check_clashes(session, values, teachers, room, session_id)
    moved = False
    if session_id is None:
        course_session = CourseSession(course_id=course.id, status="open")
        course_session.teachers = []
    else:
        course_session, moved = await _session_to_change(
            session, course, sender, values, session_id
        )
    for key, value in values.items():
        setattr(course_session, key, value)
    _set_teachers(course_session, teachers)
    session.add(course_session)
    await session.flush()
    await record(
        session,
        actor,
        f"courses.session.{'created' if session_id is None else 'updated'}",
        course_session,
        data={"course": course.id, "day": values["day"].isoformat()},
    )
    if session_id is not None:
        if moved:
            await _tell_of_change(session, sender, course_session)
        await promote_waiting(session, actor, sender, course_session)
    await session.commit()
    return await get_session(session, course_session.id)


async def _checked_room(
    session: AsyncSession, course: Course, values: dict[str, Any], teachers: Sequence[int]
) -> Room | None:
    """The session's room, after checking the room, the seats and the teachers (every
    problem at once). Seats left at 0 become the room's seats."""
    errors: dict[str, str] = {}
    room = None
    if values["room_id"] is not None:
        room = await session.get(Room, values["room_id"])
        if room is None:
            errors["room_id"] = _("Choose one of the options.")
    if room is not None:
        if values["capacity"] == 0:
            values["capacity"] = room.capacity
        if values["capacity"] > room.capacity:
            errors["capacity"] = _(
                "The room %(room)s seats %(count)s; lower the seats or choose a larger room.",
                room=room.name,
                count=room.capacity,
            )
    elif course.kind == "classroom" and values["room_id"] is None:
        errors["room_id"] = _("A classroom course needs a room.")
    if values["capacity"] < 1 and not errors.get("capacity"):
        errors["capacity"] = _("Enter a number from %(min)s to %(max)s.", min=1, max=10000)
    found = set(await session.scalars(select(Person.id).where(Person.id.in_(teachers))))
    if set(teachers) - found:
        errors["teacher_ids"] = _("Choose one of the options.")
    if errors:
        raise FieldErrors(errors)
    return room


async def _check_clashes(
    session: AsyncSession,
    values: Mapping[str, Any],
    teachers: Sequence[int],
    room: Room | None,
    session_id: int | None,
) -> None:
    """Refuse a teacher who gives, or a room that holds, another session at the time."""
    clash = await teacher_clash(
        session, teachers, values["day"], values["starts_at"], values["ends_at"], session_id
    )
    if clash:
        raise FieldErrors(
            {
                "teacher_ids": _(
                    "%(name)s already teaches %(course)s at %(start)s–%(end)s that day.",
                    name=clash[0],
                    course=clash[1],
                    start=clash[2].strftime("%H:%M"),
                    end=clash[3].strftime("%H:%M"),
                )
            }
        )
    if room is not None:
        taken = await room_clash(
            session, room.id, values["day"], values["starts_at"], values["ends_at"], session_id
        )
        if taken:
            raise FieldErrors(
                {
                    "room_id": _(
                        "The room is taken by %(course)s at %(start)s–%(end)s that day.",
                        course=taken[0],
                        start=taken[1].strftime("%H:%M"),
                        end=taken[2].strftime("%H:%M"),
                    )
                }
            )


async def _session_to_change(
    session: AsyncSession,
    course: Course,
    sender: Letterhead,
    values: Mapping[str, Any],
    session_id: int,
) -> tuple[CourseSession, bool]:
    """The session being changed, under its seat lock, and whether its day, time or room
    moves. Refuses a cancelled or past session, and fewer seats than people booked."""
    await lock_session(session, session_id)
    course_session = await get_session(session, session_id)
    if course_session.course_id != course.id:
        raise NotFound(_("Not found."))
    if course_session.status == "cancelled":
        raise CourseError(_("The session is cancelled and can no longer be changed."))
    booked = await seats_taken(session, course_session.id)
    if values["capacity"] < booked:
        raise FieldErrors(
            {
                "capacity": ngettext(
                    "%(num)s person is booked; cancel or move the booking before "
                    "lowering the seats below that.",
                    "%(num)s people are booked; cancel or move bookings before "
                    "lowering the seats below that.",
                    booked,
                )
            }
        )
    if course_session.day < sender.today():
        raise CourseError(_("The session has already taken place."))
    before = (course_session.day, course_session.starts_at, course_session.ends_at)
    after = (values["day"], values["starts_at"], values["ends_at"])
    moved = before != after or course_session.room_id != values["room_id"]
    return course_session, moved


def _set_teachers(course_session: CourseSession, teachers: Sequence[int]) -> None:
    """Keep the teachers still chosen, drop the others, add the new ones in order."""
    current = {t.person_id for t in course_session.teachers}
    course_session.teachers[:] = [t for t in course_session.teachers if t.person_id in teachers]
    for person_id in teachers:
        if person_id not in current:
            course_session.teachers.append(SessionTeacher(person_id=person_id))


async def _tell_of_change(
    session: AsyncSession, sender: Letterhead, course_session: CourseSession
) -> None:
    """The day, time or room of a session changed: tell everyone booked or waiting, and
    let the reminder go again for the new day."""
    changed = await get_session(session, course_session.id)
    bookings = list(
        await session.scalars(
            select(CourseBooking)
            .where(
                CourseBooking.session_id == course_session.id,
                CourseBooking.state.in_(("booked", "waiting")),
            )
            .options(selectinload(CourseBooking.person))
        )
    )
    now = utcnow()
    for booking in bookings:
        booking.reminded_at = None
        booking.session = changed
        await notices.session_changed(session, sender, booking, now)
    await session.flush()


async def room_clash(
    session: AsyncSession,
    room_id: int,
    day: dt.date,
    starts: dt.time,
    ends: dt.time,
    exclude_session_id: int | None,
) -> tuple[str, dt.time, dt.time] | None:
    """The first other open session in the room at an overlapping time."""
    statement = (
        select(Course.name, CourseSession.starts_at, CourseSession.ends_at)
        .join(Course, Course.id == CourseSession.course_id)
        .where(
            CourseSession.room_id == room_id,
            CourseSession.day == day,
            CourseSession.status != "cancelled",
            CourseSession.starts_at < ends,
            CourseSession.ends_at > starts,
        )
        .order_by(CourseSession.starts_at)
    )
    if exclude_session_id is not None:
        statement = statement.where(CourseSession.id != exclude_session_id)
    row = (await session.execute(statement.limit(1))).first()
    return None if row is None else (row[0], row[1], row[2])


async def teacher_clash(
    session: AsyncSession,
    teacher_ids: Sequence[int],
    day: dt.date,
    starts: dt.time,
    ends: dt.time,
    exclude_session_id: int | None,
) -> tuple[str, str, dt.time, dt.time] | None:
    """The first other open session one of the teachers gives at an overlapping time."""
    if not teacher_ids:
        return None
    statement = (
        select(Person, Course.name, CourseSession.starts_at, CourseSession.ends_at)
        .join(SessionTeacher, SessionTeacher.person_id == Person.id)
        .join(CourseSession, CourseSession.id == SessionTeacher.session_id)
        .join(Course, Course.id == CourseSession.course_id)
        .where(
            SessionTeacher.person_id.in_(teacher_ids),
            CourseSession.day == day,
            CourseSession.status != "cancelled",
            CourseSession.starts_at < ends,
            CourseSession.ends_at > starts,
        )
        .order_by(CourseSession.starts_at)
    )
    if exclude_session_id is not None:
        statement = statement.where(CourseSession.id != exclude_session_id)
    row = (await session.execute(statement.limit(1))).first()
    if row is None:
        return None
    return row[0].full_name, row[1], row[2], row[3]


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
            .options(*booking_details())  # type: ignore[arg-type]
        )
    )
    alternatives = await _other_sessions_with_seats(session, course_session, sender.today())
    for booking in bookings:
        booking.state = "cancelled"
        booking.cancelled_at = utcnow()
        await notices.session_cancelled(session, sender, booking, alternatives, reason[:500])
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
    """Up to five other sessions of the course with free seats, offered in the notice."""
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
