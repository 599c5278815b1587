"""The optimiser keeps the municipality's working-time rules: no day longer than the
most hours, no shift too close to a place already held."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain import autostaff
from app.domain.models import Assignment, Shift
from app.domain.staffing.working_rules import save_working_rules
from app.domain.staffing.working_time import shift_minutes
from tests.domain.autostaff.test_autostaff import (
    _hold,
    _person,
    _shift,
    _solve,
    _station,
    _who,
    _world,
)

ACTOR = Actor.system("test")
MORNING = (dt.time(7, 0), dt.time(12, 0))
AFTERNOON = (dt.time(12, 30), dt.time(19, 0))
WHOLE_DAY = (dt.time(7, 0), dt.time(21, 0))
EVENING = (dt.time(14, 0), dt.time(22, 0))


async def _rules(db: AsyncSession, tenant: Tenant, **form: str) -> None:
    with tenant_scope(tenant.id):
        await save_working_rules(db, ACTOR, form, confirmed=True)


async def test_a_ten_hour_day_gives_nobody_more_than_ten_hours(
    db: AsyncSession, tenant: Tenant
) -> None:
    world = await _world(db, tenant)
    school = await _station(db, world, "Skolan")
    library = await _station(db, world, "Biblioteket", district=1)
    whole = await _shift(db, world, school, "whole", WHOLE_DAY, {"clerk": (1, 1)})
    morning = await _shift(db, world, library, "morning", MORNING, {"clerk": (1, 1)})
    afternoon = await _shift(db, world, library, "afternoon", AFTERNOON, {"clerk": (1, 1)})
    people = {await _person(db, world) for _ in range(2)}
    # Without a rule the fourteen-hour shift is filled like any other.
    assert _who(await _solve(db, world), whole)

    await _rules(db, tenant, max_day_hours="10")
    solution = await _solve(db, world)

    assert not _who(solution, whole)
    assert _who(solution) == people
    # The proposal says why the whole day's place stays open.
    with tenant_scope(tenant.id):
        problem = await autostaff.load_problem(db, world.election_id)
    assert problem.places_too_long == 1
    # Nobody's day (the places proposed and held together) is longer than ten hours.
    with tenant_scope(tenant.id):
        times = {
            id_: (day, starts, ends)
            for id_, day, starts, ends in await db.execute(
                select(Shift.id, Shift.day, Shift.starts_at, Shift.ends_at)
            )
        }
        held = list(await db.execute(select(Assignment.person_id, Assignment.shift_id)))
    minutes: dict[tuple[int, dt.date], int] = {}
    for person_id, shift_id in [*((p.person_id, p.shift_id) for p in solution.picks), *held]:
        day, starts, ends = times[shift_id]
        key = (person_id, day)
        minutes[key] = minutes.get(key, 0) + shift_minutes(day, starts, ends)
    assert minutes and max(minutes.values()) <= 600
    assert {p.shift_id for p in solution.picks} == {morning, afternoon}


async def test_it_leaves_too_little_rest_after_a_place_held_the_evening_before(
    db: AsyncSession, tenant: Tenant
) -> None:
    world = await _world(db, tenant)
    advance = await _station(db, world, "Stadshuset", district=None)
    school = await _station(db, world, "Skolan")
    eve = world.day - dt.timedelta(days=1)
    evening = await _shift(db, world, advance, "evening", EVENING, {"clerk": (0, 1)}, day=eve)
    morning = await _shift(db, world, school, "morning", MORNING, {"clerk": (1, 1)})
    tired = await _person(db, world, days={world.day: ("election_day", "counting")})
    await _hold(db, world, evening, tired)
    assert _who(await _solve(db, world), morning) == {tired}

    await _rules(db, tenant, min_rest_hours="11")
    with tenant_scope(tenant.id):
        problem = await autostaff.load_problem(db, world.election_id)
    assert problem.candidate(tired).unfit_shifts == frozenset({morning})
    assert not _who(await _solve(db, world), morning)

    rested = await _person(db, world)
    assert _who(await _solve(db, world), morning) == {rested}
