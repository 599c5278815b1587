"""Decimals on the planning pages are written the reader's way: "1,5 s" and "1,5 km" on
a Swedish page, not "1.5" (found walking the demo as a newcomer: the optimiser's review
said "Beräknat på 1.2 s", the place panel "· 2.6 km")."""

from __future__ import annotations

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import AutostaffRun
from tests.factories import locate_station, login, make_clerk, make_staffed_station, post_form

HTMX = {"HX-Request": "true"}


async def test_the_review_writes_its_seconds_with_a_decimal_comma_in_swedish(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    with tenant_scope(tenant.id):
        run = AutostaffRun(
            election_id=s["election"].id,
            status="pending",
            items=[],
            costs={"places": 0, "filled": 0, "unfilled_below_minimum": 0},
            seconds=1.5,
            created_by_label="test",
        )
        db.add(run)
        await db.commit()
    await login(client, planner)
    await post_form(client, "/lang", {"lang": "sv"})

    response = await client.get(f"/lund/planning/elections/{s['election'].id}/autostaff/{run.id}")
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Beräknat på 1,5 s." in body


async def test_the_place_panel_writes_distances_with_a_decimal_comma_in_swedish(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await locate_station(db, tenant, s["station"].id)
    near = await make_clerk(db, tenant, s["election"], first_name="Nära", last_name="Granne")
    with tenant_scope(tenant.id):
        near = await db.merge(near)
        near.latitude, near.longitude = 55.7135, 13.19  # about 1.5 km north
        await db.commit()
    await login(client, planner)
    await post_form(client, "/lang", {"lang": "sv"})

    base = f"/lund/planning/elections/{s['election'].id}/staffing"
    place = f"shift={s['early'].id}&role={s['roles']['clerk'].id}"
    response = await client.get(f"{base}/place?{place}&results=1&q=Granne", headers=HTMX)
    text = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nära Granne" in text
    assert "· 1,5 km" in text
