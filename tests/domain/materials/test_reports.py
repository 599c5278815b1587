"""The materials report: needed, packed, delivered and returned per station and per
article, and what is still out, as a delivery goes from planned to counted back."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.materials import deliveries, packing
from app.domain.materials.reports import Counts, materials_report
from app.domain.models import MaterialDelivery, MaterialDeliveryLine
from tests.domain.materials.delivery_helpers import (
    LOGISTICS,
    line_ids,
    packed_delivery,
    stocked_day,
)
from tests.factories import make_election


async def test_counts_follow_a_delivery_from_planned_to_counted_back(
    db: AsyncSession, tenant: Tenant
) -> None:
    stocked = await stocked_day(db, tenant)
    election = stocked.day.election_id
    with tenant_scope(tenant.id):
        planned = await materials_report(db, election)
        # Needs alone: nothing packed yet, a station without a delivery still listed.
        assert [s.counts for s in planned.stations] == [Counts(needed=402)]
        await packing.plan_deliveries(db, LOGISTICS, election)
        again = await materials_report(db, election)
        # Planned lines carry the needs as a proposal: not packed until packed.
        assert again.total == Counts(needed=402)
        assert again.stations[0].state == "planned"
    delivery_id, _code = await packed_delivery(db, tenant, stocked)
    with tenant_scope(tenant.id):
        packed = await materials_report(db, election)
        assert packed.total == Counts(needed=402, packed=402)
        assert packed.still_out == []
        # The lead confirms 390 ballot papers of 400 and both screens.
        delivery = await db.scalar(select(MaterialDelivery))
        assert delivery is not None
        delivery.state, delivery.delivered_by_label = "delivered", "Ordförande Olsson"
        for line in await db.scalars(select(MaterialDeliveryLine)):
            line.delivered = 390 if line.packed == 400 else line.packed
        await db.commit()
        out = await materials_report(db, election)
        assert out.total == Counts(needed=402, packed=402, delivered=392, out=392)
        by_article = {a.article: a.counts for a in out.articles}
        assert by_article["Valsedel S"].out == 390 and by_article["Valskärm"].out == 2
        assert {(o.article, o.out, o.had_by) for o in out.still_out} == {
            ("Valsedel S", 390, "Ordförande Olsson"),
            ("Valskärm", 2, "Ordförande Olsson"),
        }
    ballots, first_screen, second_screen = await line_ids(db, tenant, delivery_id)
    with tenant_scope(tenant.id):
        await deliveries.count_return(
            db,
            LOGISTICS,
            delivery_id,
            returned={
                f"returned-{ballots}": "380",
                f"returned-{first_screen}": "1",
                f"returned-{second_screen}": "0",
            },
            damaged={f"damaged-{second_screen}": "1"},
        )
        back = await materials_report(db, election)
        assert back.total == Counts(
            needed=402, packed=402, delivered=392, returned=381, missing=10, damaged=1, out=10
        )
        assert [(o.article, o.out, o.state) for o in back.still_out] == [
            ("Valsedel S", 10, "returned")
        ]
        # Another election of the municipality has none of it.
        other = await make_election(db, tenant, name="Extraval")
        empty = await materials_report(db, other.id)
        assert (empty.stations, empty.articles, empty.still_out) == ([], [], [])
