"""A station's shifts: the spans of a day that clerks are booked for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import Cleaner, FieldErrors
from app.domain.elections.elections import get_election
from app.domain.elections.stations import get_station
from app.domain.elections.voting_days import check_station_day
from app.domain.local_names import clean_other_names, own_language
from app.domain.models import Shift


async def save_shift(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    station_id: int,
    data: Mapping[str, Any],
    shift_id: int | None = None,
) -> Shift:
    """Add a shift to a station, or change one (its name, day and times).

    A refusal (a bad field, a second shift of the name that day) writes nothing.
    Changing a shift with people on it goes through ``staffing.shift_changes``,
    which keeps the staffing rules and tells them.
    """
    shift = await write_shift(session, actor, election_id, station_id, data, shift_id)
    await session.commit()
    return shift


async def write_shift(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    station_id: int,
    data: Mapping[str, Any],
    shift_id: int | None = None,
) -> Shift:
    """``save_shift`` without the commit, for a use case that checks more before it
    commits (the people on a changed shift). Refuses before it writes."""
    election = await get_election(session, election_id)
    station = await get_station(session, station_id, election.id)
    cleaner = Cleaner(data)
    name = cleaner.text("name", 100, required=True)
    names = clean_other_names(cleaner, await own_language(session))
    day = cleaner.date("day", required=True)
    starts_at = cleaner.time("starts_at")
    ends_at = cleaner.time("ends_at")
    check_station_day(cleaner, "day", election, station, day)
    if starts_at and ends_at and ends_at <= starts_at:
        cleaner.fail("ends_at", _("A shift must end after it starts."))
    cleaner.done()
    if any(
        s.name.lower() == name.lower() and s.day == day and s.id != shift_id for s in station.shifts
    ):
        raise FieldErrors({"name": _("The station already has a shift with this name that day.")})
    if shift_id is None:
        shift = Shift(station_id=station.id, norms=[])
        station.shifts.append(shift)
    else:
        found = next((s for s in station.shifts if s.id == shift_id), None)
        if found is None:
            raise NotFound(_("Not found."))
        shift = found
    shift.name, shift.day, shift.starts_at, shift.ends_at = name, day, starts_at, ends_at  # type: ignore[assignment]
    if names is not None:
        shift.names = names
    await session.flush()
    code = "elections.shift.created" if shift_id is None else "elections.shift.updated"
    await record(session, actor, code, shift, data={"station": station.name, "name": name})
    return shift


async def delete_shift(
    session: AsyncSession, actor: Actor, election_id: int, station_id: int, shift_id: int
) -> None:
    station = await get_station(session, station_id, election_id)
    shift = next((s for s in station.shifts if s.id == shift_id), None)
    if shift is None:
        raise NotFound(_("Not found."))
    station.shifts.remove(shift)
    await record(
        session,
        actor,
        "elections.shift.deleted",
        shift,
        data={"station": station.name, "name": shift.name, "day": shift.day.isoformat()},
    )
    await session.commit()
