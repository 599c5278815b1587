"""Working-time rules: the most hours a day and the least rest on the board (soft rules
whose override needs a reason), and changing the rules with a confirm step."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.domain.elections.norms import set_norms
from app.domain.elections.shifts import save_shift
from app.domain.elections.stations import save_station
from app.domain.models import Assignment, WorkingRules
from app.domain.staffing import assignments
from app.domain.staffing.assignments import StaffingError
from app.domain.staffing.working_rules import WorkingRulesError, save_working_rules
from app.domain.staffing.working_time import working_time
from tests.factories import make_clerk, make_open_election

ACTOR = Actor(label="planner@lund.test")


async def _day_of_two_shifts(db: AsyncSession, tenant: Tenant) -> dict[str, Any]:
    """Election day at one station: a morning 07:00-12:00 and an afternoon 12:30-19:00
    (5 + 6.5 hours, 30 minutes apart), and the evening before 14:00-22:00 at an advance
    voting station. Each needs one clerk. The times are fixed, so any hour of the test
    run sees the same day ahead."""
    election = await make_open_election(db, tenant)
    day = election.election_day
    with tenant_scope(tenant.id):
        station = await save_station(
            db, ACTOR, election.id, {"name": "Stadshuset", "kind": "advance"}
        )
        shifts = {}
        for name, shift_day, starts, ends in (
            ("morning", day, "07:00", "12:00"),
            ("afternoon", day, "12:30", "19:00"),
            ("eve", day - dt.timedelta(days=1), "14:00", "22:00"),
        ):
            shift = await save_shift(
                db,
                ACTOR,
                election.id,
                station.id,
                {"name": name, "day": str(shift_day), "starts_at": starts, "ends_at": ends},
            )
            await set_norms(
                db,
                ACTOR,
                election.id,
                station.id,
                shift.id,
                {"min_clerk": "1", "target_clerk": "1"},
            )
            shifts[name] = shift.id
        from app.domain.models import RoleType

        clerk_role = await db.scalar(select(RoleType.id).where(RoleType.code == "clerk"))
    person = await make_clerk(db, tenant, election, kinds=("advance",))
    from app.domain.models import Availability

    with tenant_scope(tenant.id):
        db.add(
            Availability(
                person_id=person.id,
                election_id=election.id,
                day=day - dt.timedelta(days=1),
                work_kind="advance",
            )
        )
        await db.commit()
    return {"election": election, "shifts": shifts, "role": clerk_role, "person": person.id}


async def _assign(db: AsyncSession, tenant: Tenant, world: dict[str, Any], shift: str, **kw: Any):
    with tenant_scope(tenant.id), locale_scope("en"):
        return await assignments.assign_person(
            db, ACTOR, world["shifts"][shift], world["role"], world["person"], **kw
        )


async def _set(db: AsyncSession, tenant: Tenant, **form: str) -> Any:
    with tenant_scope(tenant.id), locale_scope("en"):
        return await save_working_rules(db, ACTOR, form, confirmed=True)


async def test_a_ten_hour_day_warns_on_the_board_and_needs_a_reason(
    db: AsyncSession, tenant: Tenant
) -> None:
    world = await _day_of_two_shifts(db, tenant)
    await _set(db, tenant, max_day_hours="10", min_rest_hours="")
    await _assign(db, tenant, world, "morning")

    # The board's panel shows the rule next to the person.
    with tenant_scope(tenant.id), locale_scope("en"):
        slot = await assignments.slot_context(db, world["shifts"]["afternoon"], world["role"])
        broken = (await assignments.broken_rules(db, slot, [await _person(db, world)]))[
            world["person"]
        ]
    assert [(b.rule, b.hard) for b in broken] == [("day_hours", False)]
    assert "11:30 hours" in broken[0].message and "the most is 10" in broken[0].message

    with pytest.raises(StaffingError) as refused:
        await _assign(db, tenant, world, "afternoon")
    assert refused.value.overridable and refused.value.needs_reason
    # An override without a reason is refused too, and writes nothing.
    with pytest.raises(StaffingError):
        await _assign(db, tenant, world, "afternoon", override=True, override_reason="  ")
    with tenant_scope(tenant.id):
        assert (
            await db.scalar(
                select(Assignment.id).where(Assignment.shift_id == world["shifts"]["afternoon"])
            )
            is None
        )

    placed = await _assign(
        db, tenant, world, "afternoon", override=True, override_reason="Nobody else can count"
    )
    assert placed.overrides == ["day_hours"]
    with tenant_scope(tenant.id):
        entry = await db.scalar(
            select(AuditEntry)
            .where(AuditEntry.code == "staffing.assignment.created")
            .order_by(AuditEntry.id.desc())
        )
    assert entry is not None
    assert entry.data["overrides"] == ["day_hours"]
    assert entry.data["override_reason"] == "Nobody else can count"


async def _person(db: AsyncSession, world: dict[str, Any]) -> Any:
    from app.domain.models import Person

    return await db.scalar(select(Person).where(Person.id == world["person"]))


async def test_without_rules_the_same_day_is_placed_without_a_word(
    db: AsyncSession, tenant: Tenant
) -> None:
    world = await _day_of_two_shifts(db, tenant)
    await _assign(db, tenant, world, "morning")
    placed = await _assign(db, tenant, world, "afternoon")
    assert placed.overrides == []


async def test_too_little_rest_after_the_evening_before_is_a_soft_rule(
    db: AsyncSession, tenant: Tenant
) -> None:
    world = await _day_of_two_shifts(db, tenant)
    await _set(db, tenant, max_day_hours="", min_rest_hours="11")
    await _assign(db, tenant, world, "eve")
    with pytest.raises(StaffingError) as refused:
        await _assign(db, tenant, world, "morning")
    assert [b.rule for b in refused.value.broken] == ["rest"]
    assert "Only 9 hours of rest next to 14:00–22:00" in refused.value.message
    # The half hour between morning and afternoon is too little rest as well.
    placed = await _assign(db, tenant, world, "morning", override=True, override_reason="Storm")
    assert placed.overrides == ["rest"]


async def test_a_rule_that_breaks_places_held_lists_them_before_it_is_saved(
    db: AsyncSession, tenant: Tenant
) -> None:
    world = await _day_of_two_shifts(db, tenant)
    await _assign(db, tenant, world, "morning")
    await _assign(db, tenant, world, "afternoon")

    with tenant_scope(tenant.id), locale_scope("en"):
        change = await save_working_rules(db, ACTOR, {"max_day_hours": "10"})
        assert not change.saved and change.total_breaking == 2
        assert {p.booking.shift_id for p in change.breaking} == {
            world["shifts"]["morning"],
            world["shifts"]["afternoon"],
        }
        assert all(p.broken[0].rule == "day_hours" for p in change.breaking)
        assert await db.scalar(select(WorkingRules.id)) is None
        assert (await working_time(db)).max_day_minutes is None

        # A limit nothing breaks is saved at once.
        loose = await save_working_rules(db, ACTOR, {"max_day_hours": "12"})
        assert loose.saved and loose.total_breaking == 0
        assert (await working_time(db)).max_day_minutes == 12 * 60

        confirmed = await save_working_rules(
            db, ACTOR, {"max_day_hours": "10", "min_rest_hours": "0,5"}, confirmed=True
        )
        assert confirmed.saved
        limits = await working_time(db)
        assert (limits.max_day_minutes, limits.min_rest_minutes) == (600, 30)
        entry = await db.scalar(
            select(AuditEntry)
            .where(AuditEntry.code == "staffing.working_time.changed")
            .order_by(AuditEntry.id.desc())
        )
        assert entry is not None and entry.data["places_breaking"] == 2
        # The places stay.
        held = await db.scalars(
            select(Assignment.id).where(Assignment.person_id == world["person"])
        )
        assert len(list(held)) == 2


async def test_bad_limits_are_refused_at_their_field_and_nothing_is_saved(
    db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id), locale_scope("en"):
        with pytest.raises(WorkingRulesError) as refused:
            await save_working_rules(db, ACTOR, {"max_day_hours": "ten", "min_rest_hours": "99"})
        assert set(refused.value.errors) == {"max_day_hours", "min_rest_hours"}
        assert await db.scalar(select(WorkingRules.id)) is None
