"""A station's opening hours, one day at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import Cleaner
from app.domain.elections.elections import get_election
from app.domain.elections.stations import get_station
from app.domain.elections.voting_days import check_station_day
from app.domain.models import StationOpening


async def set_opening(
    session: AsyncSession, actor: Actor, election_id: int, station_id: int, data: Mapping[str, Any]
) -> StationOpening:
    """Set (or replace) a station's opening hours on one day."""
    election = await get_election(session, election_id)
    station = await get_station(session, station_id, election.id)
    cleaner = Cleaner(data)
    day = cleaner.date("day", required=True)
    opens_at = cleaner.time("opens_at")
    closes_at = cleaner.time("closes_at")
    check_station_day(cleaner, "day", election, station, day)
    if opens_at and closes_at and closes_at <= opens_at:
        cleaner.fail("closes_at", _("The station must close after it opens."))
    cleaner.done()
    assert day and opens_at and closes_at
    opening = next((item for item in station.openings if item.day == day), None)
    if opening is None:
        opening = StationOpening(day=day, opens_at=opens_at, closes_at=closes_at)
        station.openings.append(opening)
    else:
        opening.opens_at, opening.closes_at = opens_at, closes_at
    await session.flush()
    await record(
        session,
        actor,
        "elections.station.opening_set",
        station,
        data={
            "day": day.isoformat(),
            "opens": opens_at.isoformat("minutes"),
            "closes": closes_at.isoformat("minutes"),
        },
    )
    await session.commit()
    return opening


async def delete_opening(
    session: AsyncSession, actor: Actor, election_id: int, station_id: int, day: dt.date
) -> None:
    station = await get_station(session, station_id, election_id)
    opening = next((o for o in station.openings if o.day == day), None)
    if opening is None:
        raise NotFound(_("Not found."))
    station.openings.remove(opening)
    await record(
        session, actor, "elections.station.opening_deleted", station, data={"day": day.isoformat()}
    )
    await session.commit()
