"""The demo's coming election has deliveries in every state, runs with drivers, and
shortages on the dashboard; the demo clerk's station is packed, to confirm by phone."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.tenancy import tenant_scope
from app.demo import DEMO_SLUG, create_demo
from app.domain.materials.deliveries import not_returned
from app.domain.models import Election, MaterialDelivery, MaterialRun, MaterialShortage


async def test_the_demo_shows_deliveries_in_every_state_and_shortages(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await create_demo(session_factory)
    async with session_factory() as session:
        tenant = await get_tenant_by_slug(session, DEMO_SLUG)
        assert tenant is not None
        with tenant_scope(tenant.id):
            coming = await session.scalar(
                select(Election).where(Election.rolled_over_from_id.is_not(None))
            )
            assert coming is not None
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
