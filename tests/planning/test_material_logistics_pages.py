"""The depot's pages: packing with its PDFs, counting back, runs with the driver's list,
and the shortages coordinators mark sent and delivered; another municipality's 404."""

from __future__ import annotations

from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.materials import packing, shortages
from app.domain.models import MaterialDelivery, MaterialDeliveryLine, MaterialRun, MaterialShortage
from tests.domain.materials.delivery_helpers import line_ids, packed_delivery, stocked_day
from tests.factories import login, post_form


async def test_a_planner_plans_packs_and_prints_and_a_bad_count_says_where(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    stocked = await stocked_day(db, tenant)
    election = stocked.day.election_id
    await login(client, planner)
    base = f"/lund/planning/materials/elections/{election}"
    assert (await client.get(f"{base}/packing")).status_code == 200
    assert (await post_form(client, f"{base}/packing/plan")).status_code == 302
    with tenant_scope(tenant.id):
        delivery = await db.scalar(select(MaterialDelivery))
        assert delivery is not None
        delivery_id = delivery.id
    lines = await line_ids(db, tenant, delivery_id)
    page = await client.get(f"{base}/deliveries/{delivery_id}")
    assert page.status_code == 200
    counts = {f"line-{i}": "1" for i in lines} | {"crates": "2", f"line-{lines[0]}": "-5"}
    refused = await post_form(client, f"{base}/deliveries/{delivery_id}/pack", counts)
    body = await refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f'id="field-line-{lines[0]}"' in body and 'aria-invalid="true"' in body
    with tenant_scope(tenant.id):
        assert await db.scalar(select(MaterialDelivery.state)) == "planned"
    counts[f"line-{lines[0]}"] = "400"
    assert (
        await post_form(client, f"{base}/deliveries/{delivery_id}/pack", counts)
    ).status_code == 302
    one = await client.get(f"{base}/deliveries/{delivery_id}/list.pdf")
    every = await client.get(f"{base}/packing/lists.pdf")
    assert one.status_code == every.status_code == 200
    assert (await one.get_data()).startswith(b"%PDF") and one.content_type == "application/pdf"
    with tenant_scope(tenant.id):
        assert await db.scalar(select(MaterialDelivery.crates)) == 2


async def test_the_return_is_counted_and_what_is_missing_is_listed(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    stocked = await stocked_day(db, tenant)
    delivery_id, _code = await packed_delivery(db, tenant, stocked)
    lines = await line_ids(db, tenant, delivery_id)
    with tenant_scope(tenant.id):
        delivery = await db.scalar(select(MaterialDelivery))
        assert delivery is not None
        # Confirmed at the station (the lead's side is tests/portal/test_material_delivery).
        delivery.state = "delivered"
        for line in await db.scalars(select(MaterialDeliveryLine)):
            line.delivered = line.packed
        await db.commit()
    await login(client, planner)
    base = f"/lund/planning/materials/elections/{stocked.day.election_id}"
    too_many = {
        f"returned-{lines[0]}": "999",
        f"returned-{lines[1]}": "1",
        f"returned-{lines[2]}": "0",
    }
    refused = await post_form(client, f"{base}/deliveries/{delivery_id}/return", too_many)
    assert refused.status_code == 422
    assert "Mer än som levererades (400)." in await refused.get_data(as_text=True)
    counted = too_many | {f"returned-{lines[0]}": "390"}
    assert (
        await post_form(client, f"{base}/deliveries/{delivery_id}/return", counted)
    ).status_code == 302
    page = await (await client.get(f"{base}/packing")).get_data(as_text=True)
    assert "Valskärm" in page and ">10<" in page


async def test_runs_get_a_driver_and_a_driver_list(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    stocked = await stocked_day(db, tenant)
    await packed_delivery(db, tenant, stocked)
    await login(client, planner)
    base = f"/lund/planning/materials/elections/{stocked.day.election_id}"
    assert (await post_form(client, f"{base}/runs/plan")).status_code == 302
    with tenant_scope(tenant.id):
        run_id = await db.scalar(select(MaterialRun.id))
    refused = await post_form(
        client, f"{base}/runs/{run_id}", {"driver_name": "Ali", "driver_phone": "ring"}
    )
    assert refused.status_code == 422
    saved = await post_form(
        client,
        f"{base}/runs/{run_id}",
        {"driver_name": "Ali", "driver_phone": "070-1234567", "day": ""},
    )
    assert saved.status_code == 302
    assert "Ali" in await (await client.get(f"{base}/runs")).get_data(as_text=True)
    pdf = await client.get(f"{base}/runs/{run_id}/driver.pdf")
    assert pdf.status_code == 200 and (await pdf.get_data()).startswith(b"%PDF")


async def test_a_coordinator_marks_a_shortage_sent_then_delivered(
    client: QuartClient, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    stocked = await stocked_day(db, tenant)
    with tenant_scope(tenant.id):
        shortage = await shortages.report_shortage(
            db, Actor.system("test"), stocked.day.station_id, text="Pennor"
        )
        shortage_id = shortage.id
    await login(client, coordinator)
    base = f"/lund/planning/materials/elections/{stocked.day.election_id}/shortages"
    page = await (await client.get(base)).get_data(as_text=True)
    assert "Pennor" in page
    assert (await post_form(client, f"{base}/{shortage_id}", {"state": "sent"})).status_code == 302
    assert (
        await post_form(client, f"{base}/{shortage_id}", {"state": "delivered"})
    ).status_code == 302
    again = await post_form(client, f"{base}/{shortage_id}", {"state": "sent"})
    assert again.status_code == 302  # refused: a message, nothing changed
    with tenant_scope(tenant.id):
        assert await db.scalar(select(MaterialShortage.state)) == "delivered"


async def test_an_outsider_gets_404_and_a_coordinator_may_not_pack(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User, coordinator: User
) -> None:
    stocked = await stocked_day(db, tenant)
    delivery_id, _code = await packed_delivery(db, tenant, stocked)
    with tenant_scope(tenant.id):
        await packing.plan_runs(db, Actor.system("test"), stocked.day.election_id)
        run_id = await db.scalar(select(MaterialRun.id))
        shortage = await shortages.report_shortage(
            db, Actor.system("test"), stocked.day.station_id, text="Pennor"
        )
        shortage_id = shortage.id
    base = f"/lund/planning/materials/elections/{stocked.day.election_id}"
    await login(client, outsider)
    for path in (
        f"{base}/packing",
        f"{base}/packing/lists.pdf",
        f"{base}/deliveries/{delivery_id}",
        f"{base}/deliveries/{delivery_id}/list.pdf",
        f"{base}/runs",
        f"{base}/runs/{run_id}/driver.pdf",
        f"{base}/shortages",
    ):
        assert (await client.get(path)).status_code == 404, path
    assert (
        await post_form(client, f"{base}/shortages/{shortage_id}", {"state": "sent"})
    ).status_code == 404
    await login(client, coordinator)
    assert (await post_form(client, f"{base}/packing/plan")).status_code == 403
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(MaterialShortage.id))) == 1
