"""Who has which course, and whether a person may work a role: the answers staffing,
the portal and the reports share.

A role's required courses are the active courses that name the role and are either
for the election or valid for years. A person meets one when they hold a qualification
still valid on election day, or have a seat on a session of it before the shift.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.i18n import _
from app.domain.courses import CourseError
from app.domain.models import (
    Course,
    CourseBooking,
    CourseRequirement,
    CourseSession,
    Election,
    Qualification,
)

#: The states of ``CourseNeed.status``, best first.
NEED_STATES = ("qualified", "booked", "waiting", "missing")


@dataclass(frozen=True)
class CourseNeed:
    """One required course for one person: have it, booked on a session, or missing."""

    course_id: int
    course_name: str
    status: str
    session_day: dt.date | None = None
    session_id: int | None = None
    achieved_on: dt.date | None = None

    def met_before(self, day: dt.date) -> bool:
        """Qualified, or holding a seat on a session before ``day``."""
        if self.status == "qualified":
            return True
        return self.status == "booked" and self.session_day is not None and self.session_day < day


def valid_until(course: Course, achieved_on: dt.date) -> dt.date | None:
    if course.valid_years:
        try:
            return achieved_on.replace(year=achieved_on.year + course.valid_years)
        except ValueError:  # 29 February
            return achieved_on.replace(year=achieved_on.year + course.valid_years, day=28)
    return None


async def required_courses(session: AsyncSession, election_id: int) -> dict[int, list[Course]]:
    """{role type id: the active courses it requires} for an election."""
    rows = await session.execute(
        select(CourseRequirement.role_type_id, Course)
        .join(Course, Course.id == CourseRequirement.course_id)
        .where(
            Course.active.is_(True),
            (Course.election_id == election_id) | Course.election_id.is_(None),
        )
        .order_by(Course.name, Course.id)
    )
    found: dict[int, list[Course]] = defaultdict(list)
    for role_type_id, course in rows:
        found[role_type_id].append(course)
    return dict(found)


async def qualifications_of(
    session: AsyncSession, person_ids: Sequence[int], course_ids: Iterable[int], on_day: dt.date
) -> dict[tuple[int, int], Qualification]:
    """{(person, course): qualification} for those still valid on ``on_day``."""
    courses = list(set(course_ids))
    found: dict[tuple[int, int], Qualification] = {}
    if not courses:
        return found
    for start in range(0, len(person_ids), 5_000):
        chunk = list(person_ids[start : start + 5_000])
        for qualification in await session.scalars(
            select(Qualification)
            .where(
                Qualification.person_id.in_(chunk),
                Qualification.course_id.in_(courses),
                Qualification.valid_until.is_(None) | (Qualification.valid_until >= on_day),
            )
            # Oldest first, so the latest grant is the one kept.
            .order_by(Qualification.achieved_on, Qualification.id)
        ):
            found[(qualification.person_id, qualification.course_id)] = qualification
    return found


async def active_bookings_of(
    session: AsyncSession, person_ids: Sequence[int], course_ids: Iterable[int]
) -> dict[tuple[int, int], tuple[str, dt.date, int]]:
    """{(person, course): (state, session day, session id)} of booked or waiting seats."""
    courses = list(set(course_ids))
    found: dict[tuple[int, int], tuple[str, dt.date, int]] = {}
    if not courses:
        return found
    for start in range(0, len(person_ids), 5_000):
        chunk = list(person_ids[start : start + 5_000])
        rows = await session.execute(
            select(
                CourseBooking.person_id,
                CourseBooking.course_id,
                CourseBooking.state,
                CourseSession.day,
                CourseSession.id,
            )
            .join(CourseSession, CourseSession.id == CourseBooking.session_id)
            .where(
                CourseBooking.person_id.in_(chunk),
                CourseBooking.course_id.in_(courses),
                CourseBooking.state.in_(("booked", "waiting")),
                CourseSession.status == "open",
            )
        )
        for person_id, course_id, state, day, session_id in rows:
            found[(person_id, course_id)] = (state, day, session_id)
    return found


async def course_needs(
    session: AsyncSession, election: Election, pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], list[CourseNeed]]:
    """For each (person id, role type id): the role's required courses and where the
    person stands on each. Roles without a required course map to an empty list."""
    pairs = list(set(pairs))
    required = await required_courses(session, election.id)
    course_ids = {course.id for courses in required.values() for course in courses}
    people = sorted({person_id for person_id, _role in pairs})
    held = await qualifications_of(session, people, course_ids, election.election_day)
    booked = await active_bookings_of(session, people, course_ids)
    result: dict[tuple[int, int], list[CourseNeed]] = {}
    for person_id, role_id in pairs:
        needs = []
        for course in required.get(role_id, []):
            qualification = held.get((person_id, course.id))
            seat = booked.get((person_id, course.id))
            if qualification is not None:
                need = CourseNeed(
                    course.id, course.name, "qualified", achieved_on=qualification.achieved_on
                )
            elif seat is not None:
                need = CourseNeed(course.id, course.name, seat[0], seat[1], seat[2])
            else:
                need = CourseNeed(course.id, course.name, "missing")
            needs.append(need)
        result[(person_id, role_id)] = needs
    return result


def unmet(needs: Sequence[CourseNeed], day: dt.date) -> list[CourseNeed]:
    """The needs not met before ``day`` (the shift's day)."""
    return [need for need in needs if not need.met_before(day)]


def training_state(needs: Sequence[CourseNeed]) -> str:
    """One word for a holder on the board: none (nothing required), qualified, booked,
    or missing (something neither held nor booked)."""
    if not needs:
        return "none"
    states = {need.status for need in needs}
    if states == {"qualified"}:
        return "qualified"
    if states <= {"qualified", "booked"}:
        return "booked"
    return "missing"


async def person_qualifications(session: AsyncSession, person_id: int) -> list[Qualification]:
    """Every course a person has, newest first (for their register page)."""
    return list(
        await session.scalars(
            select(Qualification)
            .where(Qualification.person_id == person_id)
            .options(selectinload(Qualification.course))
            .order_by(Qualification.achieved_on.desc(), Qualification.id.desc())
        )
    )


async def grant(
    session: AsyncSession,
    actor: Actor,
    person_id: int,
    course: Course,
    achieved_on: dt.date,
    *,
    source: str,
    booking_id: int | None = None,
    result: str = "",
) -> Qualification:
    """Record that a person has a course, as a new grant beside any earlier ones (a
    roll call marking the same booking again updates its own grant)."""
    if achieved_on > dt.date.today() + dt.timedelta(days=1):
        raise CourseError(_("A course cannot be completed in the future."), "achieved_on")
    qualification = None
    if booking_id is not None:
        qualification = await session.scalar(
            select(Qualification).where(Qualification.booking_id == booking_id)
        )
    if qualification is None:
        qualification = Qualification(person_id=person_id, course_id=course.id)
        session.add(qualification)
    qualification.achieved_on = achieved_on
    qualification.valid_until = valid_until(course, achieved_on)
    qualification.source = source
    qualification.booking_id = booking_id
    qualification.result = result[:100]
    qualification.recorded_by_label = actor.label
    await session.flush()
    await record(
        session,
        actor,
        "courses.qualification.granted",
        qualification,
        data={"person": person_id, "course": course.id, "source": source},
    )
    return qualification


async def revoke_from_booking(session: AsyncSession, actor: Actor, booking_id: int) -> None:
    """Take back the grant a roll call made by mistake (marked no-show after); grants
    from other sessions, imports or by hand stay."""
    qualification = await session.scalar(
        select(Qualification).where(Qualification.booking_id == booking_id)
    )
    if qualification is not None:
        await record(
            session,
            actor,
            "courses.qualification.revoked",
            qualification,
            data={"person": qualification.person_id, "course": qualification.course_id},
        )
        await session.delete(qualification)
        await session.flush()
