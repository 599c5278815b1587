"""The demo's coming election has deliveries in every state, runs with drivers, and
shortages on the dashboard; the demo clerk's station is packed, to confirm by phone."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.materials.deliveries import not_returned
from app.domain.models import MaterialDelivery, MaterialRun, MaterialShortage
from tests.demo.coming import demo_coming_election


async def test_the_demo_shows_deliveries_in_every_state_and_shortages(
    demo_made: None,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with demo_coming_election(session_factory) as (session, coming):
        states = dict(
            (
                await session.execute(
                    select(MaterialDelivery.state, func.count())
                    .where(MaterialDelivery.election_id == coming.id)
                    .group_by(MaterialDelivery.state)
                )
            ).all()
        )
        runs = list(await session.scalars(select(MaterialRun)))
        shortage_states = set(await session.scalars(select(MaterialShortage.state)))
        missing = await not_returned(session, coming.id)
    assert set(states) == {"planned", "packed", "delivered", "returned"}
    assert runs and all(run.driver_name for run in runs)
    assert shortage_states == {"reported", "sent"}
    assert missing and all(item.had_by for item in missing)
