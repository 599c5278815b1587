"""Stations not open at their opening time: found by a job that runs every minute
(``app.jobs.opening_watch``), told of by push once per station and day.

A station is late when its opening hours for the municipality's local day began at
least ``GRACE`` ago, have not ended, and it is still not opened (no state yet, or "not
opened"): the same rule as the dashboard's "not open" alert, a few minutes later, so
that a chair who presses "open" at 08:01 wakes nobody. A station with shifts but no
opening hours that day (a day for setting up) is never late.

Each station is told of once a day, however often the job runs and on however many
workers at once: under the station's lock (the same one opening the station takes),
the job looks again whether the station opened meanwhile or was already told of, and
claims it with an audit entry ``ops.station.not_open`` on that day's opening hours.
A second worker waits for the lock, then finds the entry. The pushes are written in the
same transaction, and their idempotency keys (station, day, audience, user) are a second
guard.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.models import AuditEntry, utcnow
from app.domain.models import Station, StationOpening, StationStatus
from app.domain.ops import notify
from app.domain.ops.access import at, local_zone, lock_station
from app.domain.ops.notify import LateStation
from app.domain.ops.stations import station_state

#: How long after the opening time a station still not open is told of.
GRACE = dt.timedelta(minutes=5)
AUDIT_CODE = "ops.station.not_open"
ACTOR = Actor.system("opening-watch")


async def late_stations(
    session: AsyncSession, now: dt.datetime, grace: dt.timedelta = GRACE
) -> list[tuple[LateStation, int]]:
    """The current municipality's stations not open ``grace`` after their opening time
    today (local), before their closing time; with each one's opening-hours row id."""
    zone = await local_zone(session)
    today = now.astimezone(zone).date()
    rows = await session.execute(
        select(Station, StationOpening)
        .join(StationOpening, StationOpening.station_id == Station.id)
        .outerjoin(StationStatus, StationStatus.station_id == Station.id)
        .where(
            StationOpening.day == today,
            or_(StationStatus.id.is_(None), StationStatus.state == "not_opened"),
        )
        .order_by(Station.id)
    )
    found = []
    for station, opening in rows:
        opens, closes = at(today, opening.opens_at, zone), at(today, opening.closes_at, zone)
        if opens + grace <= now < closes:
            late = LateStation(
                station.id, station.election_id, station.name, today, opening.opens_at
            )
            found.append((late, opening.id))
    return found


async def alert_late_openings(
    session: AsyncSession, now: dt.datetime | None = None, grace: dt.timedelta = GRACE
) -> list[int]:
    """Tell of the current municipality's stations found late, each once a day; returns
    the ids of those told of now (none: nothing new). Commits."""
    now = (now or utcnow()).astimezone(dt.UTC)
    late = await late_stations(session, now, grace)
    told = await _told_of(session, [opening_id for _late, opening_id in late])
    claimed: list[LateStation] = []
    for station, opening_id in late:
        if opening_id in told:
            continue
        await lock_station(session, station.station_id)
        status = await station_state(session, station.station_id)
        if status is not None and status.state != "not_opened":
            continue  # opened meanwhile
        if await _told_of(session, [opening_id]):
            continue  # another worker was quicker
        opening = await session.scalar(
            select(StationOpening).where(StationOpening.id == opening_id)
        )
        await record(
            session,
            ACTOR,
            AUDIT_CODE,
            opening,
            data={
                "station_id": station.station_id,
                "day": station.day.isoformat(),
                "opens_at": station.opens_at.strftime("%H:%M"),
            },
        )
        claimed.append(station)
    if claimed:
        await notify.stations_not_open(session, claimed, [station for station, _id in late])
    await session.commit()
    return [station.station_id for station in claimed]


async def _told_of(session: AsyncSession, opening_ids: list[int]) -> set[int]:
    """Which of the opening-hours rows (a station's day) were already told of."""
    if not opening_ids:
        return set()
    found = await session.scalars(
        select(AuditEntry.object_id).where(
            AuditEntry.code == AUDIT_CODE,
            AuditEntry.object_type == StationOpening.__name__,
            AuditEntry.object_id.in_([str(opening_id) for opening_id in opening_ids]),
        )
    )
    return {int(object_id) for object_id in found if object_id is not None}
