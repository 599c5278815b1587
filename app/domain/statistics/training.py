"""Where the people holding a place stand on the courses their roles require, for a
whole election at once: the answer of ``app.domain.courses.qualifications`` (course
needs and ``training_state``) read with the election's people as a subquery, not as a
list of thousands of ids, since the statistics page asks it for everyone.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.courses.qualifications import required_courses
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    CourseBooking,
    CourseSession,
    Election,
    Qualification,
)


async def training_states(
    session: AsyncSession, election: Election
) -> dict[tuple[int, int, str], str]:
    """{(person id, role type id, assignment state): "none" | "qualified" | "booked" |
    "missing"} for every place held, as ``training_state`` words it: nothing required,
    every required course held (valid on election day), each one lacking booked on an
    open session, or something neither held nor booked (a waiting list is not a seat)."""
    places = set(
        await session.execute(
            select(Assignment.person_id, Assignment.role_type_id, Assignment.state)
            .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
            .distinct()
        )
    )
    required = {
        role_id: {course.id for course in courses}
        for role_id, courses in (await required_courses(session, election.id)).items()
    }
    courses = set().union(*required.values()) if required else set()
    held: set[tuple[int, int]] = set()
    booked: set[tuple[int, int]] = set()
    if courses:
        placed = (
            select(Assignment.person_id)
            .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
            .scalar_subquery()
        )
        held = set(
            await session.execute(
                select(Qualification.person_id, Qualification.course_id)
                .where(
                    Qualification.course_id.in_(courses),
                    Qualification.person_id.in_(placed),
                    Qualification.valid_until.is_(None)
                    | (Qualification.valid_until >= election.election_day),
                )
                .distinct()
            )
        )
        booked = set(
            await session.execute(
                select(CourseBooking.person_id, CourseBooking.course_id)
                .join(CourseSession, CourseSession.id == CourseBooking.session_id)
                .where(
                    CourseBooking.course_id.in_(courses),
                    CourseBooking.person_id.in_(placed),
                    CourseBooking.state == "booked",
                    CourseSession.status == "open",
                )
                .distinct()
            )
        )
    states: dict[tuple[int, int, str], str] = {}
    for person_id, role_id, state in places:
        needed = required.get(role_id, set())
        if not needed:
            word = "none"
        elif all((person_id, c) in held for c in needed):
            word = "qualified"
        elif all((person_id, c) in held or (person_id, c) in booked for c in needed):
            word = "booked"
        else:
            word = "missing"
        states[(person_id, role_id, state)] = word
    return states


def by_person(states: dict[tuple[int, int, str], str], state: str) -> dict[int, set[str]]:
    """{person: the words of their places in ``state``}."""
    found: dict[int, set[str]] = defaultdict(set)
    for (person_id, _role, each), word in states.items():
        if each == state:
            found[person_id].add(word)
    return dict(found)
