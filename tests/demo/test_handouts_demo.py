"""The demo has equipment out: items at stations with a lead, one overdue with a chair,
and one taken back damaged, so the hand-outs and "not returned" show something."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.materials.not_returned import still_out
from app.domain.models import MaterialHandout
from tests.demo.coming import demo_coming_election


async def test_the_demo_has_items_out_and_one_taken_back_damaged(
    demo_made: None,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with demo_coming_election(session_factory) as (session, coming):
        holders = await still_out(session, coming)
        conditions = set(await session.scalars(select(MaterialHandout.condition)))
    # Stations with a lead (the small demo staffs one), and the chair with a laptop.
    assert len(holders) >= 2 and holders[0].is_station
    assert next(h for h in holders if not h.is_station).contacts[0].phone
    assert all(h.contacts for h in holders)
    assert conditions == {None, "damaged"}
