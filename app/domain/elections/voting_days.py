"""The days stations may open: each advance voting day and election day, by kind of
station, and the shifts and opening hours an election or station would strand outside
them when its dates or kind change."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _
from app.core.validation import Cleaner
from app.domain.models import Election, Shift, Station, StationOpening


def allowed_days(values: Mapping[str, Any]) -> dict[str, set[dt.date]]:
    """For each kind of station, the days it may open with these election dates."""
    advance: set[dt.date] = {values["election_day"]}
    start, end = values.get("advance_start"), values.get("advance_end")
    if start and end:
        advance |= {start + dt.timedelta(days=n) for n in range((end - start).days + 1)}
    return {"polling": {values["election_day"]}, "advance": advance}


async def days_outside(
    session: AsyncSession,
    election_id: int,
    allowed: Mapping[str, set[dt.date]],
    station_id: int | None = None,
) -> int:
    """How many shifts and opening days of the election would fall on days not allowed."""
    count = 0
    for model in (Shift, StationOpening):
        statement = (
            select(Station.kind, model.day)
            .join(Station, model.station_id == Station.id)
            .where(Station.election_id == election_id)
        )
        if station_id is not None:
            statement = statement.where(Station.id == station_id)
        for kind, day in await session.execute(statement):
            count += day not in allowed[kind]
    return count


def allowed_days_of(election: Election) -> dict[str, set[dt.date]]:
    """For each kind of station, the days it may open in this election as stored."""
    return allowed_days(
        {
            "election_day": election.election_day,
            "advance_start": election.advance_start,
            "advance_end": election.advance_end,
        }
    )


def voting_days(election: Election) -> list[dt.date]:
    """The days anything can happen at a station: advance voting days and election day."""
    return sorted(allowed_days_of(election)["advance"])


def check_station_day(
    cleaner: Cleaner, field: str, election: Election, station: Station, day: dt.date | None
) -> None:
    """Name ``field`` as wrong when the station's kind is closed on ``day``."""
    if day is None:
        return
    if station.kind == "polling" and day != election.election_day:
        cleaner.fail(field, _("A polling station is open on election day only."))
    elif station.kind == "advance" and day not in voting_days(election):
        cleaner.fail(field, _("Choose a day of the advance voting period or election day."))
