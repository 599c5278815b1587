"""Reserves stay reserves: the optimiser keeps the election's reserve pool out of regular
places unless the planner includes it, says how many it kept back, and applying a run
that kept them back leaves out someone made a reserve since."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import AuditEntry, Tenant
from app.core.tenancy import tenant_scope
from app.domain import autostaff
from app.domain.staffing.assignments import add_reserve
from app.domain.staffing.reserves import regular_places_of_reserves
from tests.domain.autostaff.test_autostaff import (
    ACTOR,
    EARLY,
    LATE,
    _assignments,
    _at,
    _person,
    _shift,
    _station,
    _world,
)


async def _two_shifts_and_people(db: AsyncSession, tenant: Tenant) -> tuple[object, list[int]]:
    """Four clerk places and four people free for them, the two nearest made reserves."""
    world = await _world(db, tenant)
    school = await _station(db, world, "Skolan", at=_at(0))
    await _shift(db, world, school, "early", EARLY, {"clerk": (2, 2)})
    await _shift(db, world, school, "late", LATE, {"clerk": (2, 2)})
    people = [await _person(db, world, at=_at(km)) for km in range(4)]
    with tenant_scope(world.tenant_id):
        for person_id in people[:2]:
            await add_reserve(db, ACTOR, world.election_id, person_id, None, "")
    return world, people


async def test_it_keeps_the_reserves_out_of_regular_places_by_default(
    db: AsyncSession, tenant: Tenant
) -> None:
    world, people = await _two_shifts_and_people(db, tenant)
    with tenant_scope(world.tenant_id):
        run = await autostaff.create_run(db, ACTOR, world.election_id)
        entry = await db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))

    proposed = {item["person_id"] for item in run.items}
    # The two nearest are reserves: only the other two are proposed, and two places wait.
    assert proposed == set(people[2:])
    assert run.costs["reserves_included"] == 0 and run.costs["reserves_kept_back"] == 2
    assert run.costs["unfilled_below_minimum"] == 2
    assert entry is not None and entry.code == "staffing.autostaff.proposed"
    assert entry.data["reserves_included"] == 0 and entry.data["reserves_kept_back"] == 2


async def test_it_uses_the_reserves_when_the_planner_includes_them(
    db: AsyncSession, tenant: Tenant
) -> None:
    world, people = await _two_shifts_and_people(db, tenant)
    with tenant_scope(world.tenant_id):
        run = await autostaff.create_run(db, ACTOR, world.election_id, include_reserves=True)
        entry = await db.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        written, skipped = await autostaff.apply_run(db, ACTOR, run.id, None)
        # The reserves page then shows the reserves' regular places.
        places = await regular_places_of_reserves(db, world.election_id)

    assert {item["person_id"] for item in run.items} == set(people)
    assert run.costs["reserves_included"] == 1 and run.costs["reserves_kept_back"] == 0
    assert entry is not None and entry.data["reserves_included"] == 1
    assert (written, skipped) == (4, [])
    assert set(places) == set(people[:2])
    assert all(place.state == "proposed" for place in places[people[0]])


async def test_applying_leaves_out_someone_made_a_reserve_since_the_run(
    db: AsyncSession, tenant: Tenant
) -> None:
    world, people = await _two_shifts_and_people(db, tenant)
    with tenant_scope(world.tenant_id):
        run = await autostaff.create_run(db, ACTOR, world.election_id)
        await add_reserve(db, ACTOR, world.election_id, people[2], None, "")
        index = next(i for i, item in enumerate(run.items) if item["person_id"] == people[2])

        written, skipped = await autostaff.apply_run(db, ACTOR, run.id, None)

    assert written == 1
    assert [i for i, _reason in skipped] == [index]
    assert "reserve" in skipped[0][1]
    assert {a.person_id for a in await _assignments(db, world)} == {people[3]}
