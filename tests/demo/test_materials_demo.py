"""The demo has a catalogue, rules, depots with stock and equipment, and the coming
election's needs computed and reserved, with a shortfall to show."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.materials.stock import shortfall
from app.domain.models import (
    MaterialAsset,
    MaterialNeed,
    MaterialNeedRule,
    MaterialReservation,
    MaterialStationFigure,
    Station,
)
from tests.demo.coming import demo_coming_election


async def test_the_demo_has_materials_for_the_coming_election(
    demo_made: None,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with demo_coming_election(session_factory) as (session, coming):
        stations = await _count(session, Station, Station.election_id == coming.id)
        assert await _count(session, MaterialNeedRule) == 12
        needs = await _count(session, MaterialNeed, MaterialNeed.election_id == coming.id)
        # Every station needs screens, ballot papers of nine kinds, boxes, pens...
        assert needs >= stations * 15
        assert await _count(session, MaterialReservation)
        assert await _count(session, MaterialAsset, MaterialAsset.state == "reserved")
        assert await _count(session, MaterialStationFigure) == 1
        lines = {line.article.name: line for line in await shortfall(session, coming.id)}
        assert lines["Valsedel Sverigedemokraterna"].to_order > 0
        assert lines["Valskärm"].needed > 0


async def _count(session: AsyncSession, model: type, *where: object) -> int:
    statement = select(func.count()).select_from(model)
    for condition in where:
        statement = statement.where(condition)  # type: ignore[arg-type]
    return int(await session.scalar(statement) or 0)
