"""What the reserve pool and regular places say about each other, so the reserves page
and the optimiser's proposal agree: a reserve who also holds (or is proposed for) a
regular place is not free to be sent on election day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.models import HOLDING_STATES, Assignment, Reserve, Shift, Station


@dataclass(frozen=True)
class RegularPlace:
    """A place a reserve holds on a station's shift (proposed, offered or accepted)."""

    station: str
    day: dt.date
    starts_at: dt.time
    ends_at: dt.time
    state: str


async def reserve_people(session: AsyncSession, election_id: int) -> set[int]:
    """The people in an election's reserve pool."""
    return set(
        await session.scalars(select(Reserve.person_id).where(Reserve.election_id == election_id))
    )


async def regular_places_of_reserves(
    session: AsyncSession, election_id: int
) -> dict[int, list[RegularPlace]]:
    """Per reserve (person id), the regular places they hold in the same election."""
    rows = await session.execute(
        select(
            Assignment.person_id,
            Station.name,
            Shift.day,
            Shift.starts_at,
            Shift.ends_at,
            Assignment.state,
        )
        .join(Reserve, Reserve.person_id == Assignment.person_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Station, Station.id == Assignment.station_id)
        .where(
            Reserve.election_id == election_id,
            Assignment.election_id == election_id,
            Assignment.state.in_(HOLDING_STATES),
        )
        .order_by(Shift.day, Shift.starts_at, Assignment.id)
    )
    found: dict[int, list[RegularPlace]] = {}
    for person_id, station, day, starts_at, ends_at, state in rows:
        place = RegularPlace(station, day, starts_at, ends_at, state)
        found.setdefault(person_id, []).append(place)
    return found
