"""What every phone at one polling station shows of the station right now: its state,
who of the team has arrived, what keeps it
from opening, the turnout reported, the coordinators' messages. Drawn on the clerk's election-day
page and again, for the station's topic, each time one of its events comes (the same
for every reader of the topic: nothing here is anyone's own, no contact details).

Reads only; the face checks who may see it (``access.on_station_team``, and for a
socket ``app.realtime.access``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import utcnow
from app.domain.materials.shortages import ShownShortage, station_shortages
from app.domain.models import StationStatus, TurnoutReport
from app.domain.ops import my_day, stations
from app.domain.ops.day import ops_day
from app.domain.ops.station_messages import ShownMessage, messages_of_station


@dataclass(frozen=True)
class StationNow:
    station_id: int
    #: "not_opened", "open", "paused", "closed", "counting" or "result_reported".
    state: str
    status: StationStatus | None
    rosters: list[stations.ShiftRoster]
    turnout: dict[str, TurnoutReport]
    #: What keeps the station from opening now (the chair's page shows it).
    check: stations.OpeningCheck
    #: The coordinators' newest messages to the station, newest first.
    messages: list[ShownMessage]
    #: What the station reported short, newest first, and how far each has come.
    shortages: list[ShownShortage]


async def station_now(
    session: AsyncSession, station_id: int, day: dt.date | None = None
) -> StationNow:
    """The station as it stands, with the team of ``day`` (the station's operations
    day: today, or tomorrow once its first shift's check-in has opened)."""
    now = utcnow()
    if day is None:
        day = await ops_day(session, now, station_ids=[station_id])
    status = await stations.station_state(session, station_id)
    return StationNow(
        station_id=station_id,
        state=status.state if status else "not_opened",
        status=status,
        rosters=await stations.station_roster(session, station_id, day),
        turnout=await my_day.station_turnout(session, station_id),
        check=await stations.opening_check(session, station_id, now),
        messages=await messages_of_station(session, station_id),
        shortages=await station_shortages(session, station_id),
    )
