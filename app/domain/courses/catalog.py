"""Courses and their sessions: what the election office offers, when and where."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models.base import utcnow
from app.core.validation import Cleaner, FieldErrors, parse_ids
from app.domain.courses import CourseError
from app.domain.courses.notices import Letterhead
from app.domain.models import (
    COURSE_KINDS,
    Course,
    CourseBooking,
    CourseRequirement,
    CourseSession,
    Election,
    Person,
    RoleType,
    Room,
    SessionTeacher,
)
from app.domain.saving import is_taken

LANGUAGES = ("sv", "da", "en")


def clean_course(data: Mapping[str, Any]) -> dict[str, Any]:
    cleaner = Cleaner(data)
    values: dict[str, Any] = {
        "name": cleaner.text("name", 200, required=True),
        "description": cleaner.text("description", 10000),
        "kind": cleaner.choice("kind", COURSE_KINDS, "classroom"),
        "external_url": cleaner.text("external_url", 500),
        "election_id": cleaner.identifier("election_id"),
        "valid_years": cleaner.integer("valid_years", 0, 20) or None,
        "duration_minutes": cleaner.integer("duration_minutes", 5, 24 * 60, default=120),
        "materials": cleaner.text("materials", 5000),
        "active": cleaner.boolean("active") if "active" in data else True,
    }
    url = values["external_url"]
    if url and not url.lower().startswith(("https://", "http://")):
        cleaner.fail("external_url", _("Enter a web address starting with https://."))
    if values["kind"] != "classroom" and not url:
        cleaner.fail("external_url", _("An online course or test needs its web address."))
    if values["election_id"] is not None and values["valid_years"] is not None:
        cleaner.fail(
            "valid_years",
            _("A course for one election holds for that election; leave the years empty."),
        )
    cleaner.done()
    return values


async def save_course(
    session: AsyncSession,
    actor: Actor,
    data: Mapping[str, Any],
    role_type_ids: Sequence[str | int] = (),
    course_id: int | None = None,
) -> Course:
    """Create or change a course and the roles that require it."""
    values = clean_course(data)
    election_id = values["election_id"]
    if election_id is not None and await session.get(Election, election_id) is None:
        raise FieldErrors({"election_id": _("Choose one of the options.")})
    same_name = select(Course.id).where(
        func.lower(Course.name) == values["name"].lower(),
        Course.election_id.is_(None)
        if values["election_id"] is None
        else Course.election_id == values["election_id"],
    )
    if await is_taken(session, same_name, Course.id, course_id):
        raise FieldErrors({"name": _("A course with this name already exists.")})
    wanted = set(parse_ids([str(i) for i in role_type_ids]))
    known = set(await session.scalars(select(RoleType.id).where(RoleType.id.in_(wanted))))
    if wanted - known:
        raise FieldErrors({"role_type_ids": _("Choose one of the options.")})
    course = Course() if course_id is None else await get_course(session, course_id)
    for key, value in values.items():
        setattr(course, key, value)
    current = {req.role_type_id for req in course.requirements} if course_id else set()
    if course_id is None:
        course.requirements = []
    course.requirements[:] = [r for r in course.requirements if r.role_type_id in wanted]
    for role_id in sorted(wanted - current):
        course.requirements.append(CourseRequirement(role_type_id=role_id))
    session.add(course)
    await session.flush()
    await record(
        session,
        actor,
        f"courses.course.{'created' if course_id is None else 'updated'}",
        course,
        data={"name": course.name, "roles": sorted(wanted)},
    )
    await session.commit()
    return course


async def get_course(session: AsyncSession, course_id: int) -> Course:
    course = await session.scalar(
        select(Course)
        .where(Course.id == course_id)
        .options(
            selectinload(Course.requirements).selectinload(CourseRequirement.role_type),
            selectinload(Course.election),
        )
    )
    if course is None:
        raise NotFound(_("Not found."))
    return course


async def list_courses(
    session: AsyncSession, election_id: int | None = None, include_inactive: bool = True
) -> list[Course]:
    """Courses, those for ``election_id`` (and those valid for years) when given."""
    statement = select(Course).options(
        selectinload(Course.requirements).selectinload(CourseRequirement.role_type),
        selectinload(Course.election),
    )
    if election_id is not None:
        statement = statement.where(
            (Course.election_id == election_id) | Course.election_id.is_(None)
        )
    if not include_inactive:
        statement = statement.where(Course.active.is_(True))
    return list(await session.scalars(statement.order_by(Course.name, Course.id)))


# --- sessions ----------------------------------------------------------------------


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
    # Imported here: booking imports this module for ``get_session``.
    from app.domain.courses.booking import lock_session, promote_waiting

    course = await get_course(session, course_id)
    values = clean_session(data)
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
    teachers = parse_ids([str(i) for i in teacher_ids])
    found = set(await session.scalars(select(Person.id).where(Person.id.in_(teachers))))
    if set(teachers) - found:
        errors["teacher_ids"] = _("Choose one of the options.")
    if errors:
        raise FieldErrors(errors)
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
    moved = False
    if session_id is None:
        course_session = CourseSession(course_id=course.id, status="open")
        course_session.teachers = []
    else:
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
                    "capacity": _(
                        "%(count)s people are booked; cancel or move bookings before "
                        "lowering the seats below that.",
                        count=booked,
                    )
                }
            )
        if course_session.day < sender.today():
            raise CourseError(_("The session has already taken place."))
        before = (course_session.day, course_session.starts_at, course_session.ends_at)
        after = (values["day"], values["starts_at"], values["ends_at"])
        moved = before != after or course_session.room_id != values["room_id"]
    for key, value in values.items():
        setattr(course_session, key, value)
    current = {t.person_id for t in course_session.teachers}
    course_session.teachers[:] = [t for t in course_session.teachers if t.person_id in teachers]
    for person_id in teachers:
        if person_id not in current:
            course_session.teachers.append(SessionTeacher(person_id=person_id))
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


async def _tell_of_change(
    session: AsyncSession, sender: Letterhead, course_session: CourseSession
) -> None:
    """The day, time or room of a session changed: tell everyone booked or waiting, and
    let the reminder go again for the new day."""
    from app.domain.courses import notices

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
        notices.session_changed(session, sender, booking, now)
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


async def get_session(session: AsyncSession, session_id: int) -> CourseSession:
    found = await session.scalar(
        select(CourseSession)
        .where(CourseSession.id == session_id)
        .options(
            selectinload(CourseSession.course),
            selectinload(CourseSession.room).selectinload(Room.building),
            selectinload(CourseSession.teachers).selectinload(SessionTeacher.person),
        )
        .execution_options(populate_existing=True)
    )
    if found is None:
        raise NotFound(_("Not found."))
    return found


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


@dataclass(frozen=True)
class SessionRow:
    """A session with how full it is, for lists and pickers."""

    session: CourseSession
    booked: int
    waiting: int
    attended: int

    @property
    def free(self) -> int:
        return max(0, self.session.capacity - self.booked)

    @property
    def full(self) -> bool:
        return self.session.status == "open" and self.free == 0

    @property
    def status(self) -> str:
        """open, full or cancelled."""
        return "full" if self.full else self.session.status

    @property
    def fill_rate(self) -> float:
        return self.booked / self.session.capacity if self.session.capacity else 0.0


async def session_rows(
    session: AsyncSession,
    *,
    course_id: int | None = None,
    course_ids: Sequence[int] | None = None,
    session_ids: Sequence[int] | None = None,
    from_day: dt.date | None = None,
    only_open: bool = False,
) -> list[SessionRow]:
    """Sessions in time order with their seats booked, waiting list and attendance."""
    statement = select(CourseSession).options(
        selectinload(CourseSession.course),
        selectinload(CourseSession.room).selectinload(Room.building),
        selectinload(CourseSession.teachers).selectinload(SessionTeacher.person),
    )
    if course_id is not None:
        statement = statement.where(CourseSession.course_id == course_id)
    if course_ids is not None:
        statement = statement.where(CourseSession.course_id.in_(list(course_ids)))
    if session_ids is not None:
        statement = statement.where(CourseSession.id.in_(list(session_ids)))
    if from_day is not None:
        statement = statement.where(CourseSession.day >= from_day)
    if only_open:
        statement = statement.where(CourseSession.status == "open")
    sessions = list(
        await session.scalars(
            statement.order_by(CourseSession.day, CourseSession.starts_at, CourseSession.id)
        )
    )
    counts: dict[tuple[int, str], int] = {}
    if sessions:
        rows = await session.execute(
            select(CourseBooking.session_id, CourseBooking.state, func.count(CourseBooking.id))
            .where(CourseBooking.session_id.in_([s.id for s in sessions]))
            .group_by(CourseBooking.session_id, CourseBooking.state)
        )
        counts = {(sid, state): n for sid, state, n in rows}

    def count(sid: int, *states: str) -> int:
        return sum(counts.get((sid, state), 0) for state in states)

    return [
        SessionRow(
            s,
            booked=count(s.id, "booked", "attended", "no_show"),
            waiting=count(s.id, "waiting"),
            attended=count(s.id, "attended"),
        )
        for s in sessions
    ]


async def session_row(session: AsyncSession, session_id: int) -> SessionRow:
    rows = await session_rows(session, session_ids=[session_id])
    if not rows:
        raise NotFound(_("Not found."))
    return rows[0]
