"""Coordinators' messages to the phones at the stations: to one station, the stations
of a district or all stations of an election. Each station it goes to gets a row
(``StationMessageRead``) that a clerk there marks read; the coordinators see how many
stations have read it. The message is shown at once on the stations' phones (an event
on each station's topic), and pushed to the stations' leads of the day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.events import ops_topic, record_events, station_topic
from app.core.i18n import _, locale_scope
from app.core.models import PushSubscription, Tenant, User, utcnow
from app.core.outbox.push import queue_push
from app.core.tenancy import require_tenant_id
from app.core.validation import Cleaner, FieldErrors
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    District,
    Election,
    Person,
    RoleType,
    Shift,
    Station,
    StationMessage,
    StationMessageRead,
)
from app.domain.ops import OpsForbidden
from app.domain.ops.access import is_coordinator, on_station_team, refuse
from app.domain.ops.day import ops_day

SCOPES = ("station", "district", "all")
MAX_TEXT_LENGTH = 1000
#: The newest messages a station's phones show.
SHOWN = 10


async def send_station_message(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    *,
    scope: str,
    target_id: str = "",
    text: str = "",
) -> StationMessage:
    """Send ``text`` to one station or district of the election (``target_id``) or to
    all its stations. Only a coordinator may; a refusal writes nothing."""
    election = await session.scalar(select(Election).where(Election.id == election_id))
    if election is None:
        raise NotFound(_("Not found."))
    if not await is_coordinator(session, actor):
        raise OpsForbidden(_("Only a coordinator may send messages to the stations."))
    cleaner = Cleaner({"scope": scope, "target_id": target_id, "text": text})
    scope = cleaner.choice("scope", SCOPES)
    target = cleaner.identifier("target_id", required=scope != "all")
    text = cleaner.text("text", MAX_TEXT_LENGTH, required=True)
    cleaner.done()
    station_ids = await _stations_of(session, election_id, scope, target)
    if not station_ids:
        raise FieldErrors({"target_id": _("Choose a station or district of this election.")})
    message = StationMessage(
        election_id=election_id,
        scope=scope,
        district_id=target if scope == "district" else None,
        station_id=target if scope == "station" else None,
        text=text,
        sent_by_user_id=actor.user_id,
        sent_by_label=actor.label,
    )
    session.add(message)
    await session.flush()
    session.add_all(StationMessageRead(message_id=message.id, station_id=s) for s in station_ids)
    await record(
        session,
        actor,
        "ops.station_message.sent",
        message,
        data={"scope": scope, "target": target, "stations": len(station_ids)},
    )
    tenant_id = require_tenant_id()
    await record_events(
        session,
        topics=[ops_topic(tenant_id, election_id)]
        + [station_topic(tenant_id, s) for s in station_ids],
        type="station.message",
        payload={"message_id": message.id},
        election_id=election_id,
    )
    await _push_to_leads(session, actor, message, station_ids)
    await session.commit()
    return message


async def _stations_of(
    session: AsyncSession, election_id: int, scope: str, target: int | None
) -> list[int]:
    """The election's stations a message of ``scope`` to ``target`` goes to."""
    query = select(Station.id).where(Station.election_id == election_id)
    if scope == "station":
        query = query.where(Station.id == target)
    elif scope == "district":
        district = await session.scalar(
            select(District.id).where(District.id == target, District.election_id == election_id)
        )
        if district is None:
            return []
        query = query.where(Station.district_id == district)
    return list(await session.scalars(query.order_by(Station.id)))


async def _push_to_leads(
    session: AsyncSession, actor: Actor, message: StationMessage, station_ids: list[int]
) -> None:
    """One push to each lead of the day of the stations (once, however many they lead)."""
    tenant = await session.get(Tenant, require_tenant_id())
    assert tenant is not None
    day = await ops_day(session, station_ids=station_ids)
    users = await session.scalars(
        select(User)
        .join(Person, Person.user_id == User.id)
        .join(Assignment, Assignment.person_id == Person.id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .where(
            Assignment.station_id.in_(station_ids),
            Assignment.state.in_(HOLDING_STATES),
            RoleType.leads_station.is_(True),
            Shift.day == day,
            User.is_active.is_(True),
            User.id.in_(
                select(PushSubscription.user_id).where(PushSubscription.tenant_id == tenant.id)
            ),
        )
        .order_by(User.id)
    )
    for user in users.unique():
        if user.id == actor.user_id:
            continue
        with locale_scope(user.locale or tenant.locale):
            title = _("Message from the election office")
        await queue_push(
            session,
            user_id=user.id,
            title=title,
            body=message.text,
            url=f"/{tenant.slug}/portal/election-day",
            tag=f"station-message-{message.id}",
            idempotency_key=f"push:station-message:{message.id}:u{user.id}",
            tenant_id=tenant.id,
        )


async def mark_read(
    session: AsyncSession, actor: Actor, station_id: int, message_id: int
) -> StationMessageRead:
    """A clerk of the station marks the message read there (once; again is no change)."""
    if not await on_station_team(session, actor, station_id):
        await refuse(session, actor, station_id)
    row = await session.scalar(
        select(StationMessageRead).where(
            StationMessageRead.message_id == message_id,
            StationMessageRead.station_id == station_id,
        )
    )
    if row is None:
        raise NotFound(_("Not found."))
    if row.read_at is None:
        row.read_at = utcnow()
        row.read_by_user_id = actor.user_id
        await record(session, actor, "ops.station_message.read", row, data={"station": station_id})
        election_id = await session.scalar(
            select(StationMessage.election_id).where(StationMessage.id == message_id)
        )
        tenant_id = require_tenant_id()
        await record_events(
            session,
            topics=[station_topic(tenant_id, station_id)],
            type="station.message_read",
            payload={"message_id": message_id, "station_id": station_id},
            election_id=election_id,
        )
        await session.commit()
    return row


@dataclass(frozen=True)
class ShownMessage:
    id: int
    text: str
    created_at: dt.datetime
    read_at: dt.datetime | None


async def messages_of_station(session: AsyncSession, station_id: int) -> list[ShownMessage]:
    """The newest messages sent to the station, newest first, with whether read there."""
    rows = await session.execute(
        select(StationMessage, StationMessageRead.read_at)
        .join(StationMessageRead, StationMessageRead.message_id == StationMessage.id)
        .where(StationMessageRead.station_id == station_id)
        .order_by(StationMessage.id.desc())
        .limit(SHOWN)
        .execution_options(populate_existing=True)
    )
    return [ShownMessage(m.id, m.text, m.created_at, read_at) for m, read_at in rows]


@dataclass(frozen=True)
class SentMessage:
    message: StationMessage
    stations: int
    read: int


async def sent_messages(session: AsyncSession, election_id: int) -> list[SentMessage]:
    """The election's messages, newest first, with how many stations have read each."""
    rows = await session.execute(
        select(
            StationMessage,
            func.count(StationMessageRead.id),
            func.count(StationMessageRead.read_at),
        )
        .join(StationMessageRead, StationMessageRead.message_id == StationMessage.id)
        .where(StationMessage.election_id == election_id)
        .group_by(StationMessage.id)
        .order_by(StationMessage.id.desc())
        .limit(50)
    )
    return [SentMessage(m, int(total), int(read)) for m, total, read in rows]
