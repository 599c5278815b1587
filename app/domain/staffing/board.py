"""The staffing board: for each station, shift and role, who holds a place against the
norm, coloured by what is missing, with where each holder stands on the role's required
courses; and the candidates for one place."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.i18n import has_local_name, named
from app.domain.clerks.undertaking import unsigned_among
from app.domain.courses.qualifications import (
    course_needs,
)
from app.domain.elections.elections import get_election
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    Availability,
    Building,
    District,
    DistrictPreference,
    Election,
    Person,
    Room,
    Shift,
    StaffingNorm,
    Station,
)
from app.domain.registers.people import search_condition
from app.domain.registers.population.flags import flags_of
from app.domain.staffing.assignments import SlotContext, broken_rules, slot_context
from app.domain.staffing.kept_off import mark_kept_off
from app.domain.staffing.nearness import (
    AREA_DIGITS,
    NOTHING_KNOWN,
    REGION_DIGITS,
    Nearness,
    postcode_digits,
    shared_postcode_digits,
)
from app.domain.staffing.rules import Broken
from app.domain.staffing.training import NO_TRAINING, Training, training_for


@dataclass
class Holder:
    assignment_id: int
    person_id: int
    name: str
    state: str
    overrides: list[str]
    training: Training = NO_TRAINING
    unsigned: bool = False  # has not signed the required undertaking (a warning only)
    #: Why they may not work the election (found after they were placed).
    kept_off: list[str] = field(default_factory=list)
    #: What the population register says (``population.flags``): warnings on the board.
    register_flags: list[str] = field(default_factory=list)
    #: Protected identity: the name only for the office (``registers.protection``).
    protected: bool = False


@dataclass
class Cell:
    """One role on one shift: the norm and who holds its places."""

    shift_id: int
    role_type_id: int
    role_code: str
    role_name: str
    leads: bool
    minimum: int
    target: int
    holders: list[Holder] = field(default_factory=list)
    #: Whether role_name is in the reader's language (else the municipality's own).
    role_name_translated: bool = True

    @property
    def filled(self) -> int:
        """Places held by someone who may work. A holder kept off the election (found a
        candidate after being placed) is still listed, but their place needs someone else."""
        return sum(1 for holder in self.holders if not holder.kept_off)

    @property
    def blocked(self) -> int:
        """Holders kept off the election: places shown as held that need someone else."""
        return len(self.holders) - self.filled

    @property
    def status(self) -> str:
        """missing (below minimum), below (below target) or full."""
        if self.filled < self.minimum:
            return "missing"
        if self.filled < self.target:
            return "below"
        return "full"


@dataclass
class ShiftRow:
    shift: Shift
    cells: list[Cell]

    @property
    def lacking_course(self) -> int:
        return sum(1 for cell in self.cells for h in cell.holders if h.training.lacking)

    @property
    def lacks_lead(self) -> bool:
        """No chair or vice chair holds a place on this shift."""
        leading = [cell for cell in self.cells if cell.leads]
        return bool(leading) and not any(cell.filled for cell in leading)

    @property
    def status(self) -> str:
        if self.lacks_lead or any(cell.status == "missing" for cell in self.cells):
            return "missing"
        if any(cell.status == "below" for cell in self.cells):
            return "below"
        return "full"


@dataclass
class StationRow:
    station: Station
    district: District | None
    shifts: list[ShiftRow]

    @property
    def lacking_course(self) -> int:
        """Holders who lack a course their role requires (met before the shift's day)."""
        return sum(row.lacking_course for row in self.shifts)

    @property
    def status(self) -> str:
        states = {row.status for row in self.shifts}
        for state in ("missing", "below"):
            if state in states:
                return state
        return "full"


@dataclass
class BoardFilters:
    district_id: int | None = None
    station_kind: str | None = None
    day: dt.date | None = None
    unfilled_only: bool = False
    #: Only these stations (a page of the board), and only this role's places.
    station_ids: list[int] | None = None
    role_type_id: int | None = None


@dataclass
class Board:
    election: Election
    districts: list[District]
    days: list[dt.date]
    stations: list[StationRow]
    filters: BoardFilters

    @property
    def totals(self) -> dict[str, int]:
        cells = [c for s in self.stations for row in s.shifts for c in row.cells]
        return {
            "places": sum(c.target for c in cells),
            "filled": sum(min(c.filled, c.target) for c in cells),
            "missing_minimum": sum(max(0, c.minimum - c.filled) for c in cells),
            "stations_missing": sum(1 for s in self.stations if s.status == "missing"),
        }


async def staffing_board(session: AsyncSession, election_id: int, filters: BoardFilters) -> Board:
    """The board of one election, narrowed by ``filters``.

    A district's board is a handful of queries whatever the election's size: stations
    with shifts and norms in one go, then the holders of those shifts.
    """
    election = await get_election(session, election_id)
    districts = list(
        await session.scalars(
            select(District).where(District.election_id == election.id).order_by(District.code)
        )
    )
    statement = (
        select(Station)
        .where(Station.election_id == election.id)
        .options(
            selectinload(Station.shifts)
            .selectinload(Shift.norms)
            .selectinload(StaffingNorm.role_type)
        )
        .order_by(Station.kind.desc(), Station.name)
    )
    if filters.district_id:
        statement = statement.where(Station.district_id == filters.district_id)
    if filters.station_kind in ("polling", "advance"):
        statement = statement.where(Station.kind == filters.station_kind)
    if filters.station_ids is not None:
        statement = statement.where(Station.id.in_(filters.station_ids))
    stations = list(await session.scalars(statement))
    shift_ids = [s.id for station in stations for s in station.shifts]
    holders = await _holders(session, election, shift_ids)
    await _add_training(session, election, stations, holders)
    unsigned = await unsigned_among(session, {h.person_id for f in holders.values() for h in f})
    for holder in (h for found in holders.values() for h in found):
        holder.unsigned = holder.person_id in unsigned
    await mark_kept_off(session, election.id, [h for hs in holders.values() for h in hs])
    by_district = {d.id: d for d in districts}
    days: set[dt.date] = set()
    result: list[StationRow] = []
    for station in stations:
        rows_: list[ShiftRow] = []
        for shift in station.shifts:
            days.add(shift.day)
            if filters.day and shift.day != filters.day:
                continue
            cells = [
                Cell(
                    shift.id,
                    norm.role_type_id,
                    norm.role_type.code,
                    named(norm.role_type),
                    norm.role_type.leads_station,
                    norm.counted_minimum,
                    norm.target,
                    holders.get((shift.id, norm.role_type_id), []),
                    has_local_name(norm.role_type),
                )
                for norm in sorted(shift.norms, key=lambda n: (n.role_type.sort_order, n.id))
                if norm.target > 0 and filters.role_type_id in (None, norm.role_type_id)
            ]
            rows_.append(ShiftRow(shift, cells))
        row = StationRow(station, by_district.get(station.district_id or 0), rows_)
        if filters.role_type_id:
            rows_ = [shift_row for shift_row in rows_ if shift_row.cells]
        if not rows_ or (filters.unfilled_only and row.status == "full"):
            continue
        result.append(row)
    return Board(election, districts, sorted(days), result, filters)


async def _holders(
    session: AsyncSession, election: Election, shift_ids: list[int]
) -> dict[tuple[int, int], list[Holder]]:
    """The people holding places on these shifts, by (shift, role), with what the
    population register says of each."""
    holders: dict[tuple[int, int], list[Holder]] = {}
    if shift_ids:
        rows = await session.execute(
            select(
                Assignment.id,
                Assignment.shift_id,
                Assignment.role_type_id,
                Assignment.person_id,
                Assignment.state,
                Assignment.overrides,
                Person.first_name,
                Person.last_name,
                Person.died_on,
                Person.moved_out_on,
                Person.birth_date,
                Person.address_protected,
            )
            .join(Person, Person.id == Assignment.person_id)
            .where(Assignment.shift_id.in_(shift_ids), Assignment.state.in_(HOLDING_STATES))
            .order_by(Person.last_name, Person.first_name, Assignment.id)
        )
        for held in rows:
            holder = Holder(
                held.id,
                held.person_id,
                f"{held.first_name} {held.last_name}",
                held.state,
                list(held.overrides or []),
                protected=held.address_protected,
            )
            holder.register_flags = [
                flag for flag in flags_of(held, election.election_day) if flag != "protected"
            ]
            holders.setdefault((held.shift_id, held.role_type_id), []).append(holder)
    return holders


async def _add_training(
    session: AsyncSession,
    election: Election,
    stations: list[Station],
    holders: dict[tuple[int, int], list[Holder]],
) -> None:
    """Each holder's training for their role: one batched ``course_needs`` for the board."""
    if not holders:
        return
    pairs = {(h.person_id, role_id) for (_s, role_id), found in holders.items() for h in found}
    needs = await course_needs(session, election, pairs)
    day_of = {shift.id: shift.day for station in stations for shift in station.shifts}
    for (shift_id, role_id), found in holders.items():
        for holder in found:
            holder.training = training_for(needs[(holder.person_id, role_id)], day_of[shift_id])


# --- candidates for one place --------------------------------------------------------------


@dataclass
class Candidate:
    person: Person
    broken: list[Broken]
    distance_km: float | None
    training: Training = NO_TRAINING
    #: What is known of how near the person lives, the distance or what stands for it.
    nearness: Nearness = NOTHING_KNOWN

    @property
    def blocked(self) -> bool:
        return any(b.hard for b in self.broken)


def distance_km(
    a: tuple[float | None, float | None], b: tuple[float | None, float | None]
) -> float | None:
    """Great-circle distance, or None when either end has no coordinates."""
    if None in a or None in b:
        return None
    lat1, lon1, lat2, lon2 = (math.radians(v) for v in (*a, *b))  # type: ignore[arg-type]
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * math.asin(math.sqrt(h))


async def candidates(
    session: AsyncSession,
    shift_id: int,
    role_type_id: int,
    query: str = "",
    limit: int = 15,
) -> tuple[SlotContext, list[Candidate]]:
    """People to put in a place: those matching ``query`` (name, birth date or mobile),
    whoever they are and wherever they live; or else those who said they can work that
    day, nearest first, where a person whose distance is unknown is ranked by what is
    known (a wished district, the postcode) rather than left out; each with the rules
    they would break, so the planner sees at once who fits and why not."""
    slot = await slot_context(session, shift_id, role_type_id)
    statement = select(Person).where(Person.status == "active")
    where = await _station_location(session, slot.station)
    if query.strip():
        statement = statement.where(search_condition(query)).order_by(
            Person.last_name, Person.first_name, Person.id
        )
        people = list(await session.scalars(statement.limit(limit)))
    else:
        people = await _available_people(session, slot, statement, where, limit)
    found = await broken_rules(session, slot, people)
    needs = await course_needs(session, slot.election, [(p.id, slot.role.id) for p in people])
    wishes = await _wishes(session, slot.election.id, [p.id for p in people])
    result = []
    for p in people:
        nearness = _nearness(p, slot.station, where, wishes.get(p.id, set()))
        training = training_for(needs[(p.id, slot.role.id)], slot.shift.day)
        result.append(Candidate(p, found[p.id], nearness.km, training, nearness))
    result.sort(
        key=lambda c: (
            c.blocked,
            len(c.broken),
            c.nearness.estimate_km,
            c.person.last_name,
            c.person.id,
        )
    )
    return slot, result[:limit]


async def _available_people(
    session: AsyncSession,
    slot: SlotContext,
    statement: Select[Person],
    where: tuple[float | None, float | None, str],
    limit: int,
) -> list[Person]:
    """Who said they can work the shift's day (every kind of work it needs) and holds
    no place that day: the nearest placed ones, and those whose distance is unknown
    ranked by a wished district, then by the postcode shared with the station."""
    available = (
        select(Availability.person_id)
        .where(
            Availability.election_id == slot.election.id,
            Availability.day == slot.shift.day,
            Availability.work_kind.in_(slot.work_kinds),
        )
        .group_by(Availability.person_id)
        .having(func.count(func.distinct(Availability.work_kind)) == len(slot.work_kinds))
    )
    busy = (
        select(Assignment.person_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(Shift.day == slot.shift.day, Assignment.state.in_(HOLDING_STATES))
    )
    statement = statement.where(Person.id.in_(available), Person.id.not_in(busy))
    lat, lon, postcode = where
    people: list[Person] = []
    unknown = statement
    if lat is not None and lon is not None:
        # Nearest first, by a flat approximation good enough to pick a short list;
        # the exact distance is computed for the ones shown.
        scale = math.cos(math.radians(lat)) ** 2
        closeness = (Person.latitude - lat) * (Person.latitude - lat) + scale * (
            Person.longitude - lon
        ) * (Person.longitude - lon)
        placed = Person.latitude.is_not(None) & Person.longitude.is_not(None)
        located = statement.where(placed).order_by(closeness, Person.id)
        people = list(await session.scalars(located.limit(limit * 4)))
        unknown = statement.where(~placed)
    wished: ColumnElement[bool] = literal(False)
    if slot.station.district_id is not None:
        wished = Person.id.in_(
            select(DistrictPreference.person_id).where(
                DistrictPreference.district_id == slot.station.district_id
            )
        )
    digits = func.replace(Person.postal_code, " ", "")
    order: list[Any] = [case((wished, 0), else_=1)]
    for length in (AREA_DIGITS, REGION_DIGITS):
        prefix = postcode_digits(postcode)[:length]
        if len(prefix) == length:
            order.append(case((func.substr(digits, 1, length) == prefix, 0), else_=1))
    unknown = unknown.order_by(*order, Person.id)
    people += list(await session.scalars(unknown.limit(limit * 2)))
    return people


async def _wishes(
    session: AsyncSession, election_id: int, person_ids: list[int]
) -> dict[int, set[int]]:
    """Per person, the districts of the election they wished to work in."""
    wishes: dict[int, set[int]] = {}
    rows = await session.execute(
        select(DistrictPreference.person_id, DistrictPreference.district_id)
        .join(District, District.id == DistrictPreference.district_id)
        .where(District.election_id == election_id, DistrictPreference.person_id.in_(person_ids))
    )
    for person_id, district_id in rows:
        wishes.setdefault(person_id, set()).add(district_id)
    return wishes


def _nearness(
    person: Person,
    station: Station,
    where: tuple[float | None, float | None, str],
    wishes: set[int],
) -> Nearness:
    km = distance_km((person.latitude, person.longitude), where[:2])
    wished = None
    if wishes and station.district_id is not None:
        wished = station.district_id in wishes
    return Nearness(km, wished, shared_postcode_digits(person.postal_code or "", where[2]))


async def _station_location(
    session: AsyncSession, station: Station
) -> tuple[float | None, float | None, str]:
    """The station's building: its coordinates (None when not placed) and postcode."""
    if station.room_id is None:
        return (None, None, "")
    row = (
        await session.execute(
            select(Building.latitude, Building.longitude, Building.postal_code)
            .join(Room, Room.building_id == Building.id)
            .where(Room.id == station.room_id)
        )
    ).first()
    return (row[0], row[1], row[2] or "") if row else (None, None, "")


async def count_stations(session: AsyncSession, election_id: int) -> int:
    statement = select(func.count(Station.id)).where(Station.election_id == election_id)
    return await session.scalar(statement) or 0


async def district_choices(session: AsyncSession, election_id: int) -> list[District]:
    statement = select(District).where(District.election_id == election_id)
    return list(await session.scalars(statement.order_by(District.code)))
