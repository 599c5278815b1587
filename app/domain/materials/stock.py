"""Stock in the depots, reservations of it against each station's needs, and the
shortfall: what to order before packing, rounded up to whole packs."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.i18n import _
from app.core.validation import Cleaner
from app.domain.elections.elections import get_election
from app.domain.materials.catalogue import get_depot, list_articles, list_depots
from app.domain.models import (
    MaterialArticle,
    MaterialAsset,
    MaterialDepot,
    MaterialNeed,
    MaterialReservation,
    MaterialStock,
)

#: Equipment in these states is the municipality's to hand out; the rest is lost,
#: broken or gone.
USABLE_STATES = ("in_stock", "reserved", "out")
BATCH = 500


async def set_stock(
    session: AsyncSession, actor: Actor, depot_id: int, data: Mapping[str, Any]
) -> MaterialStock:
    """Set how many of a consumable (``article_id``) a depot holds, counted at the shelf."""
    depot = await get_depot(session, depot_id)
    cleaner = Cleaner(data)
    article_id = cleaner.identifier("article_id", required=True)
    quantity = cleaner.integer("quantity", 0, 100_000_000)
    if not cleaner.raw("quantity"):
        cleaner.fail("quantity", _("This field is required."))
    article = None
    if article_id is not None:
        article = await session.scalar(
            select(MaterialArticle).where(MaterialArticle.id == article_id)
        )
        if article is None:
            cleaner.fail("article_id", _("Choose one of the options."))
        elif article.kind != "consumable":
            cleaner.fail("article_id", _("Equipment is counted by its asset tags."))
    cleaner.done()
    assert article is not None
    stock = await session.scalar(
        select(MaterialStock).where(
            MaterialStock.depot_id == depot.id, MaterialStock.article_id == article.id
        )
    )
    old = stock.quantity if stock is not None else 0
    if stock is None:
        stock = MaterialStock(depot_id=depot.id, article_id=article.id)
        session.add(stock)
    stock.quantity = quantity
    await session.flush()
    await record(
        session,
        actor,
        "materials.stock.counted",
        stock,
        data={"depot": depot.id, "article": article.id, "old": old, "new": quantity},
    )
    await session.commit()
    return stock


@dataclass
class StockOverview:
    depots: list[MaterialDepot]
    articles: list[MaterialArticle]
    #: ``{(depot_id, article_id): quantity}``; equipment counts its usable items.
    quantities: dict[tuple[int, int], int]


async def stock_overview(session: AsyncSession) -> StockOverview:
    depots = await list_depots(session)
    articles = await list_articles(session, active_only=True)
    quantities: dict[tuple[int, int], int] = {}
    for depot_id, article_id, quantity in await session.execute(
        select(MaterialStock.depot_id, MaterialStock.article_id, MaterialStock.quantity)
    ):
        quantities[(depot_id, article_id)] = quantity
    for kept_at, article_id, count in await session.execute(
        select(MaterialAsset.depot_id, MaterialAsset.article_id, func.count(MaterialAsset.id))
        .where(MaterialAsset.state.in_(USABLE_STATES), MaterialAsset.depot_id.is_not(None))
        .group_by(MaterialAsset.depot_id, MaterialAsset.article_id)
    ):
        if kept_at is not None:
            quantities[(kept_at, article_id)] = count
    return StockOverview(depots=depots, articles=articles, quantities=quantities)


@dataclass
class ShortfallLine:
    article: MaterialArticle
    needed: int
    on_hand: int
    reserved: int

    @property
    def short(self) -> int:
        return max(0, self.needed - self.on_hand)

    @property
    def packs(self) -> int:
        return math.ceil(self.short / self.article.pack_size)

    @property
    def to_order(self) -> int:
        """What to order: the shortfall in whole packs."""
        return self.packs * self.article.pack_size


async def shortfall(session: AsyncSession, election_id: int) -> list[ShortfallLine]:
    """Every article the election needs, with what the depots hold and what to order."""
    election = await get_election(session, election_id)
    needed = dict(
        (
            await session.execute(
                select(MaterialNeed.article_id, func.sum(MaterialNeed.quantity))
                .where(MaterialNeed.election_id == election.id)
                .group_by(MaterialNeed.article_id)
            )
        ).all()
    )
    held = await _on_hand(session)
    reserved = dict(
        (
            await session.execute(
                select(
                    MaterialReservation.article_id,
                    func.sum(MaterialReservation.quantity),
                )
                .where(MaterialReservation.election_id == election.id)
                .group_by(MaterialReservation.article_id)
            )
        ).all()
    )
    articles = await list_articles(session, election.id)
    return [
        ShortfallLine(
            article,
            int(needed[article.id]),
            held.get(article.id, 0),
            int(reserved.get(article.id) or 0),
        )
        for article in articles
        if article.id in needed
    ]


async def _on_hand(session: AsyncSession) -> dict[int, int]:
    """What the depots hold of each article: consumables counted, equipment usable."""
    held: dict[int, int] = defaultdict(int)
    for article_id, quantity in await session.execute(
        select(MaterialStock.article_id, func.sum(MaterialStock.quantity)).group_by(
            MaterialStock.article_id
        )
    ):
        held[article_id] += int(quantity or 0)
    for article_id, count in await session.execute(
        select(MaterialAsset.article_id, func.count(MaterialAsset.id))
        .where(MaterialAsset.state.in_(USABLE_STATES))
        .group_by(MaterialAsset.article_id)
    ):
        held[article_id] += int(count)
    return held


@dataclass
class ReservationResult:
    covered: int
    partly: int
    uncovered: int


async def reserve(session: AsyncSession, actor: Actor, election_id: int) -> ReservationResult:
    """Set stock aside for every station's needs, station by station in the order made:
    consumables from the depots (what other elections hold reserved stays theirs), one
    piece of equipment in stock per item needed. Reserving again starts afresh."""
    election = await get_election(session, election_id)
    await _release(session, election.id)
    free = await _free_stock(session, election.id)
    assets = await _assets_in_stock(session)
    rows: list[dict[str, Any]] = []
    reserved_assets: list[int] = []
    result = ReservationResult(0, 0, 0)
    needs = await session.execute(
        select(MaterialNeed.station_id, MaterialNeed.article_id, MaterialNeed.quantity)
        .where(MaterialNeed.election_id == election.id)
        .order_by(MaterialNeed.station_id, MaterialNeed.article_id)
    )
    base = {"tenant_id": election.tenant_id, "election_id": election.id}
    for station_id, article_id, quantity in needs:
        wanted = quantity
        pieces = assets.get(article_id)
        if pieces:
            while wanted and pieces:
                piece, piece_depot = pieces.pop(0)
                reserved_assets.append(piece)
                rows.append(
                    base
                    | {
                        "station_id": station_id,
                        "article_id": article_id,
                        "depot_id": piece_depot,
                        "quantity": 1,
                        "asset_id": piece,
                    }
                )
                wanted -= 1
        for place in free.get(article_id, []):
            if not wanted:
                break
            amount = min(wanted, place[1])
            if amount:
                place[1] -= amount
                wanted -= amount
                rows.append(
                    base
                    | {
                        "station_id": station_id,
                        "article_id": article_id,
                        "depot_id": place[0],
                        "quantity": amount,
                        "asset_id": None,
                    }
                )
        if wanted == 0:
            result.covered += 1
        elif wanted < quantity:
            result.partly += 1
        else:
            result.uncovered += 1
    for start in range(0, len(rows), BATCH):
        await session.execute(insert(MaterialReservation), rows[start : start + BATCH])
    for start in range(0, len(reserved_assets), BATCH):
        await session.execute(
            update(MaterialAsset)
            .where(MaterialAsset.id.in_(reserved_assets[start : start + BATCH]))
            .values(state="reserved")
        )
    await record(
        session,
        actor,
        "materials.stock.reserved",
        election,
        data={"covered": result.covered, "partly": result.partly, "uncovered": result.uncovered},
    )
    await session.commit()
    return result


async def _free_stock(session: AsyncSession, election_id: int) -> dict[int, list[list[int]]]:
    """``{article_id: [[depot_id, free], ...]}``: what each depot holds of a consumable
    beyond what other elections hold reserved, depots in name order."""
    free: dict[int, list[list[int]]] = defaultdict(list)  # article -> [[depot, free], ...]
    taken = {
        (depot_id, article_id): int(quantity or 0)
        for depot_id, article_id, quantity in await session.execute(
            select(
                MaterialReservation.depot_id,
                MaterialReservation.article_id,
                func.sum(MaterialReservation.quantity),
            )
            .where(
                MaterialReservation.election_id != election_id,
                MaterialReservation.asset_id.is_(None),
            )
            .group_by(MaterialReservation.depot_id, MaterialReservation.article_id)
        )
    }
    for depot_id, article_id, quantity in await session.execute(
        select(MaterialStock.depot_id, MaterialStock.article_id, MaterialStock.quantity)
        .join(MaterialDepot, MaterialDepot.id == MaterialStock.depot_id)
        .order_by(MaterialDepot.name)
    ):
        left = quantity - taken.get((depot_id, article_id), 0)
        if left > 0:
            free[article_id].append([depot_id, left])
    return free


async def _assets_in_stock(session: AsyncSession) -> dict[int, list[tuple[int, int | None]]]:
    """``{article_id: [(asset_id, depot_id), ...]}``: equipment free to reserve, by tag."""
    assets: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    for asset_id, article_id, kept_at in await session.execute(
        select(MaterialAsset.id, MaterialAsset.article_id, MaterialAsset.depot_id)
        .where(MaterialAsset.state == "in_stock")
        .order_by(MaterialAsset.tag)
    ):
        assets[article_id].append((asset_id, kept_at))
    return assets


async def _release(session: AsyncSession, election_id: int) -> None:
    """Give back what the election held reserved (equipment still only reserved returns
    to stock; what is already out stays out)."""
    asset_ids = list(
        await session.scalars(
            select(MaterialReservation.asset_id).where(
                MaterialReservation.election_id == election_id,
                MaterialReservation.asset_id.is_not(None),
            )
        )
    )
    for start in range(0, len(asset_ids), BATCH):
        await session.execute(
            update(MaterialAsset)
            .where(
                MaterialAsset.id.in_(asset_ids[start : start + BATCH]),
                MaterialAsset.state == "reserved",
            )
            .values(state="in_stock")
        )
    await session.execute(
        delete(MaterialReservation).where(MaterialReservation.election_id == election_id)
    )
