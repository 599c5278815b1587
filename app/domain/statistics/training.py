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

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, case, distinct, func, literal, or_, select, union_all
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


def placed_training(election: Election, *, cte: bool = False) -> Any:
    """A subquery of every place held (person_id, role_type_id, state, each once) with
    its training ``word`` (a common table expression with ``cte``, to be read twice).

    Joins and counts rather than a subquery per place: PostgreSQL plans it with hash
    joins at a low cost (a subquery per row made it costly enough to be compiled by JIT
    first, which took seconds).
    """
    places = (
        select(Assignment.person_id, Assignment.role_type_id, Assignment.state)
        .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
        .distinct()
        .subquery("places")
    )
    required = (
        select(CourseRequirement.role_type_id, CourseRequirement.course_id)
        .join(Course, Course.id == CourseRequirement.course_id)
        .where(
            Course.active.is_(True),
            or_(Course.election_id == election.id, Course.election_id.is_(None)),
        )
        .subquery("required")
    )
    courses = select(required.c.course_id)
    held = (
        select(Qualification.person_id, Qualification.course_id)
        .where(
            Qualification.course_id.in_(courses),
            Qualification.valid_until.is_(None)
            | (Qualification.valid_until >= election.election_day),
        )
        .distinct()
        .subquery("held")
    )
    seated = (
        select(CourseBooking.person_id, CourseBooking.course_id)
        .join(CourseSession, CourseSession.id == CourseBooking.session_id)
        .where(
            CourseBooking.course_id.in_(courses),
            CourseBooking.state == "booked",
            CourseSession.status == "open",
        )
        .distinct()
        .subquery("seated")
    )
    needed = func.count(required.c.course_id)
    lacking = needed - func.count(held.c.course_id)
    unseated = func.sum(
        case(
            (
                required.c.course_id.is_not(None)
                & held.c.course_id.is_(None)
                & seated.c.course_id.is_(None),
                1,
            ),
            else_=0,
        )
    )
    word = case(
        (needed == 0, "none"),
        (lacking == 0, "qualified"),
        (unseated == 0, "booked"),
        else_="missing",
    )
    statement = (
        select(places.c.person_id, places.c.role_type_id, places.c.state, word.label("word"))
        .select_from(places)
        .outerjoin(required, required.c.role_type_id == places.c.role_type_id)
        .outerjoin(
            held,
            (held.c.person_id == places.c.person_id) & (held.c.course_id == required.c.course_id),
        )
        .outerjoin(
            seated,
            (seated.c.person_id == places.c.person_id)
            & (seated.c.course_id == required.c.course_id),
        )
        .group_by(places.c.person_id, places.c.role_type_id, places.c.state)
    )
    return statement.cte("training") if cte else statement.subquery("training")


@dataclass(frozen=True)
class TrainingCounts:
    """Both charts' training numbers, read in one statement."""

    #: {role type id: {word: people}} (each person once per role).
    per_role: dict[int, dict[str, int]]
    #: People with an accepted place whose accepted places all have their courses (or
    #: need none).
    trained: int


async def training_counts(session: AsyncSession, election: Election) -> TrainingCounts:
    """The course completion per role and the funnel's trained people in one round trip.

    The places' words are worked out once (a common table expression read twice, which
    PostgreSQL materialises): the two counts used to be two statements each working the
    words out again, the page's two slowest after the pay sums.
    """
    training = placed_training(election, cte=True)
    per_role = select(
        training.c.role_type_id, training.c.word, func.count(distinct(training.c.person_id))
    ).group_by(training.c.role_type_id, training.c.word)
    untrained = func.max(case((training.c.word.in_(("booked", "missing")), 1), else_=0))
    trained_people = (
        select(training.c.person_id)
        .where(training.c.state == "accepted")
        .group_by(training.c.person_id)
        .having(untrained == 0)
        .subquery("trained_people")
    )
    # The trained people come as one row with no role (a role's id is never null).
    trained = select(
        literal(None, Integer).label("role_type_id"),
        literal("trained").label("word"),
        func.count(),
    ).select_from(trained_people)
    found: dict[int, dict[str, int]] = {}
    people = 0
    for role_id, word, count in await session.execute(union_all(per_role, trained)):
        if role_id is None:
            people = count
        else:
            found.setdefault(role_id, dict.fromkeys(TRAINING_WORDS, 0))[word] += count
    return TrainingCounts(found, people)
