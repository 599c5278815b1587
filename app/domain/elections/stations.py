"""Polling and advance voting stations: saving one, reading one with everything on
it, the whole structure of an election, and the paged list of a city's stations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.paging import Page, count_rows, shown_page
from app.core.validation import Cleaner, FieldErrors, parse_id
from app.domain.elections.elections import get_election
from app.domain.elections.voting_days import allowed_days_of, days_outside
from app.domain.models import (
    STATION_KINDS,
    Building,
    District,
    Election,
    RoleType,
    Room,
    Shift,
    StaffingNorm,
    Station,
    counted_minimum,
)
from app.domain.saving import has_name, is_taken, store


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
        Station.election_id == election.id, has_name(Station.name, values["name"])
    )
    if await is_taken(session, same_name, Station.id, station_id):
        raise FieldErrors({"name": _("Another station of this election has this name.")})
    station = (
        Station(election_id=election.id)
        if station_id is None
        else await get_station(session, station_id, election.id)
    )
    if station_id is not None and values["kind"] != station.kind:
        # The station's shifts and hours must fit the days of the kind it becomes.
        allowed = {station.kind: allowed_days_of(election)[values["kind"]]}
        if await days_outside(session, election.id, allowed, station.id):
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


async def delete_station(
    session: AsyncSession, actor: Actor, election_id: int, station_id: int
) -> None:
    """Remove a station with its hours, shifts and norms."""
    station = await get_station(session, station_id, election_id)
    await record(session, actor, "elections.station.deleted", station, data={"name": station.name})
    await session.delete(station)
    await session.commit()


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


async def station_ids_of_kind(session: AsyncSession, election_id: int, kind: str) -> list[int]:
    election = await get_election(session, election_id)
    return list(
        await session.scalars(
            select(Station.id).where(Station.election_id == election.id, Station.kind == kind)
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
class StationPage(Page):
    rows: list[StationRow]


def _listed(election_id: int, query: str, kind: str | None) -> list[Any]:
    """The conditions of the station list: the election's stations, of one kind if
    asked, whose name, district name or district code matches the search."""
    conditions = [Station.election_id == election_id]
    if kind in STATION_KINDS:
        conditions.append(Station.kind == kind)
    if query.strip():
        pattern = query.strip().lower()
        conditions.append(
            func.lower(Station.name).contains(pattern, autoescape=True)
            | func.lower(District.name).contains(pattern, autoescape=True)
            | District.code.startswith(query.strip(), autoescape=True)
        )
    return conditions


async def _shift_totals(
    session: AsyncSession, station_ids: list[int]
) -> dict[int, tuple[int, int, int]]:
    """Per station: its number of shifts and the sums of their minimum and target
    norms. Counted for one page's stations only."""
    shift_counts = await session.execute(
        select(Shift.station_id, func.count(Shift.id))
        .where(Shift.station_id.in_(station_ids))
        .group_by(Shift.station_id)
    )
    norm_sums = await session.execute(
        select(Shift.station_id, func.sum(counted_minimum()), func.sum(StaffingNorm.target))
        .join(StaffingNorm, StaffingNorm.shift_id == Shift.id)
        .join(RoleType, RoleType.id == StaffingNorm.role_type_id)
        .where(Shift.station_id.in_(station_ids))
        .group_by(Shift.station_id)
    )
    sums = {station_id: (int(low or 0), int(high or 0)) for station_id, low, high in norm_sums}
    return {
        station_id: (int(count), *sums.get(station_id, (0, 0)))
        for station_id, count in shift_counts
    }


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
    conditions = _listed(election.id, query, kind)
    total = await count_rows(
        session,
        select(Station.id)
        .outerjoin(District, Station.district_id == District.id)
        .where(*conditions),
    )
    page = shown_page(page, total, per_page)
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
    totals = await _shift_totals(session, [row[0] for row in result]) if result else {}
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
            *totals.get(row[0], (0, 0, 0)),
        )
        for row in result
    ]
    return StationPage(rows, page=page, per_page=per_page, total=total)
