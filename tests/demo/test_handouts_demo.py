"""The demo has equipment out: items at stations with a lead, one overdue with a chair,
and one taken back damaged, so the hand-outs and "not returned" show something."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.tenancy import tenant_scope
from app.demo import DEMO_SLUG, create_demo
from app.domain.materials.not_returned import still_out
from app.domain.models import Election, MaterialHandout


async def test_the_demo_has_items_out_and_one_taken_back_damaged(
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
            holders = await still_out(session, coming)
            conditions = set(await session.scalars(select(MaterialHandout.condition)))
    # Stations with a lead (the small demo staffs one), and the chair with a laptop.
    assert len(holders) >= 2 and holders[0].is_station
    assert next(h for h in holders if not h.is_station).contacts[0].phone
    assert all(h.contacts for h in holders)
    assert conditions == {None, "damaged"}
