"""Packing: a delivery per station planned from its computed needs, packed at the depot
(counts per line, in so many crates), and the drivers' runs, one per district.

A delivery is planned from ``material_needs`` and may be planned again while nothing
is packed; once packed its lines are what left the depot. Each delivery has a random
``code`` for the QR codes on its crates (``deliveries`` confirms by it).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.models import utcnow
from app.core.validation import Cleaner, FieldErrors
from app.domain.models import (
    Building,
    District,
    Election,
    MaterialArticle,
    MaterialAsset,
    MaterialDelivery,
    MaterialDeliveryLine,
    MaterialNeed,
    MaterialRun,
    Room,
    Station,
)
from app.domain.ops.access import actor_may

MAX_CRATES = 50
MAX_COUNT = 1_000_000


class DeliveryError(DomainError):
    """A delivery cannot take this step now (the message says why)."""

    status = 409


class LogisticsForbidden(DomainError):
    status = 403


async def require_logistics(session: AsyncSession, actor: Actor) -> None:
    """Packing, runs and counting back are for those who edit materials."""
    if not await actor_may(session, actor, "materials.edit"):
        raise LogisticsForbidden(_("Only those who handle materials may do this."))


def new_code() -> str:
    """A token for the crates' QR codes: 96 random bits, URL-safe."""
    return secrets.token_urlsafe(12)


async def plan_deliveries(session: AsyncSession, actor: Actor, election_id: int) -> int:
    """A delivery for every station of the election with needs, its lines the needs
    (equipment, one line per piece). A delivery not yet packed is planned again from
    the needs as they are now; a packed one is left as it left the depot. Returns how
    many deliveries were (re)planned."""
    await require_logistics(session, actor)
    election = await session.scalar(select(Election).where(Election.id == election_id))
    if election is None:
        raise NotFound(_("Not found."))
    needs = (
        await session.execute(
            select(
                MaterialNeed.station_id,
                MaterialNeed.article_id,
                MaterialNeed.quantity,
                MaterialArticle.kind,
            )
            .join(MaterialArticle, MaterialArticle.id == MaterialNeed.article_id)
            .where(MaterialNeed.election_id == election_id, MaterialNeed.quantity > 0)
            .order_by(MaterialNeed.station_id, MaterialArticle.name, MaterialArticle.id)
        )
    ).all()
    by_station: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for station_id, article_id, quantity, kind in needs:
        by_station[station_id].append((article_id, int(quantity), kind))
    existing = {
        d.station_id: d
        for d in await session.scalars(
            select(MaterialDelivery).where(MaterialDelivery.election_id == election_id)
        )
    }
    replanned = [d.id for s, d in existing.items() if s in by_station and d.state == "planned"]
    if replanned:
        await session.execute(
            delete(MaterialDeliveryLine).where(MaterialDeliveryLine.delivery_id.in_(replanned))
        )
    planned = 0
    for station_id, lines in by_station.items():
        delivery = existing.get(station_id)
        if delivery is None:
            delivery = MaterialDelivery(
                election_id=election_id, station_id=station_id, code=new_code(), state="planned"
            )
            session.add(delivery)
            await session.flush()
        elif delivery.state != "planned":
            continue
        planned += 1
        for article_id, quantity, kind in lines:
            # Equipment is tracked piece by piece: a line each, to get its asset tag.
            pieces = [1] * quantity if kind == "equipment" else [quantity]
            session.add_all(
                MaterialDeliveryLine(
                    delivery_id=delivery.id, article_id=article_id, needed=n, packed=n
                )
                for n in pieces
            )
    await record(
        session,
        actor,
        "materials.deliveries.planned",
        None,
        data={"election": election_id, "deliveries": planned},
    )
    await session.commit()
    return planned


async def get_delivery(session: AsyncSession, delivery_id: int) -> MaterialDelivery:
    delivery = await session.scalar(
        select(MaterialDelivery).where(MaterialDelivery.id == delivery_id)
    )
    if delivery is None:
        raise NotFound(_("Not found."))
    return delivery


def count_of(
    cleaner: Cleaner, field: str, *, maximum: int = MAX_COUNT, blank: int | None = None
) -> int:
    """A count from a form: a whole number, zero or more (``blank`` when left empty, if
    given)."""
    raw = cleaner.raw(field)
    if not raw and blank is not None:
        return blank
    if not (raw.isascii() and raw.isdigit()):
        cleaner.fail(field, _("Enter a whole number, zero or more."))
        return 0
    value = int(raw)
    if value > maximum:
        cleaner.fail(field, _("At most %(maximum)s.", maximum=maximum))
    return value


async def pack_delivery(
    session: AsyncSession,
    actor: Actor,
    delivery_id: int,
    *,
    counts: Mapping[str, str],
    crates: str = "1",
    tags: Mapping[str, str] | None = None,
) -> MaterialDelivery:
    """Record what was packed for the station, line by line (``counts`` by the field
    ``line-<id>``; an equipment line's asset by its tag in ``tags``), and in how many
    crates. Repacking is allowed until the delivery is confirmed at the station."""
    await require_logistics(session, actor)
    delivery = await get_delivery(session, delivery_id)
    if delivery.state not in ("planned", "packed"):
        raise DeliveryError(_("This delivery has already reached the station."))
    lines = await delivery_lines(session, delivery.id)
    data = {**counts, **(tags or {}), "crates": crates}
    cleaner = Cleaner(data)
    crate_count = count_of(cleaner, "crates", maximum=MAX_CRATES)
    if crate_count < 1 and "crates" not in cleaner.errors:
        cleaner.fail("crates", _("At least one crate."))
    packed = {line.line.id: count_of(cleaner, f"line-{line.line.id}") for line in lines}
    assets: dict[int, int | None] = {}
    for line in lines:
        if line.kind != "equipment" or tags is None:
            continue
        tag = cleaner.text(f"tag-{line.line.id}", 64)
        if not tag:
            assets[line.line.id] = None
            continue
        asset = await session.scalar(
            select(MaterialAsset).where(
                MaterialAsset.tag == tag, MaterialAsset.article_id == line.line.article_id
            )
        )
        if asset is None:
            cleaner.fail(f"tag-{line.line.id}", _("No such asset tag of this article."))
        else:
            assets[line.line.id] = asset.id
    cleaner.done()
    taken = [a for a in assets.values() if a is not None]
    if len(taken) != len(set(taken)):
        raise FieldErrors(
            {
                f"tag-{k}": _("This asset is already on another line.")
                for k, a in assets.items()
                if a is not None and taken.count(a) > 1
            }
        )
    for line in lines:
        line.line.packed = packed[line.line.id]
        if line.line.id in assets:
            await _hand_out(session, line.line.asset_id, assets[line.line.id])
            line.line.asset_id = assets[line.line.id]
    delivery.crates = crate_count
    delivery.state = "packed"
    delivery.packed_by_user_id, delivery.packed_by_label = actor.user_id, actor.label
    delivery.packed_at = utcnow()
    await record(
        session, actor, "materials.delivery.packed", delivery, data={"crates": crate_count}
    )
    await session.commit()
    return delivery


async def _hand_out(session: AsyncSession, before: int | None, after: int | None) -> None:
    """An asset packed goes "out"; one taken off the line goes back "in_stock"."""
    if before == after:
        return
    for asset_id, state in ((before, "in_stock"), (after, "out")):
        if asset_id is None:
            continue
        asset = await session.scalar(select(MaterialAsset).where(MaterialAsset.id == asset_id))
        if asset is not None:
            asset.state = state


@dataclass(frozen=True)
class LineShown:
    line: MaterialDeliveryLine
    article: str
    unit: str
    kind: str
    tag: str


async def delivery_lines(session: AsyncSession, delivery_id: int) -> list[LineShown]:
    """The delivery's lines with their articles' names (and equipment's asset tags)."""
    rows = await session.execute(
        select(MaterialDeliveryLine, MaterialArticle, MaterialAsset.tag)
        .join(MaterialArticle, MaterialArticle.id == MaterialDeliveryLine.article_id)
        .outerjoin(MaterialAsset, MaterialAsset.id == MaterialDeliveryLine.asset_id)
        .where(MaterialDeliveryLine.delivery_id == delivery_id)
        .order_by(MaterialArticle.kind, MaterialArticle.name, MaterialDeliveryLine.id)
    )
    return [
        LineShown(line, article.name, article.unit, article.kind, tag or "")
        for line, article, tag in rows
    ]


@dataclass(frozen=True)
class DeliveryRow:
    delivery: MaterialDelivery
    station: Station
    district: District | None
    run: MaterialRun | None
    lines: int


async def deliveries_of_election(
    session: AsyncSession, election_id: int, *, run_id: int | None = None
) -> list[DeliveryRow]:
    """The election's deliveries by district and station (those of one run)."""
    query = (
        select(MaterialDelivery, Station, District, MaterialRun)
        .join(Station, Station.id == MaterialDelivery.station_id)
        .outerjoin(District, District.id == Station.district_id)
        .outerjoin(MaterialRun, MaterialRun.id == MaterialDelivery.run_id)
        .where(MaterialDelivery.election_id == election_id)
        .order_by(District.code, District.name, Station.name, Station.id)
    )
    if run_id is not None:
        query = query.where(MaterialDelivery.run_id == run_id)
    rows = (await session.execute(query)).all()
    counts: dict[int, int] = defaultdict(int)
    ids = [row[0].id for row in rows]
    for delivery_id in await session.scalars(
        select(MaterialDeliveryLine.delivery_id).where(MaterialDeliveryLine.delivery_id.in_(ids))
    ):
        counts[delivery_id] += 1
    return [DeliveryRow(d, s, dist, run, counts[d.id]) for d, s, dist, run in rows]


async def plan_runs(session: AsyncSession, actor: Actor, election_id: int) -> int:
    """A run for every district whose stations have deliveries not on a run yet, the
    deliveries put on it (the election day before as the day). Returns how many
    deliveries were put on runs."""
    await require_logistics(session, actor)
    election = await session.scalar(select(Election).where(Election.id == election_id))
    if election is None:
        raise NotFound(_("Not found."))
    loose = (
        await session.execute(
            select(MaterialDelivery, Station.district_id)
            .join(Station, Station.id == MaterialDelivery.station_id)
            .where(MaterialDelivery.election_id == election_id, MaterialDelivery.run_id.is_(None))
        )
    ).all()
    runs = {
        run.district_id: run
        for run in await session.scalars(
            select(MaterialRun).where(MaterialRun.election_id == election_id)
        )
    }
    for delivery, district_id in loose:
        run = runs.get(district_id)
        if run is None:
            run = runs[district_id] = MaterialRun(
                election_id=election_id, district_id=district_id, driver_name="", driver_phone=""
            )
            session.add(run)
            await session.flush()
        delivery.run_id = run.id
    await record(
        session,
        actor,
        "materials.runs.planned",
        None,
        data={"election": election_id, "deliveries": len(loose)},
    )
    await session.commit()
    return len(loose)


async def update_run(
    session: AsyncSession,
    actor: Actor,
    run_id: int,
    *,
    driver_name: str,
    driver_phone: str,
    day: str,
) -> MaterialRun:
    """Name the run's driver, their phone and the day."""
    await require_logistics(session, actor)
    run = await session.scalar(select(MaterialRun).where(MaterialRun.id == run_id))
    if run is None:
        raise NotFound(_("Not found."))
    cleaner = Cleaner({"driver_name": driver_name, "driver_phone": driver_phone, "day": day})
    name = cleaner.text("driver_name", 200)
    phone = cleaner.text("driver_phone", 40)
    when = cleaner.date("day")
    cleaner.done()
    if phone and not all(c.isdigit() or c in "+ -()" for c in phone):
        raise FieldErrors({"driver_phone": _("Enter a phone number.")})
    run.driver_name, run.driver_phone, run.day = name, phone, when
    await record(session, actor, "materials.run.updated", run)
    await session.commit()
    return run


@dataclass(frozen=True)
class RunShown:
    run: MaterialRun
    district: District | None
    deliveries: list[DeliveryRow]


async def runs_of_election(session: AsyncSession, election_id: int) -> list[RunShown]:
    """The election's runs by district, each with its deliveries."""
    rows = await deliveries_of_election(session, election_id)
    by_run: dict[int, list[DeliveryRow]] = defaultdict(list)
    for row in rows:
        if row.run is not None:
            by_run[row.run.id].append(row)
    found = (
        await session.execute(
            select(MaterialRun, District)
            .outerjoin(District, District.id == MaterialRun.district_id)
            .where(MaterialRun.election_id == election_id)
            .order_by(District.code, District.name, MaterialRun.id)
        )
    ).all()
    return [RunShown(run, district, by_run[run.id]) for run, district in found]


async def station_addresses(session: AsyncSession, election_id: int) -> dict[int, str]:
    """Where each station of the election is: its building's street address and city."""
    rows = await session.execute(
        select(Station.id, Building.name, Building.street_address, Building.city)
        .join(Room, Room.id == Station.room_id)
        .join(Building, Building.id == Room.building_id)
        .where(Station.election_id == election_id)
    )
    return {
        station_id: ", ".join(part for part in (street or name, city) if part)
        for station_id, name, street, city in rows
    }
