"""The demo's hand-outs: items out at stations that have a lead to call, one with a
station's chair (overdue), and one taken back damaged, so the hand-out list, an item's
history and the "not returned" list each show something."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.tenancy import tenant_scope
from app.domain.materials import handouts
from app.domain.materials.not_returned import station_leads
from app.domain.models import MaterialAsset, Station
from app.domain.ops.access import local_today


async def fill_handouts_demo(
    session: AsyncSession, tenant_id: int, election_id: int, now: dt.datetime | None = None
) -> None:
    actor = Actor.system("demo")
    with tenant_scope(tenant_id):
        # Overdue by the municipality's date (the server's is a day off around midnight).
        today = await local_today(session, now)
        tags = list(
            await session.scalars(
                select(MaterialAsset.tag)
                .where(MaterialAsset.state.in_(("in_stock", "reserved")))
                .order_by(MaterialAsset.tag)
                .limit(5)
            )
        )
        every = list(
            await session.scalars(
                select(Station.id).where(Station.election_id == election_id).order_by(Station.id)
            )
        )
        # Stations with a lead to call, so "not returned" shows whom.
        led = await station_leads(session, set(every))
        stations = [station_id for station_id in every if led.get(station_id)][:3]
        leads = await handouts.election_leads(session, election_id)
        if len(tags) < 5 or not stations:
            return
        for tag, station_id in zip(tags[:3], stations, strict=False):
            await handouts.hand_out(
                session, actor, {"tag": tag, "holder": "station", "station_id": str(station_id)}
            )
        if leads:
            await handouts.hand_out(
                session, actor,
                {"tag": tags[3], "holder": "person", "person_id": str(leads[0][0]),
                 "election_id": str(election_id),
                 "due_back": (today - dt.timedelta(days=3)).isoformat(),
                 "note": "Till utbildningen"},
            )  # fmt: skip
        await handouts.hand_out(
            session, actor, {"tag": tags[4], "holder": "station", "station_id": str(stations[0])}
        )
        await handouts.take_back(
            session, actor, {"tag": tags[4], "condition": "damaged", "note": "Sprucken skärm"}
        )
