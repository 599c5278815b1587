"""Where a person stands in each election they applied to, between recruitment and
staffing: trained or not for the roles the election has places for, booked on which
course session, placed or not, a reserve or not, and what blocks a placement, in plain
words; with the course sessions they could still be booked on.

The application page and the person page show it, so an approved applicant held back
by a hard rule (most often a required course) is never stuck without a reason or a next
step. The words come from the same rules the board and ``assign_person`` keep
(``rules``, ``qualifications.course_needs``); nothing here decides a placement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _, named
from app.domain.courses.catalog import SessionRow, session_rows
from app.domain.courses.qualifications import CourseNeed, course_needs, unmet
from app.domain.models import (
    Availability,
    Election,
    Person,
    Reserve,
    RoleType,
    Shift,
    StaffingNorm,
    Station,
)
from app.domain.staffing import rules
from app.domain.staffing.assignments import PersonPlace, places_of_person
from app.domain.staffing.reserves import reserve_people

#: Elections still being staffed.
OPEN_ELECTIONS = ("planning", "active")


@dataclass(frozen=True)
class CourseStanding:
    """One course some role of the election requires, and where the person stands.

    ``status``: qualified, booked (a seat before election day), late (a seat only on
    or after it), waiting (on a waiting list) or missing. ``sessions`` are the open
    sessions before election day the person could be booked on, when not met: those
    with a free seat first.
    """

    course_id: int
    name: str
    status: str
    roles: list[str]
    session_day: dt.date | None = None
    session_id: int | None = None
    sessions: list[SessionRow] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return self.status in ("qualified", "booked")


@dataclass(frozen=True)
class RoleStanding:
    role_id: int
    name: str
    #: Meets every course the role requires before election day.
    trained: bool


@dataclass(frozen=True)
class ElectionStanding:
    election: Election
    days: list[dt.date]
    places: list[PersonPlace]
    reserve: bool
    roles: list[RoleStanding]
    courses: list[CourseStanding]
    #: What stops a placement now, each in a sentence a planner reads.
    blocks: list[str]

    @property
    def placed(self) -> bool:
        return bool(self.places)


async def person_standing(
    session: AsyncSession,
    person: Person,
    today: dt.date,
    election_ids: Sequence[int] | None = None,
) -> list[ElectionStanding]:
    """The person's standing in each of ``election_ids`` (those they applied to), or,
    without it, in every election still being staffed where they said they can work,
    hold a place or are a reserve. Soonest election first."""
    places = await places_of_person(session, person.id)
    if election_ids is None:
        election_ids = await _elections_of(session, person.id, places)
    elections = list(
        await session.scalars(
            select(Election)
            .where(Election.id.in_(list(election_ids)))
            .order_by(Election.election_day, Election.id)
        )
    )
    return [await _standing(session, person, election, places, today) for election in elections]


async def _elections_of(
    session: AsyncSession, person_id: int, places: list[PersonPlace]
) -> list[int]:
    """Elections still being staffed the person is available for, placed in or a
    reserve of."""
    found = set(
        await session.scalars(
            select(Availability.election_id).where(Availability.person_id == person_id).distinct()
        )
    )
    found |= {place.assignment.election_id for place in places}
    open_ids = list(
        await session.scalars(select(Election.id).where(Election.status.in_(OPEN_ELECTIONS)))
    )
    found |= set(
        await session.scalars(select(Reserve.election_id).where(Reserve.person_id == person_id))
    )
    return sorted(found & set(open_ids))


async def _standing(
    session: AsyncSession,
    person: Person,
    election: Election,
    places: list[PersonPlace],
    today: dt.date,
) -> ElectionStanding:
    roles = await _roles_with_places(session, election.id)
    needs = await course_needs(session, election, [(person.id, role.id) for role in roles])
    day = election.election_day
    role_standings = [
        RoleStanding(role.id, named(role), not unmet(needs[(person.id, role.id)], day))
        for role in roles
    ]
    courses = await _courses(session, roles, needs, person.id, day, today)
    days = sorted(
        set(
            await session.scalars(
                select(Availability.day).where(
                    Availability.person_id == person.id, Availability.election_id == election.id
                )
            )
        )
    )
    blocks = _blocks(person, election, roles, days, courses)
    return ElectionStanding(
        election=election,
        days=days,
        places=[place for place in places if place.assignment.election_id == election.id],
        reserve=person.id in await reserve_people(session, election.id),
        roles=role_standings,
        courses=courses,
        blocks=blocks,
    )


async def _roles_with_places(session: AsyncSession, election_id: int) -> list[RoleType]:
    """The roles some shift of the election has places for, in the roles' order."""
    with_places = (
        select(StaffingNorm.role_type_id)
        .join(Shift, Shift.id == StaffingNorm.shift_id)
        .join(Station, Station.id == Shift.station_id)
        .where(Station.election_id == election_id, StaffingNorm.target > 0)
    )
    return list(
        await session.scalars(
            select(RoleType)
            .where(RoleType.id.in_(with_places))
            .order_by(RoleType.sort_order, RoleType.id)
        )
    )


async def _courses(
    session: AsyncSession,
    roles: list[RoleType],
    needs: dict[tuple[int, int], list[CourseNeed]],
    person_id: int,
    election_day: dt.date,
    today: dt.date,
) -> list[CourseStanding]:
    """Each required course once, with the roles needing it and, when not met, the
    sessions before election day the person could be booked on."""
    by_course: dict[int, tuple[CourseNeed, list[str]]] = {}
    for role in roles:
        for need in needs[(person_id, role.id)]:
            by_course.setdefault(need.course_id, (need, []))[1].append(named(role))
    unmet_ids = [
        course_id
        for course_id, (need, _roles) in by_course.items()
        if not need.met_before(election_day)
    ]
    bookable: dict[int, list[SessionRow]] = {}
    if unmet_ids:
        for row in await session_rows(
            session, course_ids=unmet_ids, from_day=today, only_open=True
        ):
            if row.session.day < election_day:
                bookable.setdefault(row.session.course_id, []).append(row)
        # Sessions with a free seat first (in time order), then the full ones.
        for rows in bookable.values():
            rows.sort(key=lambda row: row.full)
    courses = []
    for course_id, (need, role_names) in by_course.items():
        status = need.status
        if status == "booked" and not need.met_before(election_day):
            status = "late"
        courses.append(
            CourseStanding(
                course_id=course_id,
                name=need.course_name,
                status=status,
                roles=role_names,
                session_day=need.session_day,
                session_id=need.session_id,
                sessions=bookable.get(course_id, []) if status != "booked" else [],
            )
        )
    return sorted(courses, key=lambda course: course.name)


def _blocks(
    person: Person,
    election: Election,
    roles: list[RoleType],
    days: list[dt.date],
    courses: list[CourseStanding],
) -> list[str]:
    """What stops a placement, hard rules first, in plain words."""
    blocks = []
    if person.status != "active":
        blocks.append(_("Not active in the register: only active people can be placed."))
    broken = rules.age_rule(person.birth_date, election.election_day)
    if broken is not None:
        blocks.append(broken.message)
    if not roles:
        blocks.append(_("The election has no places yet: no shift has a staffing norm."))
    for course in courses:
        if not course.met:
            blocks.append(_course_block(course))
    if not days:
        blocks.append(
            _("Has not said which days they can work in this election (a planner may override).")
        )
    return blocks


def _course_block(course: CourseStanding) -> str:
    roles = ", ".join(course.roles)
    if course.status == "waiting":
        return _(
            "On the waiting list for %(course)s: needs a seat on a session before election "
            "day to work as %(roles)s.",
            course=course.name,
            roles=roles,
        )
    if course.status == "late":
        return _(
            "Booked on %(course)s only on or after election day: needs an earlier session "
            "to work as %(roles)s.",
            course=course.name,
            roles=roles,
        )
    return _(
        "Lacks the course %(course)s (required for %(roles)s) and has no seat on a session "
        "before election day.",
        course=course.name,
        roles=roles,
    )
