"""A delivery reaching its station and coming back: the station's lead confirms it on
the phone (opened from a crate's QR code, by the delivery's random code), confirming or
correcting the count of each line; after the election the depot counts it back, and
what is missing or damaged is flagged with the lead who confirmed the delivery.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import utcnow
from app.core.validation import Cleaner
from app.domain.materials.packing import (
    DeliveryError,
    count_of,
    delivery_lines,
    get_delivery,
    require_logistics,
)
from app.domain.models import (
    MaterialArticle,
    MaterialAsset,
    MaterialDelivery,
    MaterialDeliveryLine,
    Person,
    Station,
)
from app.domain.ops.access import actor_may, is_coordinator, leads_station, refuse

MAX_NOTE_LENGTH = 500


async def delivery_by_code(session: AsyncSession, actor: Actor, code: str) -> MaterialDelivery:
    """The delivery a crate's QR code names, for its station's lead, a coordinator or
    logistics. A code of another municipality is not found like a wrong one; someone
    not of the station's team learns nothing of it."""
    code = code.strip()
    delivery = None
    if 0 < len(code) <= 40:
        delivery = await session.scalar(
            select(MaterialDelivery).where(MaterialDelivery.code == code)
        )
    if delivery is None:
        raise NotFound(_("Not found."))
    if not (
        await leads_station(session, actor, delivery.station_id)
        or await is_coordinator(session, actor)
        or await actor_may(session, actor, "materials.edit")
    ):
        await refuse(session, actor, delivery.station_id)
    return delivery


async def confirm_delivery(
    session: AsyncSession,
    actor: Actor,
    code: str,
    *,
    counts: Mapping[str, str],
    note: str = "",
) -> MaterialDelivery:
    """The station's lead confirms what arrived: each line's count as packed, or
    corrected (``counts`` by the field ``line-<id>``). Only a lead of the station."""
    delivery = await delivery_by_code(session, actor, code)
    if not await leads_station(session, actor, delivery.station_id):
        raise DeliveryError(_("Only the station's chair or vice chair confirms its delivery."))
    if delivery.state == "planned":
        raise DeliveryError(_("This delivery is not packed yet."))
    if delivery.state != "packed":
        raise DeliveryError(_("This delivery is already confirmed."))
    lines = await delivery_lines(session, delivery.id)
    cleaner = Cleaner({**counts, "note": note})
    arrived = {line.line.id: count_of(cleaner, f"line-{line.line.id}") for line in lines}
    text = cleaner.text("note", MAX_NOTE_LENGTH)
    cleaner.done()
    person = await session.scalar(select(Person).where(Person.user_id == actor.user_id))
    corrected = 0
    for line in lines:
        line.line.delivered = arrived[line.line.id]
        corrected += line.line.delivered != line.line.packed
        if text:
            line.line.note = text
    delivery.state = "delivered"
    delivery.delivered_by_user_id = actor.user_id
    delivery.delivered_by_person_id = person.id if person else None
    delivery.delivered_by_label = (
        f"{person.first_name} {person.last_name}".strip() if person else actor.label
    )
    delivery.delivered_at = utcnow()
    await record(
        session,
        actor,
        "materials.delivery.delivered",
        delivery,
        data={"station": delivery.station_id, "corrected_lines": corrected},
    )
    await session.commit()
    return delivery


async def count_return(
    session: AsyncSession,
    actor: Actor,
    delivery_id: int,
    *,
    returned: Mapping[str, str],
    damaged: Mapping[str, str],
) -> MaterialDelivery:
    """The depot counts a delivery back: per line what came back whole and damaged
    (fields ``returned-<id>``, ``damaged-<id>``, empty for none); the rest of what was delivered is
    missing. Together more than was delivered is refused at the line."""
    await require_logistics(session, actor)
    delivery = await get_delivery(session, delivery_id)
    if delivery.state != "delivered":
        raise DeliveryError(_("Only a delivery confirmed at the station is counted back."))
    lines = await delivery_lines(session, delivery.id)
    cleaner = Cleaner({**returned, **damaged})
    counted: dict[int, tuple[int, int]] = {}
    for line in lines:
        key = line.line.id
        back = count_of(cleaner, f"returned-{key}")
        broken = count_of(cleaner, f"damaged-{key}", blank=0)
        out = line.line.delivered or 0
        if back + broken > out and f"returned-{key}" not in cleaner.errors:
            cleaner.fail(
                f"returned-{key}",
                _("More than was delivered (%(delivered)s).", delivered=out),
            )
        counted[key] = (back, broken)
    cleaner.done()
    for line in lines:
        back, broken = counted[line.line.id]
        line.line.returned, line.line.damaged = back, broken
        line.line.missing = (line.line.delivered or 0) - back - broken
        if line.line.asset_id is not None:
            # A tracked piece comes back to the depot, damaged, or is missing (with
            # who had it: the delivery's lead, on ``not_returned``).
            asset = await session.scalar(
                select(MaterialAsset).where(MaterialAsset.id == line.line.asset_id)
            )
            if asset is not None:
                asset.state = "in_stock" if back else ("damaged" if broken else "missing")
    delivery.state = "returned"
    delivery.returned_by_user_id, delivery.returned_by_label = actor.user_id, actor.label
    delivery.returned_at = utcnow()
    await record(
        session,
        actor,
        "materials.delivery.returned",
        delivery,
        data={
            "missing": sum(line.line.missing for line in lines),
            "damaged": sum(line.line.damaged for line in lines),
        },
    )
    await session.commit()
    return delivery


@dataclass(frozen=True)
class NotReturned:
    """A line counted back short: what, where, and who had it."""

    station: str
    article: str
    missing: int
    damaged: int
    had_by: str
    delivered_at: dt.datetime | None
    delivery_id: int


async def not_returned(session: AsyncSession, election_id: int) -> list[NotReturned]:
    """Everything counted back missing or damaged in the election, by station, with
    the lead who confirmed the delivery ("who had them")."""
    rows = await session.execute(
        select(MaterialDeliveryLine, MaterialDelivery, Station.name, MaterialArticle.name)
        .join(MaterialDelivery, MaterialDelivery.id == MaterialDeliveryLine.delivery_id)
        .join(Station, Station.id == MaterialDelivery.station_id)
        .join(MaterialArticle, MaterialArticle.id == MaterialDeliveryLine.article_id)
        .where(
            MaterialDelivery.election_id == election_id,
            (MaterialDeliveryLine.missing > 0) | (MaterialDeliveryLine.damaged > 0),
        )
        .order_by(Station.name, MaterialArticle.name, MaterialDeliveryLine.id)
    )
    return [
        NotReturned(
            station=station,
            article=article,
            missing=line.missing,
            damaged=line.damaged,
            had_by=delivery.delivered_by_label,
            delivered_at=delivery.delivered_at,
            delivery_id=delivery.id,
        )
        for line, delivery, station, article in rows
    ]


async def station_delivery(session: AsyncSession, station_id: int) -> MaterialDelivery | None:
    """The station's delivery (a station has one per election), for its lead's page."""
    station = await session.scalar(select(Station).where(Station.id == station_id))
    if station is None:
        return None
    return await session.scalar(
        select(MaterialDelivery).where(
            MaterialDelivery.station_id == station.id,
            MaterialDelivery.election_id == station.election_id,
        )
    )
