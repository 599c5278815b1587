"""Courses and their sessions: what the election office offers, when and where.

Creating, changing and cancelling a session is in ``scheduling``; this module reads
sessions, with how full each is.
"""

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
from app.core.validation import Cleaner, FieldErrors, parse_ids
from app.domain.models import (
    COURSE_KINDS,
    Course,
    CourseBooking,
    CourseRequirement,
    CourseSession,
    Election,
    RoleType,
    Room,
    SessionTeacher,
)
from app.domain.saving import has_name, is_taken


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
        has_name(Course.name, values["name"]),
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
