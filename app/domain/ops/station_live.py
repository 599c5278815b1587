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
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import utcnow
from app.domain.materials.shortages import ShownShortage, station_shortages
from app.domain.models import StationStatus, TurnoutReport
from app.domain.ops import my_day, stations
from app.domain.ops.station_messages import ShownMessage, messages_of_station

#: The parts of a station's page, each read and drawn on its own: a live update reads
#: only those its events changed (a check-in: the team and what keeps it from opening).
PARTS = frozenset({"state", "team", "opening", "messages", "turnout", "shortages"})


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
    #: The parts read (``PARTS``); the others hold nothing and are not to be drawn.
    parts: frozenset[str] = field(default=PARTS)


async def station_now(
    session: AsyncSession,
    station_id: int,
    day: dt.date | None = None,
    parts: Collection[str] = PARTS,
) -> StationNow:
    """The station as it stands, with the team of ``day`` (the station's operations
    day: today, or tomorrow once its first shift's check-in has opened): the ``parts``
    asked for (all by default)."""
    now = utcnow()
    wanted = PARTS.intersection(parts)
    status = await stations.station_state(session, station_id) if "state" in wanted else None
    team: stations.StationTeam | None = None
    if "team" in wanted or "opening" in wanted:
        # The team and what keeps the station from opening from one read of each.
        team = await stations.station_team(session, station_id, now, day)
    return StationNow(
        station_id=station_id,
        state=status.state if status else "not_opened",
        status=status,
        rosters=team.rosters if team is not None and "team" in wanted else [],
        turnout=await my_day.station_turnout(session, station_id) if "turnout" in wanted else {},
        check=(
            team.check
            if team is not None and "opening" in wanted
            else stations.OpeningCheck(None, 0, 0, False)
        ),
        messages=await messages_of_station(session, station_id) if "messages" in wanted else [],
        shortages=await station_shortages(session, station_id) if "shortages" in wanted else [],
        parts=wanted,
    )
