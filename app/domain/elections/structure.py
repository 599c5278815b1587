"""Elections and their structure: districts, stations, opening hours, shifts and norms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import Cleaner, FieldErrors, parse_id
from app.domain.models import (
    ELECTION_KINDS,
    ELECTION_STATUSES,
    STATION_KINDS,
    Building,
    District,
    Election,
    RoleType,
    Room,
    Shift,
    StaffingNorm,
    Station,
    StationOpening,
)
from app.domain.saving import is_taken, store

FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_ADVANCE_DAYS = 60

# --- elections --------------------------------------------------------------------------


def clean_election(data: Mapping[str, Any]) -> dict[str, Any]:
    cleaner = Cleaner(data)
    values: dict[str, Any] = {
        "name": cleaner.text("name", 200, required=True),
        "kind": cleaner.choice("kind", ELECTION_KINDS),
        "election_day": cleaner.date("election_day", required=True),
        "advance_start": cleaner.date("advance_start"),
        "advance_end": cleaner.date("advance_end"),
        "status": cleaner.choice("status", ELECTION_STATUSES, "planning"),
    }
    start, end, day = values["advance_start"], values["advance_end"], values["election_day"]
    for name in ("election_day", "advance_start", "advance_end"):
        if values[name] and not FIRST_YEAR <= values[name].year <= LAST_YEAR:
            cleaner.fail(
                name,
                _("Choose a date from %(first)s to %(last)s.", first=FIRST_YEAR, last=LAST_YEAR),
            )
            values[name] = None
    start, end, day = values["advance_start"], values["advance_end"], values["election_day"]
    if (start is None) != (end is None):
        cleaner.fail("advance_end", _("Give both the first and the last day of advance voting."))
    elif start and end and start > end:
        cleaner.fail("advance_end", _("Advance voting cannot end before it starts."))
    elif end and day and end > day:
        cleaner.fail("advance_end", _("Advance voting cannot go on after election day."))
    elif start and end and (end - start).days > MAX_ADVANCE_DAYS:
        cleaner.fail(
            "advance_start",
            _("Advance voting can last at most %(days)s days.", days=MAX_ADVANCE_DAYS),
        )
    cleaner.done()
    return values


async def save_election(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any], election_id: int | None = None
) -> Election:
    values = clean_election(data)
    election = Election() if election_id is None else await get_election(session, election_id)
    if election_id is not None:
        stranded = await _days_outside(session, election.id, _allowed_days(values))
        if stranded:
            raise FieldErrors(
                {
                    "election_day": _(
                        "%(count)s shifts or opening days fall outside the new dates; "
                        "move or remove them first.",
                        count=stranded,
                    )
                }
            )
    return await store(
        session,
        actor,
        election,
        values,
        "elections.election",
        election_id is None,
        {"name": values["name"]},
    )


async def get_election(session: AsyncSession, election_id: int) -> Election:
    election = await session.scalar(select(Election).where(Election.id == election_id))
    if election is None:
        raise NotFound(_("Not found."))
    return election


async def list_elections(session: AsyncSession) -> list[tuple[Election, int, int]]:
    """Every election, newest first, with its number of districts and stations."""
    districts = (
        select(func.count(District.id)).where(District.election_id == Election.id).scalar_subquery()
    )
    stations = (
        select(func.count(Station.id)).where(Station.election_id == Election.id).scalar_subquery()
    )
    rows = await session.execute(
        select(Election, districts, stations).order_by(Election.election_day.desc(), Election.id)
    )
    return [
        (election, district_count, station_count)
        for election, district_count, station_count in rows
    ]


def _allowed_days(values: Mapping[str, Any]) -> dict[str, set[dt.date]]:
    """For each kind of station, the days it may open with these election dates."""
    advance: set[dt.date] = {values["election_day"]}
    start, end = values.get("advance_start"), values.get("advance_end")
    if start and end:
        advance |= {start + dt.timedelta(days=n) for n in range((end - start).days + 1)}
    return {"polling": {values["election_day"]}, "advance": advance}


async def _days_outside(
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


def voting_days(election: Election) -> list[dt.date]:
    """The days anything can happen at a station: advance voting days and election day."""
    dates = {
        "election_day": election.election_day,
        "advance_start": election.advance_start,
        "advance_end": election.advance_end,
    }
    return sorted(_allowed_days(dates)["advance"])


# --- districts --------------------------------------------------------------------------


async def save_district(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    data: Mapping[str, Any],
    district_id: int | None = None,
) -> District:
    election = await get_election(session, election_id)
    cleaner = Cleaner(data)
    values = {
        "code": cleaner.text("code", 20, required=True),
        "name": cleaner.text("name", 200, required=True),
        "eligible_voters": cleaner.integer("eligible_voters", 0, 10_000_000),
    }
    cleaner.done()
    same_code = select(District.id).where(
        District.election_id == election.id, District.code == values["code"]
    )
    if await is_taken(session, same_code, District.id, district_id):
        raise FieldErrors({"code": _("Another district of this election has this code.")})
    district = (
        District(election_id=election.id)
        if district_id is None
        else await get_district(session, district_id, election.id)
    )
    return await store(
        session,
        actor,
        district,
        values,
        "elections.district",
        district_id is None,
        {"code": values["code"]},
    )


async def get_district(session: AsyncSession, district_id: int, election_id: int) -> District:
    district = await session.scalar(
        select(District).where(District.id == district_id, District.election_id == election_id)
    )
    if district is None:
        raise NotFound(_("Not found."))
    return district


# --- stations and opening hours -------------------------------------------------------


async def save_station(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    data: Mapping[str, Any],
    station_id: int | None = None,
) -> Station:
    """A polling station belongs to a district of the same election; an advance-voting
    station to none. The room must be one of this municipality's."""
    election = await get_election(session, election_id)
    cleaner = Cleaner(data)
    values: dict[str, Any] = {
        "name": cleaner.text("name", 200, required=True),
        "kind": cleaner.choice("kind", STATION_KINDS, "polling"),
        "district_id": None,
        "room_id": None,
    }
    district_id = parse_id(cleaner.raw("district_id"))
    if values["kind"] == "polling":
        district = None
        if district_id is not None:
            district = await session.scalar(
                select(District).where(
                    District.id == district_id, District.election_id == election.id
                )
            )
        if district is None:
            cleaner.fail("district_id", _("Choose the district the polling station serves."))
        else:
            values["district_id"] = district.id
    if cleaner.raw("room_id"):
        room_id = parse_id(cleaner.raw("room_id"))
        # Scoped to the tenant: another municipality's room is simply not found.
        room = None
        if room_id is not None:
            room = await session.scalar(select(Room).where(Room.id == room_id))
        if room is None:
            cleaner.fail("room_id", _("Choose a room from the register."))
        else:
            values["room_id"] = room.id
    cleaner.done()
    same_name = select(Station.id).where(
        Station.election_id == election.id, func.lower(Station.name) == values["name"].lower()
    )
    if await is_taken(session, same_name, Station.id, station_id):
        raise FieldErrors({"name": _("Another station of this election has this name.")})
    station = (
        Station(election_id=election.id)
        if station_id is None
        else await get_station(session, station_id, election.id)
    )
    if station_id is not None and values["kind"] != station.kind:
        allowed = _allowed_days(
            {
                "election_day": election.election_day,
                "advance_start": election.advance_start,
                "advance_end": election.advance_end,
            }
        )
        allowed = {station.kind: allowed[values["kind"]]}
        if await _days_outside(session, election.id, allowed, station.id):
            raise FieldErrors(
                {
                    "kind": _(
                        "The station has shifts or opening days when the new kind is closed; "
                        "move or remove them first."
                    )
                }
            )
    return await store(
        session,
        actor,
        station,
        values,
        "elections.station",
        station_id is None,
        {"name": values["name"], "kind": values["kind"]},
    )


async def get_station(session: AsyncSession, station_id: int, election_id: int) -> Station:
    station = await session.scalar(
        select(Station)
        .where(Station.id == station_id, Station.election_id == election_id)
        .options(
            selectinload(Station.openings),
            selectinload(Station.shifts)
            .selectinload(Shift.norms)
            .selectinload(StaffingNorm.role_type),
            selectinload(Station.room).selectinload(Room.building),
            selectinload(Station.district),
        )
        # Refresh collections an earlier call of this session may have loaded.
        .execution_options(populate_existing=True)
    )
    if station is None:
        raise NotFound(_("Not found."))
    return station


def _check_day(
    cleaner: Cleaner, field: str, election: Election, station: Station, day: dt.date | None
) -> None:
    if day is None:
        return
    if station.kind == "polling" and day != election.election_day:
        cleaner.fail(field, _("A polling station is open on election day only."))
    elif station.kind == "advance" and day not in voting_days(election):
        cleaner.fail(field, _("Choose a day of the advance voting period or election day."))


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
    _check_day(cleaner, "day", election, station, day)
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


# --- shifts and norms -------------------------------------------------------------------


async def save_shift(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    station_id: int,
    data: Mapping[str, Any],
    shift_id: int | None = None,
) -> Shift:
    election = await get_election(session, election_id)
    station = await get_station(session, station_id, election.id)
    cleaner = Cleaner(data)
    name = cleaner.text("name", 100, required=True)
    day = cleaner.date("day", required=True)
    starts_at = cleaner.time("starts_at")
    ends_at = cleaner.time("ends_at")
    _check_day(cleaner, "day", election, station, day)
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
    await session.flush()
    code = "elections.shift.created" if shift_id is None else "elections.shift.updated"
    await record(session, actor, code, shift, data={"station": station.name, "name": name})
    await session.commit()
    return shift


async def set_norms(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    station_id: int,
    shift_id: int,
    counts: Mapping[str, Any],
) -> Shift:
    """Set minimum and target per role for one shift. ``counts`` holds
    ``min_<role code>`` and ``target_<role code>``; a role with 0/0 is removed."""
    station = await get_station(session, station_id, election_id)
    shift = next((s for s in station.shifts if s.id == shift_id), None)
    if shift is None:
        raise NotFound(_("Not found."))
    role_types = list(await session.scalars(select(RoleType).order_by(RoleType.sort_order)))
    cleaner = Cleaner(counts)
    wanted: dict[int, tuple[int, int]] = {}
    for role in role_types:
        minimum = cleaner.integer(f"min_{role.code}", 0, 100)
        target = cleaner.integer(f"target_{role.code}", 0, 100, default=minimum)
        if target < minimum:
            cleaner.fail(f"target_{role.code}", _("The target cannot be below the minimum."))
        wanted[role.id] = (minimum, target)
    cleaner.done()
    apply_norms(shift, wanted)
    await session.flush()
    await record(
        session,
        actor,
        "elections.shift.norms_set",
        shift,
        data={
            "station": station.name,
            "norms": {r.code: list(wanted[r.id]) for r in role_types if wanted[r.id] != (0, 0)},
        },
    )
    await session.commit()
    return shift


def apply_norms(shift: Shift, wanted: Mapping[int, tuple[int, int]]) -> None:
    """Make the shift's norms equal ``wanted`` (role type id -> (minimum, target))."""
    existing = {norm.role_type_id: norm for norm in shift.norms}
    for role_id, (minimum, target) in wanted.items():
        norm = existing.get(role_id)
        if minimum == 0 and target == 0:
            if norm is not None:
                shift.norms.remove(norm)
        elif norm is None:
            shift.norms.append(StaffingNorm(role_type_id=role_id, minimum=minimum, target=target))
        else:
            norm.minimum, norm.target = minimum, target


# --- the structure tree -----------------------------------------------------------------


async def structure(session: AsyncSession, election_id: int) -> tuple[Election, list[Station]]:
    """An election with every station, its district, room, openings, shifts and norms."""
    election = await get_election(session, election_id)
    stations = await session.scalars(
        select(Station)
        .where(Station.election_id == election.id)
        .options(
            selectinload(Station.district),
            selectinload(Station.room).selectinload(Room.building),
            selectinload(Station.openings),
            selectinload(Station.shifts)
            .selectinload(Shift.norms)
            .selectinload(StaffingNorm.role_type),
        )
    )
    ordered = sorted(
        stations,
        key=lambda s: (s.kind != "polling", s.district.code if s.district else "", s.name),
    )
    return election, ordered


async def districts_of(session: AsyncSession, election_id: int) -> list[District]:
    return list(
        await session.scalars(
            select(District).where(District.election_id == election_id).order_by(District.code)
        )
    )


@dataclass(frozen=True)
class StationRow:
    id: int
    name: str
    kind: str
    district_id: int | None
    district_code: str | None
    district_name: str | None
    building: str | None
    room: str | None
    shifts: int
    minimum: int
    target: int


@dataclass(frozen=True)
class StationPage:
    rows: list[StationRow]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


async def station_page(
    session: AsyncSession,
    election_id: int,
    query: str = "",
    kind: str | None = None,
    page: int = 1,
    per_page: int = 100,
) -> StationPage:
    """One page of an election's stations with their shift count and summed norms,
    computed in the database so a city's 660 stations list quickly."""
    election = await get_election(session, election_id)
    conditions = [Station.election_id == election.id]
    if kind in STATION_KINDS:
        conditions.append(Station.kind == kind)
    if query.strip():
        pattern = query.strip().lower()
        conditions.append(
            func.lower(Station.name).contains(pattern, autoescape=True)
            | func.lower(District.name).contains(pattern, autoescape=True)
            | District.code.startswith(query.strip(), autoescape=True)
        )
    base = (
        select(Station.id)
        .outerjoin(District, Station.district_id == District.id)
        .where(*conditions)
    )
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
    page = max(1, page)
    result = (
        await session.execute(
            select(
                Station.id,
                Station.name,
                Station.kind,
                District.id,
                District.code,
                District.name,
                Building.name,
                Room.name,
            )
            .outerjoin(District, Station.district_id == District.id)
            .outerjoin(Room, Station.room_id == Room.id)
            .outerjoin(Building, Room.building_id == Building.id)
            .where(*conditions)
            .order_by(Station.kind.desc(), District.code, Station.name)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    ).all()
    # Shift counts and summed norms for this page's stations only.
    stats: dict[int, tuple[int, int, int]] = {}
    if result:
        shift_counts = await session.execute(
            select(Shift.station_id, func.count(Shift.id))
            .where(Shift.station_id.in_([row[0] for row in result]))
            .group_by(Shift.station_id)
        )
        norm_sums = await session.execute(
            select(Shift.station_id, func.sum(StaffingNorm.minimum), func.sum(StaffingNorm.target))
            .join(StaffingNorm, StaffingNorm.shift_id == Shift.id)
            .where(Shift.station_id.in_([row[0] for row in result]))
            .group_by(Shift.station_id)
        )
        sums = {station_id: (int(low or 0), int(high or 0)) for station_id, low, high in norm_sums}
        for station_id, count in shift_counts:
            stats[station_id] = (int(count), *sums.get(station_id, (0, 0)))
    rows = [
        StationRow(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            *stats.get(row[0], (0, 0, 0)),
        )
        for row in result
    ]
    return StationPage(rows, page, per_page, total)


async def station_ids_of_kind(session: AsyncSession, election_id: int, kind: str) -> list[int]:
    election = await get_election(session, election_id)
    return list(
        await session.scalars(
            select(Station.id).where(Station.election_id == election.id, Station.kind == kind)
        )
    )


# --- removing parts of the structure -----------------------------------------------------


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


async def delete_station(
    session: AsyncSession, actor: Actor, election_id: int, station_id: int
) -> None:
    """Remove a station with its hours, shifts and norms."""
    station = await get_station(session, station_id, election_id)
    await record(session, actor, "elections.station.deleted", station, data={"name": station.name})
    await session.delete(station)
    await session.commit()


async def delete_district(
    session: AsyncSession, actor: Actor, election_id: int, district_id: int
) -> None:
    """Remove a district. Refused while polling stations still serve it."""
    district = await get_district(session, district_id, election_id)
    if await session.scalar(select(Station.id).where(Station.district_id == district.id).limit(1)):
        raise FieldErrors({"district": _("Move or remove the district's polling stations first.")})
    await record(
        session, actor, "elections.district.deleted", district, data={"code": district.code}
    )
    await session.delete(district)
    await session.commit()


async def count_districts(session: AsyncSession, election_id: int) -> int:
    return (
        await session.scalar(
            select(func.count(District.id)).where(District.election_id == election_id)
        )
        or 0
    )
