"""Reserves on the planning pages: the optimiser's form offers to include them, its
review says how many were kept back, and the reserves page shows a reserve's regular
place."""

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import AutostaffRun
from app.domain.staffing.assignments import add_reserve, assign_person
from tests.factories import login, make_clerk, make_staffed_station, post_form

ACTOR = Actor.system("t")


async def test_the_optimiser_keeps_reserves_back_unless_asked(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    election = s["election"]
    reserve = await make_clerk(db, tenant, election, first_name="Reserva")
    await make_clerk(db, tenant, election, first_name="Vanlig")
    with tenant_scope(tenant.id):
        await add_reserve(db, ACTOR, election.id, reserve.id, None, "")
    planner.locale = "en"
    await db.commit()
    await login(client, planner)
    base = f"/lund/planning/elections/{election.id}"
    board = await (await client.get(f"{base}/staffing")).get_data(as_text=True)
    assert 'name="include_reserves"' in board

    kept = await post_form(client, f"{base}/autostaff", {})
    review = await (await client.get(kept.headers["Location"])).get_data(as_text=True)
    assert "1 kept back for election day." in review
    assert "Reserva" not in review and "Vanlig" in review

    included = await post_form(client, f"{base}/autostaff", {"include_reserves": "1"})
    review = await (await client.get(included.headers["Location"])).get_data(as_text=True)
    assert "Included: 1 proposed for a regular place." in review
    assert "Reserva" in review
    with tenant_scope(tenant.id):
        runs = list(await db.scalars(select(AutostaffRun).order_by(AutostaffRun.id)))
    assert [run.costs["reserves_included"] for run in runs] == [0, 1]


async def test_the_reserves_page_shows_a_reserves_regular_place(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    election = s["election"]
    reserve = await make_clerk(db, tenant, election, first_name="Reserva")
    with tenant_scope(tenant.id):
        await add_reserve(db, ACTOR, election.id, reserve.id, None, "")
        await assign_person(db, ACTOR, s["early"].id, s["roles"]["clerk"].id, reserve.id)
    planner.locale = "en"
    await db.commit()
    await login(client, planner)
    page = await client.get(f"/lund/planning/elections/{election.id}/reserves")
    body = await page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Also has a regular place, so is not free to be sent: Hamnskolan" in body
