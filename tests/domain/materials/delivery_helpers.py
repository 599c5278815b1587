"""A station's election day with a catalogue and a packed delivery, for the materials
tests of packing, delivery, return and shortages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.materials import packing
from app.domain.models import MaterialArticle, MaterialDeliveryLine, MaterialNeed
from tests.domain.ops.test_checkins import OpsDay, ops_day

LOGISTICS = Actor(label="logistik@lund.test")


@dataclass(frozen=True)
class Stocked:
    day: OpsDay
    ballots_id: int
    screen_id: int


async def stocked_day(db: AsyncSession, tenant: Tenant) -> Stocked:
    """The ops day's station needing 400 ballot papers and two voting screens."""
    day = await ops_day(db, tenant)
    with tenant_scope(tenant.id):
        ballots = MaterialArticle(name="Valsedel S", unit="st", kind="consumable", pack_size=100)
        screen = MaterialArticle(
            name="Valskärm", unit="st", kind="equipment", category="voting_screen"
        )
        db.add_all([ballots, screen])
        await db.flush()
        db.add_all(
            [
                MaterialNeed(
                    election_id=day.election_id,
                    station_id=day.station_id,
                    article_id=ballots.id,
                    quantity=400,
                ),
                MaterialNeed(
                    election_id=day.election_id,
                    station_id=day.station_id,
                    article_id=screen.id,
                    quantity=2,
                ),
            ]
        )
        await db.commit()
        return Stocked(day, ballots.id, screen.id)


async def line_ids(db: AsyncSession, tenant: Tenant, delivery_id: int) -> list[int]:
    with tenant_scope(tenant.id):
        return list(
            await db.scalars(
                select(MaterialDeliveryLine.id)
                .where(MaterialDeliveryLine.delivery_id == delivery_id)
                .order_by(MaterialDeliveryLine.id)
            )
        )


async def packed_delivery(db: AsyncSession, tenant: Tenant, stocked: Stocked) -> tuple[int, str]:
    """Plan and pack the station's delivery as needed; its id and code."""
    with tenant_scope(tenant.id):
        await packing.plan_deliveries(db, LOGISTICS, stocked.day.election_id)
        (row,) = await packing.deliveries_of_election(db, stocked.day.election_id)
        delivery_id, code = row.delivery.id, row.delivery.code
    lines = await line_ids(db, tenant, delivery_id)
    with tenant_scope(tenant.id):
        await packing.pack_delivery(
            db,
            LOGISTICS,
            delivery_id,
            counts={f"line-{i}": "400" if n == 0 else "1" for n, i in enumerate(lines)},
            crates="2",
        )
    return delivery_id, code
