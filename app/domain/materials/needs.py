"""Each station's figures, a planner's overrides of them, and the needs the rules give.

The needs of a whole election are computed in one pass: the figures are read with a
handful of grouped queries, the rules applied in memory, and only the rows that changed
are written, so a recompute after a rule change takes a moment even at 660 stations.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.models import utcnow
from app.core.validation import Cleaner
from app.domain.elections.elections import get_election
from app.domain.materials.catalogue import list_articles
from app.domain.materials.rules import rule_kinds
from app.domain.models import (
    STATION_FIGURES,
    District,
    MaterialArticle,
    MaterialNeed,
    MaterialNeedRule,
    MaterialStationFigure,
    RoleType,
    Room,
    Shift,
    StaffingNorm,
    Station,
    StationOpening,
    counted_minimum,
)

#: Rows written per statement: within every driver's limit on parameters.
BATCH = 500


class MaterialsError(DomainError):
    """A change of materials was refused; the message says why."""


@dataclass
class StationFigures:
    """A station's figures as the rules see them: the register's, or a planner's."""

    station_id: int
    name: str
    kind: str
    register: dict[str, int]
    overrides: dict[str, MaterialStationFigure] = field(default_factory=dict)

    def value(self, figure: str) -> int:
        override = self.overrides.get(figure)
        return override.value if override is not None else self.register.get(figure, 0)


@dataclass(frozen=True)
class NeedChange:
    station_id: int
    station_name: str
    article_id: int
    article_name: str
    old: int
    new: int


@dataclass
class NeedsChange:
    """What a recompute changed, per station and article (old → new)."""

    changes: list[NeedChange]
    total: int

    @property
    def changed(self) -> int:
        return len(self.changes)


async def station_figures(
    session: AsyncSession, election_id: int, station_id: int | None = None
) -> list[StationFigures]:
    """Every station's figures (or one station's), by name."""
    stations_query = (
        select(Station.id, Station.name, Station.kind, District.eligible_voters, Room.booths)
        .outerjoin(District, District.id == Station.district_id)
        .outerjoin(Room, Room.id == Station.room_id)
        .where(Station.election_id == election_id)
        .order_by(Station.name)
    )
    norm_query = (
        # The headcount is the station's minimum as the board counts it: a host's norm,
        # outside the legal minimum, adds no one.
        select(Shift.station_id, func.coalesce(func.sum(counted_minimum()), 0))
        .join(StaffingNorm, StaffingNorm.shift_id == Shift.id)
        .join(RoleType, RoleType.id == StaffingNorm.role_type_id)
        .join(Station, Station.id == Shift.station_id)
        .where(Station.election_id == election_id)
        .group_by(Shift.station_id)
    )
    days_query = (
        select(StationOpening.station_id, func.count(StationOpening.id))
        .join(Station, Station.id == StationOpening.station_id)
        .where(Station.election_id == election_id)
        .group_by(StationOpening.station_id)
    )
    overrides_query = (
        select(MaterialStationFigure)
        .join(Station, Station.id == MaterialStationFigure.station_id)
        .where(Station.election_id == election_id)
    )
    if station_id is not None:
        stations_query = stations_query.where(Station.id == station_id)
        norm_query = norm_query.where(Station.id == station_id)
        days_query = days_query.where(Station.id == station_id)
        overrides_query = overrides_query.where(Station.id == station_id)
    norms = dict((await session.execute(norm_query)).all())
    days = dict((await session.execute(days_query)).all())
    overrides: dict[int, dict[str, MaterialStationFigure]] = defaultdict(dict)
    for override in await session.scalars(overrides_query):
        overrides[override.station_id][override.figure] = override
    result = []
    for sid, name, kind, voters, booths in await session.execute(stations_query):
        register = {
            "voters": int(voters or 0),
            "screens": int(booths or 0),
            "norm": int(norms.get(sid, 0)),
            "opening_days": int(days.get(sid, 0)),
        }
        result.append(StationFigures(sid, name, kind, register, overrides.get(sid, {})))
    return result


def quantity(rule: MaterialNeedRule, figures: StationFigures, pack_size: int) -> int:
    """How many of an article one rule gives a station."""
    if rule.basis == "fixed":
        amount = math.ceil(rule.per)
    else:
        amount = math.ceil(Decimal(figures.value(rule.basis)) * rule.per / rule.every)
    amount = max(amount, rule.minimum)
    if rule.round_to_pack and pack_size > 1:
        amount = math.ceil(amount / pack_size) * pack_size
    return amount


def needs_of(
    rules: list[MaterialNeedRule],
    articles: list[MaterialArticle],
    stations: list[StationFigures],
) -> dict[tuple[int, int], tuple[int, int]]:
    """``{(station_id, article_id): (quantity, rule_id)}``: what the rules give, rules
    for the same article adding up (the first one named)."""
    by_category: dict[str, list[MaterialArticle]] = defaultdict(list)
    by_id = {}
    for article in articles:
        by_category[article.category].append(article)
        by_id[article.id] = article
    result: dict[tuple[int, int], tuple[int, int]] = {}
    for rule in rules:
        if not rule.active:
            continue
        if rule.article_id is not None:
            targets = [by_id[rule.article_id]] if rule.article_id in by_id else []
        else:
            targets = by_category.get(rule.category or "", [])
        kinds = set(rule_kinds(rule))
        for station in stations:
            if station.kind not in kinds:
                continue
            for article in targets:
                amount = quantity(rule, station, article.pack_size)
                key = (station.station_id, article.id)
                earlier = result.get(key)
                result[key] = (
                    (amount, rule.id) if earlier is None else (earlier[0] + amount, earlier[1])
                )
    return {key: value for key, value in result.items() if value[0] > 0}


async def compute_needs(session: AsyncSession, actor: Actor, election_id: int) -> NeedsChange:
    """Apply every active rule to every station of the election and store the needs;
    returns what changed (per station and article, old → new)."""
    election = await get_election(session, election_id)
    articles = await list_articles(session, election.id, active_only=True)
    rules = list(await session.scalars(select(MaterialNeedRule).order_by(MaterialNeedRule.id)))
    stations = await station_figures(session, election.id)
    wanted = needs_of(rules, articles, stations)
    stored = {
        (sid, aid): (need_id, amount, rule_id)
        for need_id, sid, aid, amount, rule_id in await session.execute(
            select(
                MaterialNeed.id,
                MaterialNeed.station_id,
                MaterialNeed.article_id,
                MaterialNeed.quantity,
                MaterialNeed.rule_id,
            ).where(MaterialNeed.election_id == election.id)
        )
    }
    now = utcnow()
    station_names = {s.station_id: s.name for s in stations}
    article_names = {a.id: a.name for a in articles}
    if stored:
        extra_ids = {aid for _sid, aid in stored} - set(article_names)
        if extra_ids:
            article_names |= dict(
                (
                    await session.execute(
                        select(MaterialArticle.id, MaterialArticle.name).where(
                            MaterialArticle.id.in_(extra_ids)
                        )
                    )
                ).all()
            )
    changes: list[NeedChange] = []
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    gone: list[int] = []
    for key, (amount, rule_id) in wanted.items():
        old = stored.get(key)
        if old is None:
            inserts.append(
                {
                    "tenant_id": election.tenant_id,
                    "election_id": election.id,
                    "station_id": key[0],
                    "article_id": key[1],
                    "quantity": amount,
                    "rule_id": rule_id,
                    "computed_at": now,
                }
            )
        elif old[1] != amount or old[2] != rule_id:
            updates.append(
                {"id": old[0], "quantity": amount, "rule_id": rule_id, "computed_at": now}
            )
        if old is None or old[1] != amount:
            changes.append(
                NeedChange(
                    key[0], station_names.get(key[0], ""), key[1],
                    article_names.get(key[1], ""), old[1] if old else 0, amount,
                )
            )  # fmt: skip
    for key, (need_id, amount, _rule_id) in stored.items():
        if key not in wanted:
            gone.append(need_id)
            changes.append(
                NeedChange(
                    key[0], station_names.get(key[0], ""), key[1],
                    article_names.get(key[1], ""), amount, 0,
                )
            )  # fmt: skip
    try:
        for start in range(0, len(inserts), BATCH):
            await session.execute(insert(MaterialNeed), inserts[start : start + BATCH])
        for start in range(0, len(updates), BATCH):
            await session.execute(update(MaterialNeed), updates[start : start + BATCH])
        for start in range(0, len(gone), BATCH):
            await session.execute(
                delete(MaterialNeed).where(MaterialNeed.id.in_(gone[start : start + BATCH]))
            )
    except IntegrityError:
        await session.rollback()
        raise MaterialsError(
            _("Someone recomputed this election's needs at the same time; try again.")
        ) from None
    await record(
        session,
        actor,
        "materials.needs.computed",
        election,
        data={"changed": len(changes), "needs": len(wanted)},
    )
    await session.commit()
    changes.sort(key=lambda c: (c.station_name, c.article_name))
    return NeedsChange(changes=changes, total=len(wanted))


async def set_station_figure(
    session: AsyncSession, actor: Actor, election_id: int, station_id: int, data: Mapping[str, Any]
) -> MaterialStationFigure | None:
    """Set a station's figure by hand, with the reason why (an empty value returns the
    figure to the register's). The needs change when they are next recomputed."""
    station = await session.scalar(
        select(Station).where(Station.id == station_id, Station.election_id == election_id)
    )
    if station is None:
        raise NotFound(_("Not found."))
    cleaner = Cleaner(data)
    figure = cleaner.choice("figure", STATION_FIGURES, "voters")
    cleared = not cleaner.raw("value")
    value = cleaner.integer("value", 0, 10_000_000)
    reason = cleaner.text("reason", 1000, required=not cleared)
    cleaner.done()
    override = await session.scalar(
        select(MaterialStationFigure).where(
            MaterialStationFigure.station_id == station.id, MaterialStationFigure.figure == figure
        )
    )
    if cleared:
        if override is not None:
            await session.delete(override)
            await record(
                session, actor, "materials.figure.cleared", station, data={"figure": figure}
            )
            await session.commit()
        return None
    if override is None:
        override = MaterialStationFigure(station_id=station.id, figure=figure)
        session.add(override)
    override.value = value
    override.reason = reason
    override.set_by_user_id = actor.user_id
    override.set_by_label = actor.label
    override.set_at = utcnow()
    await session.flush()
    await record(
        session,
        actor,
        "materials.figure.set",
        station,
        data={"figure": figure, "value": value, "reason": reason},
    )
    await session.commit()
    return override


@dataclass
class ArticleTotal:
    article: MaterialArticle
    quantity: int
    stations: int


@dataclass
class NeedsOverview:
    """The needs of an election: per article, and per station with its figures."""

    totals: list[ArticleTotal]
    stations: list[StationFigures]
    #: ``{station_id: {article_id: quantity}}``
    needs: dict[int, dict[int, int]]
    computed_at: Any


async def needs_overview(
    session: AsyncSession, election_id: int, station_id: int | None = None
) -> NeedsOverview:
    election = await get_election(session, election_id)
    articles = {a.id: a for a in await list_articles(session, election.id)}
    stations = await station_figures(session, election.id, station_id)
    query = select(
        MaterialNeed.station_id,
        MaterialNeed.article_id,
        MaterialNeed.quantity,
        MaterialNeed.computed_at,
    ).where(MaterialNeed.election_id == election.id)
    if station_id is not None:
        query = query.where(MaterialNeed.station_id == station_id)
    needs: dict[int, dict[int, int]] = defaultdict(dict)
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    latest = None
    for sid, aid, amount, computed_at in await session.execute(query):
        needs[sid][aid] = amount
        sums[aid][0] += amount
        sums[aid][1] += 1
        latest = computed_at if latest is None or computed_at > latest else latest
    totals = [
        ArticleTotal(article, sums[article.id][0], sums[article.id][1])
        for article in articles.values()
        if article.id in sums
    ]
    return NeedsOverview(totals=totals, stations=stations, needs=dict(needs), computed_at=latest)
