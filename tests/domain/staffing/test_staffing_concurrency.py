"""Two planners acting at the same moment never produce a double booking, on PostgreSQL
(row locks) and on SQLite (one writer at a time)."""

import asyncio
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment
from app.domain.staffing import assignments
from app.domain.staffing.assignments import StaffingError
from tests.factories import make_clerk, make_staffed_station


async def _race(
    session_factory: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    attempts: list[tuple[int, int, int]],
) -> list[Any]:
    """Run each (shift, role, person) assignment in its own session, all at once."""
    start = asyncio.Event()

    async def attempt(shift_id: int, role_id: int, person_id: int) -> Any:
        with tenant_scope(tenant.id):
            async with session_factory() as session:
                await start.wait()
                try:
                    return await assignments.assign_person(
                        session, Actor(label="planner"), shift_id, role_id, person_id
                    )
                except StaffingError as error:
                    return error

    tasks = [asyncio.create_task(attempt(*args)) for args in attempts]
    await asyncio.sleep(0.05)
    start.set()
    return await asyncio.gather(*tasks)


async def test_it_books_a_person_on_only_one_of_two_overlapping_shifts_at_once(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant
) -> None:
    first = await make_staffed_station(db, tenant)
    second = await make_staffed_station(db, tenant, first["election"], name="Biblioteket")
    person = await make_clerk(db, tenant, first["election"])
    clerk = first["roles"]["clerk"].id
    results = await _race(
        session_factory,
        tenant,
        [(first["early"].id, clerk, person.id), (second["early"].id, clerk, person.id)],
    )
    assert sorted(type(r).__name__ for r in results) == ["Assignment", "StaffingError"]
    refused = next(r for r in results if isinstance(r, StaffingError))
    assert [b.rule for b in refused.broken] == ["overlap"]
    with tenant_scope(tenant.id):
        count = await db.scalar(select(func.count(Assignment.id)))
    assert count == 1


async def test_it_gives_the_last_place_to_exactly_one_planner(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant
) -> None:
    station = await make_staffed_station(db, tenant)
    chair = station["roles"]["chair"].id  # one place on the early shift
    people = [await make_clerk(db, tenant, station["election"]) for _ in range(4)]
    results = await _race(
        session_factory, tenant, [(station["early"].id, chair, p.id) for p in people]
    )
    assert sum(isinstance(r, Assignment) for r in results) == 1
    assert all(
        [b.rule for b in r.broken] == ["norm"] for r in results if isinstance(r, StaffingError)
    )
