"""The office's own roles: added with pay and course, placed only where they may work,
retired without losing their history, deleted only when unused, and ordered."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.elections import norm_templates
from app.domain.elections.norms import set_norms
from app.domain.models import Assignment, CourseRequirement, Election, RoleType, StaffingNorm
from app.domain.registers import roles
from app.domain.staffing.assignments import StaffingError, assign_person
from tests.domain.autostaff.test_autostaff import (
    ACTOR,
    ADVANCE,
    EARLY,
    LATE,
    World,
    _at,
    _person,
    _shift,
    _solve,
    _station,
    _who,
    _world,
)
from tests.factories import make_course


def _form(name: str, *kinds: str, **fields: str) -> dict[str, str]:
    """The add/edit form: where the role may work (all three when none is given)."""
    kinds = kinds or ("election_day", "advance", "counting")
    return {
        "name": name,
        "pay_amount": "3100",
        "pay_unit": "day",
        "work_kinds_shown": "1",
        "counts_toward_minimum": "1",
        **{f"work_{kind}": "1" for kind in kinds},
        **fields,
    }


async def _add(db: AsyncSession, world: World, name: str, *kinds: str, **fields: str) -> RoleType:
    with tenant_scope(world.tenant_id):
        role = await roles.create_role_type(db, ACTOR, _form(name, *kinds, **fields))
    world.roles[role.code] = role.id
    return role


async def _place(db: AsyncSession, world: World, shift_id: int, role: str, person_id: int) -> Any:
    with tenant_scope(world.tenant_id):
        return await assign_person(db, ACTOR, shift_id, world.roles[role], person_id)


async def test_a_team_leader_with_own_pay_and_course_is_filled_by_the_trained_only(
    db: AsyncSession, tenant: Tenant
) -> None:
    world = await _world(db, tenant)
    with tenant_scope(tenant.id):
        election = await db.scalar(select(Election).where(Election.id == world.election_id))
    course = await make_course(db, tenant, election, roles=())
    leader = await _add(
        db, world, "Lagledare", course_id=str(course.id), name_da="Holdleder", name_en="Team leader"
    )
    assert leader.code == "lagledare" and leader.pay_amount == Decimal("3100")
    assert leader.names == {"da": "Holdleder", "en": "Team leader"} and not leader.leads_station
    school = await _station(db, world, "Skolan", at=_at(0))
    early = await _shift(db, world, school, "early", EARLY, {"lagledare": (1, 1)})
    # The untrained live nearest and are experienced: without the course they would lead.
    untrained = await _person(db, world, at=_at(0.1), experience="much")
    trained = await _person(db, world, at=_at(4))
    with tenant_scope(tenant.id):
        from app.domain.courses.qualifications import grant
        from app.domain.models import Course

        held = await db.scalar(select(Course).where(Course.id == course.id))
        # A week ago: a course completed in the past, whatever the hour the test runs.
        week_ago = dt.date.today() - dt.timedelta(days=7)
        await grant(db, ACTOR, trained, held, week_ago, source="manual")
        await db.commit()

    solution = await _solve(db, world)

    assert _who(solution, early) == {trained}
    assert {p.role_type_id for p in solution.picks} == {leader.id}
    with pytest.raises(StaffingError) as refused:
        await _place(db, world, early, "lagledare", untrained)
    assert [b.rule for b in refused.value.broken if b.hard] == ["course"]
    assert not refused.value.overridable
    with tenant_scope(tenant.id):
        requirement = await db.scalar(
            select(CourseRequirement).where(CourseRequirement.role_type_id == leader.id)
        )
        created = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "elections.role_type.created")
        )
    assert requirement is not None and requirement.course_id == course.id
    assert created is not None and created.data["course"] == course.name


async def test_a_role_works_only_where_the_office_lets_it(db: AsyncSession, tenant: Tenant) -> None:
    world = await _world(db, tenant)
    await _add(db, world, "Räknebiträde", "counting")
    code = "raknebitrade"  # from the name, in ASCII: the norm forms' field names
    assert code in world.roles
    school = await _station(db, world, "Skolan", at=_at(0))
    hall = await _station(db, world, "Stadshuset", district=None, at=_at(0))
    early = await _shift(db, world, school, "early", EARLY, {code: (1, 1)})  # no count
    late = await _shift(db, world, school, "late", LATE, {code: (1, 1)})  # runs into the count
    advance = await _shift(db, world, hall, "advance", ADVANCE, {code: (1, 1)})
    people = [await _person(db, world, at=_at(km)) for km in (0.1, 0.2, 0.3)]

    solution = await _solve(db, world)

    assert len(_who(solution, late)) == 1
    assert _who(solution, early) == set() and _who(solution, advance) == set()
    with pytest.raises(StaffingError) as refused:
        await _place(db, world, early, code, people[0])
    assert "role_work" in [b.rule for b in refused.value.broken if b.hard]
    await _place(db, world, late, code, people[0])
    with tenant_scope(tenant.id), pytest.raises(FieldErrors) as norm_refused:
        await set_norms(
            db, ACTOR, world.election_id, school, early, {f"min_{code}": "1", f"target_{code}": "1"}
        )
    assert f"target_{code}" in norm_refused.value.errors
    with tenant_scope(tenant.id), pytest.raises(FieldErrors):
        await norm_templates.save_template(
            db,
            ACTOR,
            {
                "name": "Förmiddag med räkning",
                "station_kind": "polling",
                "shifts": [
                    {"name": "Förmiddag", "starts_at": "07:30", "ends_at": "14:00",
                     "norms": {code: [1, 1]}},
                ],
            },
        )  # fmt: skip


async def test_retiring_hides_a_role_from_new_norms_but_keeps_its_history(
    db: AsyncSession, tenant: Tenant
) -> None:
    world = await _world(db, tenant)
    runner = await _add(db, world, "Materialbud")
    school = await _station(db, world, "Skolan", at=_at(0))
    early = await _shift(db, world, school, "early", EARLY, {"materialbud": (1, 2)})
    late = await _shift(db, world, school, "late", LATE, {"clerk": (1, 1)})
    person = await _person(db, world, at=_at(0.1))
    await _place(db, world, early, "materialbud", person)

    with tenant_scope(tenant.id):
        await roles.set_retired(db, ACTOR, runner.id, True)
        active = [role.code for role in await roles.list_role_types(db, active=True)]
        every = [role.code for role in await roles.list_role_types(db)]
        # Not offered on a shift without it; the shift that has it may still lower it.
        await set_norms(
            db, ACTOR, world.election_id, school, late, {"min_materialbud": "1", "min_clerk": "1"}
        )
        await set_norms(
            db,
            ACTOR,
            world.election_id,
            school,
            early,
            {"min_materialbud": "1", "target_materialbud": "1"},
        )
        norms = {
            (shift_id, minimum, target)
            for shift_id, minimum, target in await db.execute(
                select(StaffingNorm.shift_id, StaffingNorm.minimum, StaffingNorm.target).where(
                    StaffingNorm.role_type_id == runner.id
                )
            )
        }
        kept = await db.scalar(select(Assignment).where(Assignment.role_type_id == runner.id))
    assert "materialbud" not in active and "materialbud" in every
    assert norms == {(early, 1, 1)}
    assert kept is not None and kept.person_id == person
    with tenant_scope(tenant.id), pytest.raises(FieldErrors):
        await norm_templates.save_template(
            db,
            ACTOR,
            {
                "name": "Med bud",
                "station_kind": "polling",
                "shifts": [
                    {"name": "Dag", "starts_at": "07:30", "ends_at": "14:00",
                     "norms": {"materialbud": [1, 1]}},
                ],
            },
        )  # fmt: skip
    with tenant_scope(tenant.id):
        await roles.set_retired(db, ACTOR, runner.id, False)
        assert "materialbud" in [r.code for r in await roles.list_role_types(db, active=True)]
        actions = list(
            await db.scalars(
                select(AuditEntry.code)
                .where(AuditEntry.code.like("elections.role_type.%"))
                .order_by(AuditEntry.id)
            )
        )
    assert actions[-2:] == ["elections.role_type.retired", "elections.role_type.restored"]


async def test_a_used_role_cannot_be_deleted_only_retired_and_an_unused_one_can(
    db: AsyncSession, tenant: Tenant
) -> None:
    world = await _world(db, tenant)
    used = await _add(db, world, "Informationsvärd")
    in_norms = await _add(db, world, "Valnattsrapportör")
    unused = await _add(db, world, "Senior vice ordförande")
    school = await _station(db, world, "Skolan", at=_at(0))
    early = await _shift(
        db, world, school, "early", EARLY, {used.code: (0, 1), in_norms.code: (0, 1)}
    )
    await _place(db, world, early, used.code, await _person(db, world, at=_at(0.1)))

    with tenant_scope(tenant.id), locale_scope("en"):
        with pytest.raises(DomainError) as refused:
            await roles.delete_role_type(db, ACTOR, used.id)
        assert refused.value.message == (
            "Informationsvärd has 1 assignments and cannot be deleted; retire it instead."
        )
        with pytest.raises(DomainError) as in_use:
            await roles.delete_role_type(db, ACTOR, in_norms.id)
        assert "staffing norms of 1 shifts" in in_use.value.message
        await roles.delete_role_type(db, ACTOR, unused.id)
        left = set(await db.scalars(select(RoleType.id)))
        deleted = await db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.code == "elections.role_type.deleted")
        )
    assert used.id in left and in_norms.id in left and unused.id not in left
    assert deleted == 1


async def test_roles_are_ordered_named_once_and_keep_where_they_work_unless_shown(
    db: AsyncSession, tenant: Tenant
) -> None:
    world = await _world(db, tenant)
    leader = await _add(db, world, "Lagledare", "election_day")
    with tenant_scope(tenant.id):
        with pytest.raises(FieldErrors) as taken:
            await roles.create_role_type(db, ACTOR, _form("ordförande"))
        assert "name" in taken.value.errors
        with pytest.raises(FieldErrors) as nowhere:
            await roles.create_role_type(
                db, ACTOR, {**_form("Bud", "election_day"), "work_election_day": ""}
            )
        assert "work_kinds" in nowhere.value.errors
        await roles.move_role_type(db, ACTOR, leader.id, "up")
        await roles.move_role_type(db, ACTOR, leader.id, "up")
        order = [role.code for role in await roles.list_role_types(db)]
        # A form without the work fields (the older one, the API) keeps them as they are.
        await roles.update_role_type(
            db, ACTOR, leader.id, {"name": "Lagledare", "pay_amount": "3200", "pay_unit": "day"}
        )
        await db.refresh(leader)
    assert order == ["chair", "vice_chair", "clerk", "lagledare", "reserve", "host"]
    assert leader.work_kinds == ["election_day"] and leader.pay_amount == Decimal("3200")
