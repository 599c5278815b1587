"""Where a person stands in an election between recruitment and staffing: each state
(course missing, booked, booked too late, waiting, held; placed; a reserve; not active,
no days), and the open places of the place-by-hand form with the board's rules."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.courses.booking import book_person
from app.domain.courses.qualifications import grant
from app.domain.staffing import placing
from app.domain.staffing.assignments import add_reserve, assign_person
from app.domain.staffing.standing import ElectionStanding, person_standing
from tests.factories import (
    letterhead,
    local_today,
    make_clerk,
    make_course,
    make_course_session,
    make_open_election,
    make_staffed_station,
)

ACTOR = Actor.system("t")


async def _standing(db: AsyncSession, tenant: Tenant, person: object) -> ElectionStanding:
    with tenant_scope(tenant.id), locale_scope("en"):
        standings = await person_standing(db, person, local_today(tenant))  # type: ignore[arg-type]
    assert len(standings) == 1
    return standings[0]


async def test_a_missing_course_blocks_and_offers_the_sessions_with_seats(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    course = await make_course(db, tenant, s["election"], name="Grundkurs", roles=("clerk",))
    before = s["election"].election_day - dt.timedelta(days=10)
    open_session = await make_course_session(db, tenant, course, day=before)
    await make_course_session(db, tenant, course, day=s["election"].election_day)  # too late
    earlier = before - dt.timedelta(days=5)
    full = await make_course_session(db, tenant, course, day=earlier, capacity=1)
    other = await make_clerk(db, tenant, s["election"])
    with tenant_scope(tenant.id):
        await book_person(db, ACTOR, letterhead(tenant), full.id, other.id)

    standing = await _standing(db, tenant, person)

    assert not standing.placed and not standing.reserve
    assert standing.days == [s["election"].election_day]
    trained = {role.name: role.trained for role in standing.roles}
    assert trained == {"Ordförande": True, "Vice ordförande": True, "Röstmottagare": False}
    [grundkurs] = standing.courses
    assert (grundkurs.name, grundkurs.status, grundkurs.roles) == (
        "Grundkurs",
        "missing",
        ["Röstmottagare"],
    )
    # A session with a free seat comes before an earlier full one.
    assert [row.session.id for row in grundkurs.sessions] == [open_session.id, full.id]
    assert standing.blocks == [
        "Lacks the course Grundkurs (required for Röstmottagare) and has no seat on a "
        "session before election day."
    ]


async def test_a_seat_before_the_day_or_the_course_held_clears_the_block(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    booked, held = [await make_clerk(db, tenant, s["election"]) for _ in range(2)]
    course = await make_course(db, tenant, s["election"], name="Grundkurs")
    before = s["election"].election_day - dt.timedelta(days=10)
    course_session = await make_course_session(db, tenant, course, day=before)
    with tenant_scope(tenant.id):
        await book_person(db, ACTOR, letterhead(tenant), course_session.id, booked.id)
        await grant(db, ACTOR, held.id, course, local_today(tenant), source="manual")
        await db.commit()

    standing = await _standing(db, tenant, booked)
    assert standing.blocks == []
    assert all(role.trained for role in standing.roles)
    assert [(c.status, c.session_day, c.sessions) for c in standing.courses] == [
        ("booked", before, [])
    ]
    standing = await _standing(db, tenant, held)
    assert standing.blocks == [] and [c.status for c in standing.courses] == ["qualified"]


async def test_a_waiting_list_or_a_late_seat_still_blocks_and_says_so(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    waiting, late, seated = [await make_clerk(db, tenant, s["election"]) for _ in range(3)]
    course = await make_course(db, tenant, s["election"], name="Grundkurs")
    before = s["election"].election_day - dt.timedelta(days=10)
    full = await make_course_session(db, tenant, course, day=before, capacity=1)
    after = await make_course_session(db, tenant, course, day=s["election"].election_day)
    with tenant_scope(tenant.id):
        await book_person(db, ACTOR, letterhead(tenant), full.id, seated.id)
        await book_person(
            db, ACTOR, letterhead(tenant), full.id, waiting.id, join_waiting_list=True
        )
        await book_person(db, ACTOR, letterhead(tenant), after.id, late.id)

    standing = await _standing(db, tenant, waiting)
    assert [c.status for c in standing.courses] == ["waiting"]
    assert standing.blocks[0].startswith("On the waiting list for Grundkurs")
    standing = await _standing(db, tenant, late)
    assert [c.status for c in standing.courses] == ["late"]
    assert standing.blocks[0].startswith("Booked on Grundkurs only on or after election day")


async def test_it_says_placed_reserve_inactive_and_no_days(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    election = s["election"]
    placed = await make_clerk(db, tenant, election)
    idle = await make_clerk(db, tenant, election, kinds=(), status="inactive")
    with tenant_scope(tenant.id):
        await assign_person(db, ACTOR, s["early"].id, s["roles"]["clerk"].id, placed.id)
        await add_reserve(db, ACTOR, election.id, placed.id, None, "")

    standing = await _standing(db, tenant, placed)
    assert standing.placed and standing.reserve and standing.blocks == []
    assert [p.station for p in standing.places] == ["Hamnskolan"]
    # No availability: the standing is asked for the elections applied to.
    with tenant_scope(tenant.id), locale_scope("en"):
        [standing] = await person_standing(db, idle, local_today(tenant), [election.id])
    assert standing.blocks == [
        "Not active in the register: only active people can be placed.",
        "Has not said which days they can work in this election (a planner may override).",
    ]


async def test_the_place_form_lists_open_places_with_the_boards_rules(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    await make_course(db, tenant, s["election"], name="Ordförandekurs", roles=("chair",))
    with tenant_scope(tenant.id), locale_scope("en"):
        choices = await placing.open_places_for(
            db, person, s["election"].id, s["district"].id, {s["election"].election_day}
        )
        first = await placing.first_area(db, person.id, s["election"], [s["district"]])
    found = {(c.slot.shift.id, c.slot.role.code): c for c in choices}
    assert set(found) == {
        (s["early"].id, "chair"),
        (s["early"].id, "clerk"),
        (s["late"].id, "vice_chair"),
        (s["late"].id, "clerk"),
    }
    assert found[(s["early"].id, "chair")].blocked  # the chair's course is missing
    assert not found[(s["early"].id, "clerk")].blocked
    assert found[(s["early"].id, "clerk")].broken == []
    assert first == s["district"].id


async def test_an_election_without_places_says_so(db: AsyncSession, tenant: Tenant) -> None:
    election = await make_open_election(db, tenant)
    person = await make_clerk(db, tenant, election)

    standing = await _standing(db, tenant, person)

    assert standing.roles == [] and standing.courses == []
    assert standing.blocks == ["The election has no places yet: no shift has a staffing norm."]
