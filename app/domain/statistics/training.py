"""Where the people holding a place stand on the courses their roles require, for a
whole election at once, counted by the database.

The rule is ``app.domain.courses.qualifications``' (``course_needs`` and
``training_state``): a role's required courses are the active courses that name it, for
the election or valid for years; a place is "qualified" when its person holds every one
(still valid on election day), "booked" when each one lacking has a seat on an open
session, "missing" when something is neither held nor booked (a waiting list is not a
seat), and "none" when the role requires nothing. Here each place gets its word in SQL,
so that a city's thousands of places come back as a few counts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, distinct, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    Course,
    CourseBooking,
    CourseRequirement,
    CourseSession,
    Election,
    Qualification,
)

TRAINING_WORDS = ("none", "qualified", "booked", "missing")


def placed_training(election: Election) -> Any:
    """A subquery of every place held (person_id, role_type_id, state, each once) with
    its training ``word``."""
    places = (
        select(Assignment.person_id, Assignment.role_type_id, Assignment.state)
        .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
        .distinct()
        .subquery("places")
    )
    required = (
        select(func.count())
        .select_from(CourseRequirement)
        .join(Course, Course.id == CourseRequirement.course_id)
        .where(
            CourseRequirement.role_type_id == places.c.role_type_id,
            Course.active.is_(True),
            or_(Course.election_id == election.id, Course.election_id.is_(None)),
        )
    )
    held = (
        select(Qualification.id)
        .where(
            Qualification.person_id == places.c.person_id,
            Qualification.course_id == CourseRequirement.course_id,
            Qualification.valid_until.is_(None)
            | (Qualification.valid_until >= election.election_day),
        )
        # The place and the requirement come from the queries around it, two levels out.
        .correlate_except(Qualification)
        .exists()
    )
    seated = (
        select(CourseBooking.id)
        .join(CourseSession, CourseSession.id == CourseBooking.session_id)
        .where(
            CourseBooking.person_id == places.c.person_id,
            CourseBooking.course_id == CourseRequirement.course_id,
            CourseBooking.state == "booked",
            CourseSession.status == "open",
        )
        .correlate_except(CourseBooking, CourseSession)
        .exists()
    )
    needed = required.scalar_subquery()
    lacking = required.where(~held).scalar_subquery()
    unseated = required.where(~held, ~seated).scalar_subquery()
    word = case(
        (needed == 0, "none"),
        (lacking == 0, "qualified"),
        (unseated == 0, "booked"),
        else_="missing",
    )
    return select(places, word.label("word")).subquery("training")


async def completion_per_role(
    session: AsyncSession, election: Election
) -> dict[int, dict[str, int]]:
    """{role type id: {word: people}} (each person once per role)."""
    training = placed_training(election)
    rows = await session.execute(
        select(
            training.c.role_type_id, training.c.word, func.count(distinct(training.c.person_id))
        ).group_by(training.c.role_type_id, training.c.word)
    )
    found: dict[int, dict[str, int]] = {}
    for role_id, word, people in rows:
        found.setdefault(role_id, dict.fromkeys(TRAINING_WORDS, 0))[word] += people
    return found


async def trained_people(session: AsyncSession, election: Election) -> int:
    """People with an accepted place whose accepted places all have their courses (or
    need none)."""
    training = placed_training(election)
    untrained = func.max(case((training.c.word.in_(("booked", "missing")), 1), else_=0))
    people = (
        select(training.c.person_id)
        .where(training.c.state == "accepted")
        .group_by(training.c.person_id)
        .having(untrained == 0)
        .subquery()
    )
    return await session.scalar(select(func.count()).select_from(people)) or 0
