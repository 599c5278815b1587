"""Who may act on a station on election day, checked again in every service.

A coordinator (``ops.coordinate``) may act on every station; a station lead is a person
holding a chair's or vice chair's place on one of the station's shifts, through their
own account; the team is everyone holding a place there. API tokens and system jobs act
with no user and are trusted like coordinators: the token's tenant already scopes them.
"""

from __future__ import annotations

import datetime as dt
from typing import NoReturn
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.users import membership_in
from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import Tenant, utcnow
from app.core.permissions import role_has
from app.core.tenancy import require_tenant_id
from app.domain.models import HOLDING_STATES, Assignment, Person, RoleType, Station
from app.domain.ops import OpsForbidden


async def actor_may(session: AsyncSession, actor: Actor, permission: str) -> bool:
    """Whether the actor holds ``permission`` in the current municipality."""
    if actor.user_id is None:
        return True
    membership = await membership_in(session, actor.user_id, require_tenant_id())
    return membership is not None and role_has(membership.role, permission)


async def is_coordinator(session: AsyncSession, actor: Actor) -> bool:
    return await actor_may(session, actor, "ops.coordinate")


async def leads_station(session: AsyncSession, actor: Actor, station_id: int) -> bool:
    """Whether the actor's own person holds a chair's or vice chair's place at the station."""
    if actor.user_id is None:
        return False
    found = await session.scalar(
        select(Assignment.id)
        .join(Person, Person.id == Assignment.person_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .where(
            Person.user_id == actor.user_id,
            Assignment.station_id == station_id,
            Assignment.state.in_(HOLDING_STATES),
            RoleType.leads_station.is_(True),
        )
        .limit(1)
    )
    return found is not None


async def on_station_team(session: AsyncSession, actor: Actor, station_id: int) -> bool:
    """Whether the actor's own person holds any place at the station."""
    if actor.user_id is None:
        return False
    found = await session.scalar(
        select(Assignment.id)
        .join(Person, Person.id == Assignment.person_id)
        .where(
            Person.user_id == actor.user_id,
            Assignment.station_id == station_id,
            Assignment.state.in_(HOLDING_STATES),
        )
        .limit(1)
    )
    return found is not None


async def get_station(session: AsyncSession, station_id: int) -> Station:
    station = await session.scalar(select(Station).where(Station.id == station_id))
    if station is None:
        raise NotFound(_("Not found."))
    return station


async def station_to_lead(session: AsyncSession, actor: Actor, station_id: int) -> Station:
    """The station, when the actor coordinates or leads it.

    Someone who cannot see the station at all gets NotFound, like for another
    municipality's; a planner or a clerk of the team is told they may not.
    """
    station = await get_station(session, station_id)
    if await is_coordinator(session, actor) or await leads_station(session, actor, station.id):
        return station
    await refuse(session, actor, station.id)


async def refuse(session: AsyncSession, actor: Actor, station_id: int) -> NoReturn:
    """Raise the right refusal for an actor who may not do something to a station."""
    if await actor_may(session, actor, "ops.view") or await on_station_team(
        session, actor, station_id
    ):
        raise OpsForbidden(_("You may not do this at this station."))
    raise NotFound(_("Not found."))


async def lock_station(session: AsyncSession, station_id: int) -> None:
    """Take the station's lock until the transaction ends.

    A write to the station's row: a row lock on PostgreSQL, the start of the one write
    transaction on SQLite. Two leads or coordinators changing the station's state or
    turnout at once are served one after the other, each seeing what the other wrote.
    """
    await session.execute(
        update(Station)
        .where(Station.id == station_id)
        .values(name=Station.name)
        .execution_options(synchronize_session=False)
    )


async def local_zone(session: AsyncSession) -> ZoneInfo:
    """The current municipality's time zone: election days are local days."""
    tenant = await session.get(Tenant, require_tenant_id())
    return ZoneInfo(tenant.timezone if tenant else "Europe/Stockholm")


async def local_today(session: AsyncSession, now: dt.datetime | None = None) -> dt.date:
    """Today in the municipality's time zone: election days are local days."""
    zone = await local_zone(session)
    return (now or utcnow()).astimezone(zone).date()


def at(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    """A local wall-clock time on a day, as an aware datetime."""
    return dt.datetime.combine(day, time, tzinfo=zone)
