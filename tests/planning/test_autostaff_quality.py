"""The optimiser's review says how good the proposal is ("optimal" or the gap to a proven
bound) and why each place it leaves open stays empty, in the planner's language."""

from __future__ import annotations

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.autostaff import create_run
from app.domain.models import AutostaffRun
from tests.factories import login, make_clerk, make_staffed_station

ACTOR = Actor.system("test")


async def test_the_review_says_optimal_and_why_places_stay_open(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    # Two people for seven places, neither with more than election day: the late
    # shift's counting is nobody's.
    for _ in range(2):
        await make_clerk(db, tenant, s["election"], kinds=("election_day",))
    with tenant_scope(tenant.id):
        run = await create_run(db, ACTOR, s["election"].id)
    assert run.costs["optimal"] == 1 and run.costs["gap_percent"] == 0
    unfilled = run.costs["unfilled"]
    assert {row[3] for row in unfilled if row[0] == s["late"].id} == {"nobody_available"}
    assert {row[3] for row in unfilled if row[0] == s["early"].id} == {"all_placed"}
    await login(client, planner)

    body = await (
        await client.get(f"/lund/planning/elections/{s['election'].id}/autostaff/{run.id}")
    ).get_data(as_text=True)

    assert "<strong>Optimalt</strong>" in body
    assert "Platser som lämnas öppna och varför" in body
    assert "Ingen kan arbeta den dagen" in body
    assert "Alla som kunde är placerade på annat håll den dagen" in body


async def test_the_review_shows_the_gap_of_a_run_stopped_at_its_time_limit(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    with tenant_scope(tenant.id):
        run = AutostaffRun(
            election_id=s["election"].id,
            status="pending",
            items=[],
            costs={"total": 10_000, "optimal": 0, "bound": 9_995, "gap_percent": 0.05},
            seconds=10.0,
            created_by_label="test",
        )
        db.add(run)
        await db.commit()
    await login(client, planner)

    body = await (
        await client.get(f"/lund/planning/elections/{s['election'].id}/autostaff/{run.id}")
    ).get_data(as_text=True)

    assert "<strong>Inom 0,05 % från det bästa möjliga</strong>" in body
    assert "Optimalt" not in body


async def test_a_gap_too_small_for_two_decimals_is_shown_not_rounded_away(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    with tenant_scope(tenant.id):
        run = AutostaffRun(
            election_id=s["election"].id,
            status="pending",
            items=[],
            costs={"total": 354_374_450, "optimal": 0, "bound": 354_373_388, "gap_percent": 0.0003},
            seconds=30.0,
            created_by_label="test",
        )
        db.add(run)
        await db.commit()
    await login(client, planner)

    body = await (
        await client.get(f"/lund/planning/elections/{s['election'].id}/autostaff/{run.id}")
    ).get_data(as_text=True)

    assert "<strong>Inom 0,0003 % från det bästa möjliga</strong>" in body
