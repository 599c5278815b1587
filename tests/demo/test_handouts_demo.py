"""The demo has equipment out: items at stations with a lead, one overdue with a chair,
and one taken back damaged, so the hand-outs and "not returned" show something."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.demo.material_handouts import fill_handouts_demo
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


async def test_the_overdue_hand_out_is_due_by_the_municipalitys_date(
    demo_made: None,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Made at 00:30 in Stockholm (the server's UTC date still the day before), the
    chair's laptop was due back three local days ago."""
    now = dt.datetime(2030, 3, 1, 23, 30, tzinfo=dt.UTC)  # 2 March 00:30 in Stockholm
    async with demo_coming_election(session_factory) as (session, coming):
        await fill_handouts_demo(session, coming.tenant_id, coming.id, now=now)
        due = await session.scalar(
            select(MaterialHandout.due_back)
            .where(MaterialHandout.note == "Till utbildningen")
            .order_by(MaterialHandout.id.desc())
            .limit(1)
        )
    assert due == dt.date(2030, 2, 27)
