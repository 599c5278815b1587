"""Which day election day's pages are about: the operations day.

Mostly the municipality's local today. But check-in for a shift opens ``EARLY`` before
it starts (``checkins.EARLY``), so a shift starting at midnight opens at 22:00 the
evening before. From then, while none of today's shifts still runs, the dashboard, a
station's team and the pushes to its leads are about tomorrow: the people checking in
are tomorrow's, and a board of today's (finished) shifts would not show them.

``current_shift`` (which shift a check-in counts toward) follows the same rule shift by
shift; this module gives the pages the one day that rule makes current.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import utcnow
from app.domain.models import Shift, Station
from app.domain.ops.access import at, local_zone
from app.domain.ops.checkins import EARLY


async def ops_day(
    session: AsyncSession,
    now: dt.datetime | None = None,
    *,
    election_id: int | None = None,
    station_ids: Collection[int] | None = None,
) -> dt.date:
    """The local day whose shifts are live at ``now``, for the shifts of an election or
    of some stations (all the municipality's when neither is given).

    Today, unless check-in for one of tomorrow's shifts has opened and no shift of
    today is still running: then tomorrow. Before ``EARLY`` ahead of midnight no shift
    of tomorrow can have opened, and it is today without a read.
    """
    zone = await local_zone(session)
    local = (now or utcnow()).astimezone(zone)
    today = local.date()
    tomorrow = today + dt.timedelta(days=1)
    if local < at(tomorrow, dt.time.min, zone) - EARLY:
        return today
    query = select(Shift.day, func.min(Shift.starts_at), func.max(Shift.ends_at)).where(
        Shift.day.in_([today, tomorrow])
    )
    if election_id is not None:
        query = query.join(Station, Station.id == Shift.station_id).where(
            Station.election_id == election_id
        )
    if station_ids is not None:
        query = query.where(Shift.station_id.in_(list(station_ids)))
    bounds = {
        day: (first, last) for day, first, last in await session.execute(query.group_by(Shift.day))
    }
    return day_of(local, zone, bounds)


def day_of(
    local: dt.datetime, zone: ZoneInfo, bounds: Mapping[dt.date, tuple[dt.time, dt.time]]
) -> dt.date:
    """The operations day at ``local`` (a time in ``zone``), given the earliest start and
    the latest end of the shifts of each day (today's and tomorrow's at least)."""
    today = local.date()
    tomorrow = today + dt.timedelta(days=1)
    if local < at(tomorrow, dt.time.min, zone) - EARLY or tomorrow not in bounds:
        return today
    still_running = today in bounds and local < at(today, bounds[today][1], zone)
    opened = at(tomorrow, bounds[tomorrow][0], zone) - EARLY <= local
    return tomorrow if opened and not still_running else today
