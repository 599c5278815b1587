"""Shortages on election day: a station's lead reports that the station is out of
something ("ballot papers for party X", "a voting screen is broken"); the coordinators'
live dashboard shows it at once, the logistics view marks it sent and then delivered,
and the station's leads get a push when it is on its way.

Each change is an event on the election's ops topic and the station's topic
(``station.shortage_reported``, ``station.shortage_updated``), written in the change's
transaction; the payload carries ids and the state, never the free text.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import utcnow
from app.core.validation import Cleaner, FieldErrors
from app.domain.models import (
    MaterialArticle,
    MaterialDelivery,
    MaterialDeliveryLine,
    MaterialShortage,
    Station,
)
from app.domain.ops import OpsForbidden, notify
from app.domain.ops.access import actor_may, is_coordinator, station_to_lead
from app.domain.ops.news import announce

MAX_TEXT_LENGTH = 500
#: What may follow what: a shortage is sent, then delivered (sent on the way).
NEXT_STATE = {"reported": ("sent", "delivered"), "sent": ("delivered",), "delivered": ()}
OPEN_STATES = ("reported", "sent")


async def may_handle(session: AsyncSession, actor: Actor) -> bool:
    """Logistics (``materials.edit``) and coordinators mark shortages sent and delivered."""
    return await actor_may(session, actor, "materials.edit") or await is_coordinator(session, actor)


async def report_shortage(
    session: AsyncSession,
    actor: Actor,
    station_id: int,
    *,
    article_id: str = "",
    text: str = "",
) -> MaterialShortage:
    """The station's lead (or a coordinator) reports what the station is short of: an
    article of the station's list, free text, or both. Neither is refused."""
    station = await station_to_lead(session, actor, station_id)
    cleaner = Cleaner({"article_id": article_id, "text": text})
    article = cleaner.identifier("article_id")
    text = cleaner.text("text", MAX_TEXT_LENGTH)
    cleaner.done()
    if article is not None and article not in {
        a.id for a in await station_articles(session, station.id)
    }:
        raise FieldErrors({"article_id": _("Choose an article of the station's list.")})
    if article is None and not text:
        raise FieldErrors({"text": _("Choose what is short, or say it in words.")})
    shortage = MaterialShortage(
        election_id=station.election_id,
        station_id=station.id,
        article_id=article,
        text=text,
        reported_by_user_id=actor.user_id,
    )
    session.add(shortage)
    await session.flush()
    await record(
        session,
        actor,
        "materials.shortage.reported",
        shortage,
        data={"station": station.id, "article": article},
    )
    await announce(
        session,
        station.election_id,
        station.id,
        "station.shortage_reported",
        {"station_id": station.id, "shortage_id": shortage.id, "state": shortage.state},
    )
    await session.commit()
    return shortage


async def move_shortage(
    session: AsyncSession, actor: Actor, shortage_id: int, state: str
) -> MaterialShortage:
    """Mark a shortage ``sent`` (on its way: the station's leads get a push) or
    ``delivered``. Going back, or the same state again, is refused."""
    shortage = await get_shortage(session, shortage_id)
    if not await may_handle(session, actor):
        raise OpsForbidden(_("Only logistics or a coordinator may handle shortages."))
    if state not in NEXT_STATE[shortage.state]:
        raise FieldErrors({"state": _("This shortage is already further along.")})
    now = utcnow()
    if state == "sent":
        shortage.sent_by_user_id, shortage.sent_by_label, shortage.sent_at = (
            actor.user_id,
            actor.label,
            now,
        )
    else:
        shortage.delivered_by_user_id = actor.user_id
        shortage.delivered_by_label = actor.label
        shortage.delivered_at = now
    shortage.state = state
    await record(
        session,
        actor,
        f"materials.shortage.{state}",
        shortage,
        data={"station": shortage.station_id},
    )
    await announce(
        session,
        shortage.election_id,
        shortage.station_id,
        "station.shortage_updated",
        {"station_id": shortage.station_id, "shortage_id": shortage.id, "state": state},
    )
    if state == "sent":
        station = await session.scalar(select(Station).where(Station.id == shortage.station_id))
        assert station is not None
        await notify.shortage_sent(
            session, actor, shortage.id, station, await describe(session, shortage)
        )
    await session.commit()
    return shortage


async def get_shortage(session: AsyncSession, shortage_id: int) -> MaterialShortage:
    shortage = await session.scalar(
        select(MaterialShortage).where(MaterialShortage.id == shortage_id)
    )
    if shortage is None:
        raise NotFound(_("Not found."))
    return shortage


async def station_articles(session: AsyncSession, station_id: int) -> list[MaterialArticle]:
    """What the station can report short: the articles of its delivery, or, before
    anything is planned for it, every active article of the catalogue."""
    delivered = list(
        await session.scalars(
            select(MaterialArticle)
            .join(MaterialDeliveryLine, MaterialDeliveryLine.article_id == MaterialArticle.id)
            .join(MaterialDelivery, MaterialDelivery.id == MaterialDeliveryLine.delivery_id)
            .where(MaterialDelivery.station_id == station_id)
            .order_by(MaterialArticle.name, MaterialArticle.id)
        )
    )
    if delivered:
        return list(dict.fromkeys(delivered))
    return list(
        await session.scalars(
            select(MaterialArticle)
            .where(MaterialArticle.active.is_(True))
            .order_by(MaterialArticle.name, MaterialArticle.id)
        )
    )


async def describe(session: AsyncSession, shortage: MaterialShortage) -> str:
    """What is short, in words: the article's name, the text, or both."""
    name = ""
    if shortage.article_id is not None:
        name = (
            await session.scalar(
                select(MaterialArticle.name).where(MaterialArticle.id == shortage.article_id)
            )
            or ""
        )
    return " – ".join(part for part in (name, shortage.text) if part)


@dataclass(frozen=True)
class ShownShortage:
    """A shortage as the dashboard, the logistics view and the phone show it."""

    id: int
    election_id: int
    station_id: int
    station_name: str
    what: str
    state: str
    reported_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None


async def shortages(
    session: AsyncSession,
    election_id: int,
    *,
    station_ids: frozenset[int] | None = None,
    open_only: bool = False,
) -> list[ShownShortage]:
    """The election's shortages (of some stations; the open ones), oldest first."""
    query = (
        select(MaterialShortage, Station.name, MaterialArticle.name)
        .join(Station, Station.id == MaterialShortage.station_id)
        .outerjoin(MaterialArticle, MaterialArticle.id == MaterialShortage.article_id)
        .where(MaterialShortage.election_id == election_id)
    )
    if station_ids is not None:
        query = query.where(MaterialShortage.station_id.in_(station_ids))
    if open_only:
        query = query.where(MaterialShortage.state.in_(OPEN_STATES))
    rows = await session.execute(
        query.order_by(MaterialShortage.reported_at, MaterialShortage.id).execution_options(
            populate_existing=True
        )
    )
    return [
        ShownShortage(
            id=shortage.id,
            election_id=shortage.election_id,
            station_id=shortage.station_id,
            station_name=station_name,
            what=" – ".join(part for part in (article_name or "", shortage.text) if part),
            state=shortage.state,
            reported_at=shortage.reported_at,
            sent_at=shortage.sent_at,
            delivered_at=shortage.delivered_at,
        )
        for shortage, station_name, article_name in rows
    ]


async def open_shortages_by_station(
    session: AsyncSession, election_id: int, station_ids: frozenset[int] | None = None
) -> dict[int, list[ShownShortage]]:
    """The open shortages of the election's stations (or of ``station_ids``), by station:
    one read for the whole dashboard."""
    by_station: dict[int, list[ShownShortage]] = defaultdict(list)
    for shortage in await shortages(session, election_id, station_ids=station_ids, open_only=True):
        by_station[shortage.station_id].append(shortage)
    return dict(by_station)


async def station_shortages(session: AsyncSession, station_id: int) -> list[ShownShortage]:
    """The station's shortages of its election, newest first (its phone's list)."""
    election_id = await session.scalar(select(Station.election_id).where(Station.id == station_id))
    if election_id is None:
        return []
    found = await shortages(session, election_id, station_ids=frozenset({station_id}))
    return list(reversed(found))
