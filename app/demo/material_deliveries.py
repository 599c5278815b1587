"""The demo's deliveries: every station's delivery planned from the needs, most packed
(the demo clerk's station among them, to confirm on the phone), runs by district with a
driver, two confirmed at their station, one counted back with something missing, and
two shortages of election day (one reported, one on its way)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import User, utcnow
from app.core.tenancy import tenant_scope
from app.domain.materials import deliveries, packing, shortages
from app.domain.models import (
    Assignment,
    MaterialDelivery,
    MaterialDeliveryLine,
    Person,
    RoleType,
)

DRIVERS = (("Ali Hassan", "070-111 22 33"), ("Maja Lind", "070-444 55 66"))
#: At Stockholm scale only the first ones are packed: enough to see every state.
PACKED_AT_MOST = 60


async def fill_deliveries_demo(
    session: AsyncSession, tenant_id: int, election_id: int, clerk_email: str
) -> None:
    actor = Actor.system("demo")
    with tenant_scope(tenant_id):
        await packing.plan_deliveries(session, actor, election_id)
        rows = await packing.deliveries_of_election(session, election_id)
        if not rows:
            return
        led = await _led_by(session, election_id, clerk_email)
        packed = [row for n, row in enumerate(rows) if n % 4 != 3 or row.station.id == led]
        for row in packed[:PACKED_AT_MOST] + [r for r in packed if r.station.id == led]:
            if row.delivery.state != "planned":
                continue
            lines = await packing.delivery_lines(session, row.delivery.id)
            await packing.pack_delivery(
                session, actor, row.delivery.id,
                counts={f"line-{line.line.id}": str(line.line.packed) for line in lines},
                crates="3" if len(lines) > 8 else "2",
            )  # fmt: skip
        await packing.plan_runs(session, actor, election_id)
        for number, shown in enumerate(await packing.runs_of_election(session, election_id)):
            name, phone = DRIVERS[number % len(DRIVERS)]
            await packing.update_run(
                session, actor, shown.run.id, driver_name=name, driver_phone=phone, day=""
            )
        confirmed = [row for row in packed if row.station.id != led][:2]
        for row in confirmed:
            await _confirmed_at_station(session, row.delivery.id)
        if confirmed:
            await _counted_back_short(session, actor, confirmed[0].delivery.id)
        stations = [row.station.id for row in rows if row.station.id != led]
        first = await shortages.station_articles(session, stations[0])
        await shortages.report_shortage(
            session, actor, stations[0],
            article_id=str(first[0].id) if first else "", text="Slut efter lunch",
        )  # fmt: skip
        on_its_way = await shortages.report_shortage(
            session, actor, stations[-1], text="En valskärm har gått sönder"
        )
        await shortages.move_shortage(session, actor, on_its_way.id, "sent")


async def _led_by(session: AsyncSession, election_id: int, email: str) -> int | None:
    """The station the demo clerk leads in the election."""
    return await session.scalar(
        select(Assignment.station_id)
        .join(Person, Person.id == Assignment.person_id)
        .join(User, User.id == Person.user_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .where(
            User.email == email,
            Assignment.election_id == election_id,
            RoleType.leads_station.is_(True),
        )
        .limit(1)
    )


async def _confirmed_at_station(session: AsyncSession, delivery_id: int) -> None:
    """As the station's chair would confirm it: everything as packed."""
    delivery = await session.scalar(
        select(MaterialDelivery).where(MaterialDelivery.id == delivery_id)
    )
    assert delivery is not None
    delivery.state, delivery.delivered_at = "delivered", utcnow()
    delivery.delivered_by_label = "Anna Andersson"
    for line in await session.scalars(
        select(MaterialDeliveryLine).where(MaterialDeliveryLine.delivery_id == delivery_id)
    ):
        line.delivered = line.packed
    await session.commit()


async def _counted_back_short(session: AsyncSession, actor: Actor, delivery_id: int) -> None:
    """Back at the depot with a few of each consumable used up and one piece missing."""
    lines = await packing.delivery_lines(session, delivery_id)
    returned: dict[str, str] = {}
    missing_one = False
    for line in lines:
        out = line.line.delivered or 0
        if line.kind == "equipment" and not missing_one:
            returned[f"returned-{line.line.id}"] = "0"
            missing_one = True
        else:
            returned[f"returned-{line.line.id}"] = str(
                max(out - 10, 0) if line.kind == "consumable" else out
            )
    await deliveries.count_return(session, actor, delivery_id, returned=returned, damaged={})
