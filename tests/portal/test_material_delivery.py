"""The chair's phone: the station's materials on the election-day page (report a
shortage), and the delivery opened by a crate's code (confirm or correct the counts)."""

from __future__ import annotations

from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.materials import packing
from app.domain.models import (
    MaterialArticle,
    MaterialDelivery,
    MaterialDeliveryLine,
    MaterialNeed,
    MaterialShortage,
    Station,
)
from tests.domain.materials.delivery_helpers import LOGISTICS, line_ids
from tests.factories import login, post_form
from tests.portal.test_election_day import PAGE, login_en, today_at_station


async def _packed_for(db: AsyncSession, tenant: Tenant, station_id: int) -> tuple[int, str]:
    with tenant_scope(tenant.id):
        station = await db.scalar(select(Station).where(Station.id == station_id))
        assert station is not None
        ballots = MaterialArticle(name="Valsedel S", unit="st")
        db.add(ballots)
        await db.flush()
        db.add(
            MaterialNeed(
                election_id=station.election_id,
                station_id=station.id,
                article_id=ballots.id,
                quantity=400,
            )
        )
        await db.commit()
        await packing.plan_deliveries(db, LOGISTICS, station.election_id)
        delivery = await db.scalar(select(MaterialDelivery))
        assert delivery is not None
        delivery_id, code = delivery.id, delivery.code
    (line,) = await line_ids(db, tenant, delivery_id)
    with tenant_scope(tenant.id):
        await packing.pack_delivery(
            db, LOGISTICS, delivery_id, counts={f"line-{line}": "400"}, crates="1"
        )
    return delivery_id, code


async def test_the_chair_reports_a_shortage_from_the_election_day_page(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    today = await today_at_station(db, tenant, clerk)
    await _packed_for(db, tenant, today.station_id)
    await login_en(client, today.chair)
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert "Report a shortage" in page and ">Valsedel S<" in page
    assert "Confirm the delivery" in page
    url = f"{PAGE}/stations/{today.station_id}/shortages"
    refused = await post_form(client, url, {"article_id": "", "text": ""})
    assert refused.status_code == 422
    assert "Choose what is short, or say it in words." in await refused.get_data(as_text=True)
    with tenant_scope(tenant.id):
        ballots = await db.scalar(select(MaterialArticle.id))
    sent = await post_form(client, url, {"article_id": str(ballots), "text": "Slut"})
    assert sent.status_code == 302
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert "Valsedel S – Slut" in page
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(MaterialShortage.id))) == 1


async def test_the_chair_confirms_the_delivery_by_its_code_and_corrects_a_count(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    today = await today_at_station(db, tenant, clerk)
    delivery_id, code = await _packed_for(db, tenant, today.station_id)
    (line,) = await line_ids(db, tenant, delivery_id)
    await login_en(client, today.chair)
    shown = await client.get(f"/lund/portal/deliveries/{code}?crate=1")
    assert shown.status_code == 200
    assert 'value="400"' in await shown.get_data(as_text=True)
    refused = await post_form(client, f"/lund/portal/deliveries/{code}", {f"line-{line}": "-3"})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in await refused.get_data(as_text=True)
    done = await post_form(client, f"/lund/portal/deliveries/{code}", {f"line-{line}": "350"})
    assert done.status_code == 302
    with tenant_scope(tenant.id):
        delivered = await db.scalar(select(MaterialDeliveryLine.delivered))
        state = await db.scalar(select(MaterialDelivery.state))
    assert (delivered, state) == (350, "delivered")


async def test_a_clerk_sees_no_form_and_an_outsider_or_a_wrong_code_gets_404(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User, outsider: User
) -> None:
    today = await today_at_station(db, tenant, clerk)
    _delivery_id, code = await _packed_for(db, tenant, today.station_id)
    await login(client, clerk)
    refused = await client.get(f"/lund/portal/deliveries/{code}")
    assert refused.status_code == 403  # of the team: may not, but knows the station
    assert (await client.get("/lund/portal/deliveries/not-a-real-code")).status_code == 404
    await login(client, outsider)
    assert (await client.get(f"/lund/portal/deliveries/{code}")).status_code == 404
    assert (await post_form(client, f"/lund/portal/deliveries/{code}", {})).status_code == 404
    shortage = f"{PAGE}/stations/{today.station_id}/shortages"
    assert (await post_form(client, shortage, {"text": "x"})).status_code == 404
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(MaterialShortage.id))) == 0
