"""Packing, delivery and return: planned from the needs, packed in crates, confirmed by
the station's lead by the crates' code (counts corrected), counted back at the depot
with what is missing flagged with the lead who had it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.materials import deliveries, packing
from app.domain.models import (
    MaterialAsset,
    MaterialDelivery,
    MaterialDeliveryLine,
    MaterialRun,
    Person,
)
from app.domain.ops import OpsForbidden
from tests.domain.materials.delivery_helpers import (
    LOGISTICS,
    line_ids,
    packed_delivery,
    stocked_day,
)
from tests.domain.ops.test_checkins import link_user


async def test_it_plans_a_line_per_consumable_and_per_piece_of_equipment(
    db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    stocked = await stocked_day(db, tenant)
    with tenant_scope(tenant.id):
        assert await packing.plan_deliveries(db, LOGISTICS, stocked.day.election_id) == 1
        assert await packing.plan_deliveries(db, LOGISTICS, stocked.day.election_id) == 1
        (row,) = await packing.deliveries_of_election(db, stocked.day.election_id)
        lines = await packing.delivery_lines(db, row.delivery.id)
        assert len(row.delivery.code) >= 16 and not row.delivery.code.isdigit()
        with pytest.raises(packing.LogisticsForbidden):
            await packing.plan_deliveries(db, Actor.for_user(clerk), stocked.day.election_id)
    assert [(line.article, line.line.needed) for line in lines] == [
        ("Valsedel S", 400),
        ("Valskärm", 1),
        ("Valskärm", 1),
    ]


async def test_the_lead_confirms_by_code_and_the_return_flags_who_had_the_missing(
    db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    stocked = await stocked_day(db, tenant)
    await link_user(db, tenant, stocked.day.chair_id, clerk)
    delivery_id, code = await packed_delivery(db, tenant, stocked)
    ballots, screen, _screen2 = await line_ids(db, tenant, delivery_id)
    lead = Actor.for_user(clerk)
    counts = {f"line-{i}": "1" for i in (ballots, screen, _screen2)} | {f"line-{ballots}": "300"}
    with tenant_scope(tenant.id):
        with pytest.raises(FieldErrors) as negative:
            await deliveries.confirm_delivery(
                db, lead, code, counts={**counts, f"line-{screen}": "-1"}
            )
        assert set(negative.value.errors) == {f"line-{screen}"}
        with pytest.raises(NotFound):
            await deliveries.confirm_delivery(db, lead, "not-a-code", counts=counts)
        delivery = await deliveries.confirm_delivery(db, lead, code, counts=counts)
        assert delivery.state == "delivered" and delivery.delivered_at is not None
        with pytest.raises(packing.DeliveryError):
            await deliveries.confirm_delivery(db, lead, code, counts=counts)
        with pytest.raises(FieldErrors) as too_many:
            await deliveries.count_return(
                db, LOGISTICS, delivery_id,
                returned={f"returned-{ballots}": "301", f"returned-{screen}": "1", f"returned-{_screen2}": "0"},
                damaged={},
            )  # fmt: skip
        assert set(too_many.value.errors) == {f"returned-{ballots}"}
        assert await db.scalar(select(MaterialDelivery.state)) == "delivered"
        await deliveries.count_return(
            db, LOGISTICS, delivery_id,
            returned={f"returned-{ballots}": "120", f"returned-{screen}": "1", f"returned-{_screen2}": "0"},
            damaged={f"damaged-{screen}": "0", f"damaged-{_screen2}": "0"},
        )  # fmt: skip
        missing = await deliveries.not_returned(db, stocked.day.election_id)
        delivered = await db.scalar(
            select(MaterialDeliveryLine.delivered).where(MaterialDeliveryLine.id == ballots)
        )
    assert delivered == 300  # the lead's corrected count, not the 400 packed
    assert [(m.article, m.missing, m.damaged) for m in missing] == [
        ("Valsedel S", 180, 0),
        ("Valskärm", 1, 0),
    ]
    with tenant_scope(tenant.id):
        chair = await db.scalar(select(Person).where(Person.id == stocked.day.chair_id))
    assert chair is not None
    assert {m.had_by for m in missing} == {f"{chair.first_name} {chair.last_name}"}


async def test_a_clerk_not_leading_and_another_municipality_cannot_use_the_code(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, clerk: User, outsider: User
) -> None:
    stocked = await stocked_day(db, tenant)
    await link_user(db, tenant, stocked.day.clerk_ids[0], clerk)
    _delivery_id, code = await packed_delivery(db, tenant, stocked)
    with tenant_scope(tenant.id):
        with pytest.raises(OpsForbidden):  # of the team, but not its chair
            await deliveries.confirm_delivery(db, Actor.for_user(clerk), code, counts={})
        with pytest.raises(NotFound):
            await deliveries.delivery_by_code(db, Actor.for_user(outsider), code)
    with tenant_scope(other_tenant.id), pytest.raises(NotFound):
        await deliveries.delivery_by_code(db, Actor(label="system"), code)


async def test_runs_group_the_deliveries_by_district_and_name_the_driver(
    db: AsyncSession, tenant: Tenant
) -> None:
    stocked = await stocked_day(db, tenant)
    await packed_delivery(db, tenant, stocked)
    with tenant_scope(tenant.id):
        assert await packing.plan_runs(db, LOGISTICS, stocked.day.election_id) == 1
        assert await packing.plan_runs(db, LOGISTICS, stocked.day.election_id) == 0
        (shown,) = await packing.runs_of_election(db, stocked.day.election_id)
        with pytest.raises(FieldErrors) as bad:
            await packing.update_run(
                db, LOGISTICS, shown.run.id, driver_name="Ali", driver_phone="ring mig", day=""
            )
        assert set(bad.value.errors) == {"driver_phone"}
        await packing.update_run(
            db, LOGISTICS, shown.run.id, driver_name="Ali", driver_phone="070-123 45 67", day=""
        )
        assert await db.scalar(select(func.count(MaterialRun.id))) == 1
    assert len(shown.deliveries) == 1 and shown.district is not None


async def test_a_tracked_screen_goes_out_when_packed_and_is_missing_when_not_back(
    db: AsyncSession, tenant: Tenant
) -> None:
    stocked = await stocked_day(db, tenant)
    with tenant_scope(tenant.id):
        db.add_all(
            [
                MaterialAsset(article_id=stocked.screen_id, tag="VS-1"),
                MaterialAsset(article_id=stocked.screen_id, tag="VS-2"),
            ]
        )
        await db.commit()
        await packing.plan_deliveries(db, LOGISTICS, stocked.day.election_id)
        (row,) = await packing.deliveries_of_election(db, stocked.day.election_id)
        delivery_id = row.delivery.id
    ballots, first, second = await line_ids(db, tenant, delivery_id)
    counts = {f"line-{ballots}": "400", f"line-{first}": "1", f"line-{second}": "1"}
    with tenant_scope(tenant.id):
        for tags, field in (({f"tag-{first}": "VS-9"}, f"tag-{first}"),
                            ({f"tag-{first}": "VS-1", f"tag-{second}": "VS-1"}, f"tag-{second}")):  # fmt: skip
            with pytest.raises(FieldErrors) as refused:
                await packing.pack_delivery(db, LOGISTICS, delivery_id, counts=counts, tags=tags)
            assert field in refused.value.errors
        tags = {f"tag-{first}": "VS-1", f"tag-{second}": "VS-2"}
        await packing.pack_delivery(db, LOGISTICS, delivery_id, counts=counts, tags=tags)
        states = dict((await db.execute(select(MaterialAsset.tag, MaterialAsset.state))).all())
        assert states == {"VS-1": "out", "VS-2": "out"}
        delivery = await db.scalar(select(MaterialDelivery))
        assert delivery is not None
        delivery.state = "delivered"
        for line in await db.scalars(select(MaterialDeliveryLine)):
            line.delivered = line.packed
        await db.commit()
        await deliveries.count_return(
            db, LOGISTICS, delivery_id,
            returned={f"returned-{ballots}": "0", f"returned-{first}": "1", f"returned-{second}": "0"},
            damaged={},
        )  # fmt: skip
        states = dict((await db.execute(select(MaterialAsset.tag, MaterialAsset.state))).all())
    assert states == {"VS-1": "in_stock", "VS-2": "missing"}
