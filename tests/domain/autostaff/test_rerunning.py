"""The planner's re-run after a decline, read from the database: only the freed
places' shifts and the people free on their days are loaded, yet every rule that
reaches across days holds (the rest after a place held the evening before, one place
a day), and people that a proposal still pending gives that day are not proposed
again (accepting both would book them twice)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.autostaff.rerunning import rerun_after_declines
from app.domain.models import Assignment, AutostaffRun
from app.domain.staffing.working_rules import save_working_rules
from tests.domain.autostaff.test_autostaff import (
    World,
    _at,
    _hold,
    _person,
    _shift,
    _station,
    _world,
)

ACTOR = Actor.system("test")
MORNING = (dt.time(7, 0), dt.time(12, 0))
AFTERNOON = (dt.time(12, 30), dt.time(19, 0))
EVENING = (dt.time(14, 0), dt.time(22, 0))


def _item(world: World, shift_id: int, person_id: int, applied: bool) -> dict[str, object]:
    return {
        "shift_id": shift_id,
        "role_type_id": world.roles["clerk"],
        "person_id": person_id,
        "cost": 0,
        "reasons": [],
        **({"applied": True} if applied else {}),
    }


async def _run(db: AsyncSession, world: World, status: str, picks: list[tuple[int, int]]) -> int:
    """A proposal of ``picks`` (shift, person), its rows accepted when it is applied."""
    applied = status == "applied"
    with tenant_scope(world.tenant_id):
        run = AutostaffRun(
            election_id=world.election_id,
            status=status,
            items=[_item(world, shift_id, person_id, applied) for shift_id, person_id in picks],
            costs={},
        )
        db.add(run)
        await db.commit()
        return run.id


async def _accepted_then_declined(db: AsyncSession, world: World, *picks: tuple[int, int]) -> int:
    """A proposal whose places were accepted, then declined by their people."""
    run_id = await _run(db, world, "applied", list(picks))
    for shift_id, person_id in picks:
        await _hold(db, world, shift_id, person_id)
        with tenant_scope(world.tenant_id):
            assignment = await db.get(Assignment, await _last_assignment(db))
            assert assignment is not None
            assignment.state = "declined"
            await db.commit()
    return run_id


async def _last_assignment(db: AsyncSession) -> int:
    found = await db.scalar(select(func.max(Assignment.id)))
    assert found is not None
    return int(found)


async def test_a_rerun_keeps_the_rules_across_days_and_leaves_pending_people_alone(
    db: AsyncSession, tenant: Tenant
) -> None:
    world = await _world(db, tenant)
    with tenant_scope(tenant.id):
        await save_working_rules(db, ACTOR, {"min_rest_hours": "11"}, confirmed=True)
    eve = world.day - dt.timedelta(days=1)
    advance = await _station(db, world, "Stadshuset", district=None, at=_at(0))
    school = await _station(db, world, "Skolan", at=_at(0))
    library = await _station(db, world, "Biblioteket", district=1, at=_at(0))
    evening = await _shift(db, world, advance, "evening", EVENING, {"clerk": (0, 1)}, day=eve)
    morning = await _shift(db, world, school, "morning", MORNING, {"clerk": (1, 1)})
    afternoon = await _shift(db, world, library, "afternoon", AFTERNOON, {"clerk": (0, 2)})
    declined = await _person(db, world, at=_at(0))
    # Next door, but held the evening before: nine hours of rest, eleven needed.
    tired = await _person(db, world, at=_at(0.1))
    await _hold(db, world, evening, tired)
    # Next door, but has a place that afternoon (one place a day).
    busy = await _person(db, world, at=_at(0.2))
    await _hold(db, world, afternoon, busy)
    # Next door, free, but a pending proposal gives them the afternoon.
    pending = await _person(db, world, at=_at(0.3))
    waiting = await _run(db, world, "pending", [(afternoon, pending)])
    # Free, far away: the only one left.
    far = await _person(db, world, at=_at(25))
    run_id = await _accepted_then_declined(db, world, (morning, declined))

    with tenant_scope(tenant.id):
        new = await rerun_after_declines(db, ACTOR, run_id)

    assert [(i["shift_id"], i["person_id"]) for i in new.items] == [(morning, far)]
    assert new.costs["changes"] == [[morning, world.roles["clerk"], declined, far]]
    assert new.costs["held_by_pending"] == 1
    assert new.costs["held_by_runs"] == [waiting]
    assert new.costs["optimal"] == 1


async def test_a_rerun_fills_places_freed_on_two_days_keeping_the_rest_between_them(
    db: AsyncSession, tenant: Tenant
) -> None:
    world = await _world(db, tenant)
    with tenant_scope(tenant.id):
        await save_working_rules(db, ACTOR, {"min_rest_hours": "11"}, confirmed=True)
    eve = world.day - dt.timedelta(days=1)
    advance = await _station(db, world, "Stadshuset", district=None, at=_at(0))
    school = await _station(db, world, "Skolan", at=_at(0))
    evening = await _shift(db, world, advance, "evening", EVENING, {"clerk": (1, 1)}, day=eve)
    morning = await _shift(db, world, school, "morning", MORNING, {"clerk": (1, 1)})
    both_days = {eve: ("advance",), world.day: ("election_day", "counting")}
    first, second = await _person(db, world), await _person(db, world)
    # Next door and free both days: may take one of the two places, not both.
    near = await _person(db, world, at=_at(0.1), days=both_days)
    far = await _person(db, world, at=_at(30), days=both_days)
    run_id = await _accepted_then_declined(db, world, (evening, first), (morning, second))

    with tenant_scope(tenant.id):
        new = await rerun_after_declines(db, ACTOR, run_id)

    placed = {(i["shift_id"], i["person_id"]) for i in new.items}
    assert {shift_id for shift_id, _person_id in placed} == {evening, morning}
    assert {person_id for _shift_id, person_id in placed} == {near, far}
    assert new.costs["held_by_pending"] == 0
