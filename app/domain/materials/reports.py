"""Materials reports of an election: what every station needed, what was packed,
delivered and counted back, per station and per article, and what is still out.

Everything comes from two grouped statements over the election's needs and delivery
lines (one row per station and article), summed in Python per station and per article:
at 660 stations and some twenty articles that is about 13,000 rows, read once.

Counting rules: a line counts as packed once its delivery left the planned state, as
delivered once the station's lead confirmed it, as returned once the depot counted it
back. "Still out" is what a station confirmed and the depot has not counted back yet,
and after the count what is missing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import (
    District,
    MaterialArticle,
    MaterialDelivery,
    MaterialDeliveryLine,
    MaterialNeed,
    Station,
)


@dataclass
class Counts:
    """How many of something at each step."""

    needed: int = 0
    packed: int = 0
    delivered: int = 0
    returned: int = 0
    missing: int = 0
    damaged: int = 0
    out: int = 0

    def add(self, other: Counts) -> None:
        self.needed += other.needed
        self.packed += other.packed
        self.delivered += other.delivered
        self.returned += other.returned
        self.missing += other.missing
        self.damaged += other.damaged
        self.out += other.out


@dataclass(frozen=True)
class StationCounts:
    station_id: int
    station: str
    district: str
    state: str
    counts: Counts


@dataclass(frozen=True)
class ArticleCounts:
    article_id: int
    article: str
    unit: str
    kind: str
    counts: Counts


@dataclass(frozen=True)
class StillOut:
    """One article a station still has (or lost): how many, and who confirmed them."""

    station_id: int
    station: str
    district: str
    article: str
    unit: str
    out: int
    state: str
    had_by: str
    delivered_at: dt.datetime | None


@dataclass
class MaterialsReport:
    stations: list[StationCounts]
    articles: list[ArticleCounts]
    still_out: list[StillOut]
    total: Counts = field(default_factory=Counts)


_DONE_PACKING = ("packed", "delivered", "returned")
_CONFIRMED = ("delivered", "returned")


async def _needs(session: AsyncSession, election_id: int) -> dict[tuple[int, int], int]:
    rows = await session.execute(
        select(MaterialNeed.station_id, MaterialNeed.article_id, MaterialNeed.quantity).where(
            MaterialNeed.election_id == election_id
        )
    )
    return {(station, article): int(quantity) for station, article, quantity in rows}


async def _lines(session: AsyncSession, election_id: int) -> dict[tuple[int, int], Counts]:
    """Each (station, article)'s delivery lines summed at each step."""
    state = MaterialDelivery.state
    line = MaterialDeliveryLine

    def total(value: Any, states: tuple[str, ...]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((state.in_(states), value), else_=0)), 0)

    rows = await session.execute(
        select(
            MaterialDelivery.station_id,
            line.article_id,
            total(line.packed, _DONE_PACKING),
            total(func.coalesce(line.delivered, 0), _CONFIRMED),
            total(func.coalesce(line.returned, 0), ("returned",)),
            total(line.missing, ("returned",)),
            total(line.damaged, ("returned",)),
            total(func.coalesce(line.delivered, 0), ("delivered",)),
        )
        .join(MaterialDelivery, MaterialDelivery.id == line.delivery_id)
        .where(MaterialDelivery.election_id == election_id)
        .group_by(MaterialDelivery.station_id, line.article_id)
    )
    found: dict[tuple[int, int], Counts] = {}
    for station, article, packed, delivered, returned, missing, damaged, held in rows:
        found[(station, article)] = Counts(
            packed=int(packed),
            delivered=int(delivered),
            returned=int(returned),
            missing=int(missing),
            damaged=int(damaged),
            out=int(held) + int(missing),
        )
    return found


async def materials_report(session: AsyncSession, election_id: int) -> MaterialsReport:
    """The election's materials per station and per article, and what is still out."""
    grid = await _lines(session, election_id)
    for key, quantity in (await _needs(session, election_id)).items():
        grid.setdefault(key, Counts()).needed = quantity
    station_rows = (
        await session.execute(
            select(Station.id, Station.name, District.code, District.name)
            .outerjoin(District, District.id == Station.district_id)
            .where(Station.election_id == election_id)
            .order_by(District.code, District.name, Station.name, Station.id)
        )
    ).all()
    deliveries = {
        station_id: (state, label, at)
        for station_id, state, label, at in await session.execute(
            select(
                MaterialDelivery.station_id,
                MaterialDelivery.state,
                MaterialDelivery.delivered_by_label,
                MaterialDelivery.delivered_at,
            ).where(MaterialDelivery.election_id == election_id)
        )
    }
    article_ids = {article for _station, article in grid}
    articles = {
        a.id: a
        for a in await session.scalars(
            select(MaterialArticle).where(MaterialArticle.id.in_(article_ids))
        )
    }
    by_station: dict[int, Counts] = defaultdict(Counts)
    by_article: dict[int, Counts] = defaultdict(Counts)
    for (station_id, article_id), counts in grid.items():
        by_station[station_id].add(counts)
        by_article[article_id].add(counts)
    report = MaterialsReport(stations=[], articles=[], still_out=[])
    names: dict[int, tuple[str, str]] = {}
    for station_id, name, code, district in station_rows:
        names[station_id] = (name, " ".join(p for p in (code, district) if p))
        if station_id not in by_station and station_id not in deliveries:
            continue
        state = deliveries.get(station_id, ("", "", None))[0]
        counts = by_station[station_id]
        report.stations.append(StationCounts(station_id, name, names[station_id][1], state, counts))
        report.total.add(counts)
    ordered = sorted(articles.values(), key=lambda a: (a.kind, a.name.lower(), a.id))
    report.articles = [
        ArticleCounts(a.id, a.name, a.unit, a.kind, by_article[a.id]) for a in ordered
    ]
    position = {station_id: index for index, station_id in enumerate(names)}
    article_order = {a.id: index for index, a in enumerate(ordered)}
    for (station_id, article_id), counts in sorted(
        grid.items(), key=lambda item: (position.get(item[0][0], 0), article_order[item[0][1]])
    ):
        if counts.out <= 0 or station_id not in names:
            continue
        state, had_by, at = deliveries.get(station_id, ("", "", None))
        article = articles[article_id]
        report.still_out.append(
            StillOut(
                station_id,
                names[station_id][0],
                names[station_id][1],
                article.name,
                article.unit,
                counts.out,
                state,
                had_by,
                at,
            )
        )
    return report
