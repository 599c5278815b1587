"""Staffing reports of one election: unfilled places, staffing per district, people per
role and a staff list per station, each as plain rows. The faces make them report tables
(``app.core.documents.tables``) for the page, Excel and PDF.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _, named
from app.domain.elections.elections import get_election
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    District,
    Person,
    RoleType,
    Shift,
    Station,
)
from app.domain.registers.identity import format_phone
from app.domain.registers.roles import list_role_types
from app.domain.staffing.board import BoardFilters
from app.domain.staffing.board import staffing_board as load_board
from app.domain.staffing.overview import DistrictSummary, district_summaries


@dataclass(frozen=True)
class UnfilledPlace:
    """A role on a shift with fewer people holding a place than its target."""

    station_id: int
    station: str
    district: str  # "code name"; empty for an advance voting station
    day: dt.date
    shift: str
    starts_at: dt.time
    ends_at: dt.time
    role: str
    minimum: int
    target: int
    filled: int

    @property
    def missing(self) -> int:
        return self.target - self.filled

    @property
    def below_minimum(self) -> bool:
        return self.filled < self.minimum


async def unfilled_places(session: AsyncSession, election_id: int) -> list[UnfilledPlace]:
    """Every place below its target, district by district, the board's way of counting
    (proposed, offered and accepted people hold a place)."""
    board = await load_board(session, election_id, BoardFilters())
    result = []
    for row in board.stations:
        district = f"{row.district.code} {row.district.name}" if row.district else ""
        for shift_row in row.shifts:
            shift = shift_row.shift
            for cell in shift_row.cells:
                if cell.filled >= cell.target:
                    continue
                result.append(
                    UnfilledPlace(
                        row.station.id,
                        row.station.name,
                        district,
                        shift.day,
                        named(shift),
                        shift.starts_at,
                        shift.ends_at,
                        cell.role_name,
                        cell.minimum,
                        cell.target,
                        cell.filled,
                    )
                )
    # Polling stations district by district, then advance voting; the board's order within.
    codes = {d.id: d.code for d in board.districts}
    order = {
        row.station.id: (row.district is None, codes.get(row.station.district_id or 0, ""))
        for row in board.stations
    }
    result.sort(key=lambda place: order[place.station_id])
    return result


async def staffing_per_district(session: AsyncSession, election_id: int) -> list[DistrictSummary]:
    """Stations, places, filled places and places missing below the minimum per district;
    the advance voting stations together as the last line (without a district id)."""
    election = await get_election(session, election_id)
    return await district_summaries(session, election.id)


@dataclass(frozen=True)
class RoleCount:
    """People and places of one role, and what they would be paid if all of them work."""

    role_type_id: int
    role: str
    people: int
    accepted: int
    offered: int
    proposed: int
    pay_amount: Decimal
    pay_unit: str
    #: Days (for pay per day: one per person and day) or hours worked.
    units: Decimal
    pay_estimate: Decimal


async def people_per_role(session: AsyncSession, election_id: int) -> list[RoleCount]:
    """For each role: the people holding a place, the places by state, and an estimate of
    the fees. A fee per day is paid once per person and day, however many shifts they
    work that day; a fee per hour for each hour of every shift."""
    election = await get_election(session, election_id)
    rows = await session.execute(
        select(
            Assignment.role_type_id,
            Assignment.person_id,
            Assignment.state,
            Shift.day,
            Shift.starts_at,
            Shift.ends_at,
        )
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
    )
    people: dict[int, set[int]] = {}
    person_days: dict[int, set[tuple[int, dt.date]]] = {}
    minutes: dict[int, int] = {}
    states: dict[tuple[int, str], int] = {}
    for role_id, person_id, state, day, starts, ends in rows:
        people.setdefault(role_id, set()).add(person_id)
        person_days.setdefault(role_id, set()).add((person_id, day))
        minutes[role_id] = minutes.get(role_id, 0) + _minutes(starts, ends)
        states[(role_id, state)] = states.get((role_id, state), 0) + 1
    result = []
    for role in await list_role_types(session):
        if role.pay_unit == "hour":
            units = (Decimal(minutes.get(role.id, 0)) / 60).quantize(Decimal("0.01"))
        else:
            units = Decimal(len(person_days.get(role.id, ())))
        result.append(
            RoleCount(
                role.id,
                named(role),
                len(people.get(role.id, ())),
                states.get((role.id, "accepted"), 0),
                states.get((role.id, "offered"), 0),
                states.get((role.id, "proposed"), 0),
                role.pay_amount,
                role.pay_unit,
                units,
                (role.pay_amount * units).quantize(Decimal("0.01")),
            )
        )
    return result


def _minutes(starts: dt.time, ends: dt.time) -> int:
    return (ends.hour * 60 + ends.minute) - (starts.hour * 60 + starts.minute)


@dataclass(frozen=True)
class StaffListRow:
    station_id: int
    station: str
    district: str
    day: dt.date
    shift: str
    starts_at: dt.time
    ends_at: dt.time
    role: str
    person_id: int
    name: str
    mobile: str
    email: str
    state: str


async def staff_list(
    session: AsyncSession, election_id: int, station_id: int | None = None
) -> list[StaffListRow]:
    """Who holds a place at each station (or one station), shift by shift and role by
    role, with the phone number and email to reach them."""
    election = await get_election(session, election_id)
    statement = (
        select(Assignment.state, Station, District, Shift, RoleType, Person)
        .join(Station, Station.id == Assignment.station_id)
        .outerjoin(District, District.id == Station.district_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .join(Person, Person.id == Assignment.person_id)
        .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
        .order_by(
            Station.kind.desc(),
            District.code,
            Station.name,
            Shift.day,
            Shift.starts_at,
            RoleType.sort_order,
            Person.last_name,
            Person.first_name,
            Person.id,
        )
    )
    if station_id is not None:
        station = await session.scalar(
            select(Station.id).where(Station.id == station_id, Station.election_id == election.id)
        )
        if station is None:
            raise NotFound(_("Not found."))
        statement = statement.where(Assignment.station_id == station_id)
    return [
        StaffListRow(
            station.id,
            station.name,
            f"{district.code} {district.name}" if district else "",
            shift.day,
            named(shift),
            shift.starts_at,
            shift.ends_at,
            named(role),
            person.id,
            person.full_name,
            format_phone(person.mobile),
            person.email or "",
            state,
        )
        for state, station, district, shift, role, person in await session.execute(statement)
    ]


@dataclass(frozen=True)
class StationStaffing:
    """A station where someone holds a place: how many places, how many people accepted."""

    station_id: int
    station: str
    district: str
    held: int
    accepted_people: int


async def stations_with_staff(session: AsyncSession, election_id: int) -> list[StationStaffing]:
    """The stations of an election where anyone holds a place, for per-station downloads."""
    election = await get_election(session, election_id)
    accepted = func.count(distinct(Assignment.person_id)).filter(Assignment.state == "accepted")
    rows = await session.execute(
        select(
            Station.id,
            Station.name,
            District.code,
            District.name,
            func.count(Assignment.id),
            accepted,
        )
        .join(Assignment, Assignment.station_id == Station.id)
        .outerjoin(District, District.id == Station.district_id)
        .where(Station.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
        .group_by(Station.id, Station.name, Station.kind, District.code, District.name)
        .order_by(Station.kind.desc(), District.code, Station.name)
    )
    return [
        StationStaffing(sid, name, f"{code} {dname}" if code else "", held, people)
        for sid, name, code, dname, held, people in rows
    ]
