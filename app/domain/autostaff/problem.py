"""The staffing problem of one election as plain data, loaded from the database.

Open places: for each shift and role with a norm, ``target`` minus the people already
holding a place (proposed, offered or accepted), and how many of those are needed to
reach the ``minimum``.

Candidates: active people, 18 or older on election day (birth date known), with the
days they are available. A person may work a shift when they said they can work that
day for every kind of work the shift consists of (``rules.work_kinds_for``: election
day, counting for a shift running past poll closing, advance voting).

**One shift per person and day.** The optimiser gives a person at most one shift on a
day, and a day on which they already hold a place anywhere (in any election) is not
offered at all. This is stricter than the "no overlapping shifts" rule of manual
assignment, on purpose: it rules out overlaps without comparing times, matches the
Swedish practice of splitting election day between two teams, and keeps the model a
flow (a person-day node of capacity one).

**Required courses.** A role may require courses (``qualifications.course_needs``). A
person may fill it on a shift's day when each is met before that day: held (valid on
election day) or booked on a session before the day. ``Candidate.barred`` holds, per
free day, the roles the person may *not* fill; a day on which they may fill none of
the roles with open places is dropped. Without any required course nothing is barred
and the problem is exactly what it was.

Everything is sorted by id, so the same database gives the same problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _
from app.domain.courses.qualifications import course_needs, required_courses, unmet
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    Availability,
    Building,
    District,
    DistrictPreference,
    Election,
    Person,
    RoleType,
    Room,
    StaffingNorm,
)
from app.domain.models import Shift as ShiftRow
from app.domain.models import Station as StationRow
from app.domain.registers.identity import age_on
from app.domain.staffing.rules import MINIMUM_AGE, work_kinds_for

EXPERIENCED_LEVELS = ("some", "much")


@dataclass(frozen=True)
class Role:
    id: int
    code: str
    leads_station: bool
    sort_order: int


@dataclass(frozen=True)
class Station:
    id: int
    name: str
    district_id: int | None
    latitude: float | None
    longitude: float | None
    #: Languages voters here need; a speaker of one is preferred.
    languages: tuple[str, ...]
    #: Who worked this station (same name) in the election this one was rolled over
    #: from, with an accepted assignment; empty when it had no team.
    last_team: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Shift:
    id: int
    station_id: int
    day: dt.date
    starts_at: dt.time
    ends_at: dt.time
    work_kinds: tuple[str, ...]
    #: Someone experienced already holds a place on it.
    has_experienced: bool = False


@dataclass(frozen=True)
class Place:
    """The open places of one role on one shift."""

    shift_id: int
    role_type_id: int
    open: int
    #: How many of ``open`` are needed to reach the norm's minimum.
    below_minimum: int


@dataclass(frozen=True, eq=False)
class Candidate:
    id: int
    latitude: float | None
    longitude: float | None
    languages: frozenset[str]
    #: Districts of this election the person wished to work in.
    wishes: frozenset[int]
    experienced: bool
    #: Places the person already holds in this election (for the fair spread).
    shifts_held: int
    #: Free days (no place held that day) with the kinds of work the person can do.
    days: dict[dt.date, frozenset[str]]
    #: 2 for much experience, 1 for some (or last election), 0 for none: leading roles
    #: go to the most experienced of a shift's people.
    experience_rank: int = 0
    #: Per free day, the roles the person may not fill for want of a required course
    #: (met before that day); a day not listed bars nothing.
    barred: Mapping[dt.date, frozenset[int]] = field(default_factory=dict)

    def can_work(self, shift: Shift) -> bool:
        kinds = self.days.get(shift.day)
        return kinds is not None and all(kind in kinds for kind in shift.work_kinds)

    def may_fill(self, role_type_id: int, day: dt.date) -> bool:
        """Has the courses the role requires, met before ``day``."""
        return role_type_id not in self.barred.get(day, ())


@dataclass(frozen=True)
class Problem:
    election_id: int
    election_day: dt.date
    roles: tuple[Role, ...]
    stations: tuple[Station, ...]
    #: Shifts with at least one open place.
    shifts: tuple[Shift, ...]
    places: tuple[Place, ...]
    candidates: tuple[Candidate, ...]
    _candidates: dict[int, Candidate] = field(init=False, repr=False, compare=False)
    _stations: dict[int, Station] = field(init=False, repr=False, compare=False)
    _shifts: dict[int, Shift] = field(init=False, repr=False, compare=False)
    _roles: dict[int, Role] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_candidates", {c.id: c for c in self.candidates})
        object.__setattr__(self, "_stations", {s.id: s for s in self.stations})
        object.__setattr__(self, "_shifts", {s.id: s for s in self.shifts})
        object.__setattr__(self, "_roles", {r.id: r for r in self.roles})

    def candidate(self, person_id: int) -> Candidate:
        return self._candidates[person_id]

    def is_candidate(self, person_id: int) -> bool:
        return person_id in self._candidates

    def station(self, station_id: int) -> Station:
        return self._stations[station_id]

    def shift(self, shift_id: int) -> Shift:
        return self._shifts[shift_id]

    def role(self, role_type_id: int) -> Role:
        return self._roles[role_type_id]

    def shift_order(self, shift_id: int) -> tuple[dt.date, dt.time, int]:
        shift = self._shifts[shift_id]
        return shift.day, shift.starts_at, shift.id


def _rank(experience: str, worked_last_election: bool) -> int:
    if experience == "much":
        return 2
    return 1 if experience == "some" or worked_last_election else 0


async def load_problem(session: AsyncSession, election_id: int) -> Problem:
    """Read one election's open places and candidates (inside the tenant's scope)."""
    election = await session.scalar(select(Election).where(Election.id == election_id))
    if election is None:
        raise NotFound(_("Not found."))
    roles = tuple(
        Role(id_, code, leads, order)
        for id_, code, leads, order in await session.execute(
            select(
                RoleType.id, RoleType.code, RoleType.leads_station, RoleType.sort_order
            ).order_by(RoleType.id)
        )
    )

    # Last election: its teams per station name, and who worked it at all.
    teams: dict[str, set[int]] = {}
    worked_last: set[int] = set()
    if election.rolled_over_from_id is not None:
        rows = await session.execute(
            select(Assignment.person_id, StationRow.name)
            .join(StationRow, StationRow.id == Assignment.station_id)
            .where(
                Assignment.election_id == election.rolled_over_from_id,
                Assignment.state == "accepted",
            )
        )
        for person_id, name in rows:
            teams.setdefault(name, set()).add(person_id)
            worked_last.add(person_id)

    station_rows = await session.execute(
        select(
            StationRow.id,
            StationRow.name,
            StationRow.district_id,
            StationRow.languages,
            Building.latitude,
            Building.longitude,
            StationRow.kind,
        )
        .outerjoin(Room, Room.id == StationRow.room_id)
        .outerjoin(Building, Building.id == Room.building_id)
        .where(StationRow.election_id == election.id)
        .order_by(StationRow.id)
    )
    station_kind: dict[int, str] = {}
    all_stations: list[Station] = []
    for id_, name, district_id, languages, latitude, longitude, kind in station_rows:
        station_kind[id_] = kind
        all_stations.append(
            Station(
                id=id_,
                name=name,
                district_id=district_id,
                latitude=latitude,
                longitude=longitude,
                languages=tuple(sorted(languages or ())),
                last_team=frozenset(teams.get(name, ())),
            )
        )

    # What already holds a place in this election.
    holding: dict[tuple[int, int], int] = {}
    held_by_person: dict[int, int] = {}
    holders_of_shift: dict[int, set[int]] = {}
    for shift_id, role_id, person_id in await session.execute(
        select(Assignment.shift_id, Assignment.role_type_id, Assignment.person_id).where(
            Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES)
        )
    ):
        holding[(shift_id, role_id)] = holding.get((shift_id, role_id), 0) + 1
        held_by_person[person_id] = held_by_person.get(person_id, 0) + 1
        holders_of_shift.setdefault(shift_id, set()).add(person_id)

    places: list[Place] = []
    for shift_id, role_id, minimum, target in await session.execute(
        select(
            StaffingNorm.shift_id,
            StaffingNorm.role_type_id,
            StaffingNorm.minimum,
            StaffingNorm.target,
        )
        .join(ShiftRow, ShiftRow.id == StaffingNorm.shift_id)
        .join(StationRow, StationRow.id == ShiftRow.station_id)
        .where(StationRow.election_id == election.id)
        .order_by(StaffingNorm.shift_id, StaffingNorm.role_type_id)
    ):
        held = holding.get((shift_id, role_id), 0)
        open_ = target - held
        if open_ > 0:
            places.append(Place(shift_id, role_id, open_, min(open_, max(0, minimum - held))))
    open_shifts = {place.shift_id for place in places}

    experience_of: dict[int, str] = {}
    holder_ids = sorted({p for people in holders_of_shift.values() for p in people})
    for start in range(0, len(holder_ids), 5_000):
        chunk = holder_ids[start : start + 5_000]
        for person_id, experience in await session.execute(
            select(Person.id, Person.experience).where(Person.id.in_(chunk))
        ):
            experience_of[person_id] = experience

    def experienced(person_id: int) -> bool:
        return experience_of.get(person_id) in EXPERIENCED_LEVELS or person_id in worked_last

    shifts: list[Shift] = []
    for id_, station_id, day, starts_at, ends_at in await session.execute(
        select(ShiftRow.id, ShiftRow.station_id, ShiftRow.day, ShiftRow.starts_at, ShiftRow.ends_at)
        .join(StationRow, StationRow.id == ShiftRow.station_id)
        .where(StationRow.election_id == election.id)
        .order_by(ShiftRow.id)
    ):
        if id_ not in open_shifts:
            continue
        shifts.append(
            Shift(
                id=id_,
                station_id=station_id,
                day=day,
                starts_at=starts_at,
                ends_at=ends_at,
                work_kinds=work_kinds_for(station_kind[station_id], ends_at),
                has_experienced=any(experienced(p) for p in holders_of_shift.get(id_, ())),
            )
        )
    days = sorted({shift.day for shift in shifts})
    used_stations = {shift.station_id for shift in shifts}
    stations = tuple(s for s in all_stations if s.id in used_stations)

    available: dict[int, dict[dt.date, set[str]]] = {}
    for person_id, day, kind in await session.execute(
        select(Availability.person_id, Availability.day, Availability.work_kind).where(
            Availability.election_id == election.id
        )
    ):
        available.setdefault(person_id, {}).setdefault(day, set()).add(kind)
    booked: set[tuple[int, dt.date]] = set()
    if days:
        booked = {
            (person_id, day)
            for person_id, day in await session.execute(
                select(Assignment.person_id, ShiftRow.day)
                .join(ShiftRow, ShiftRow.id == Assignment.shift_id)
                .where(Assignment.state.in_(HOLDING_STATES), ShiftRow.day.in_(days))
            )
        }
    wishes: dict[int, set[int]] = {}
    for person_id, district_id in await session.execute(
        select(DistrictPreference.person_id, DistrictPreference.district_id)
        .join(District, District.id == DistrictPreference.district_id)
        .where(District.election_id == election.id)
    ):
        wishes.setdefault(person_id, set()).add(district_id)

    shift_days = set(days)
    roles_on_day: dict[dt.date, set[int]] = {}
    shift_day = {shift.id: shift.day for shift in shifts}
    for place in places:
        if place.shift_id in shift_day:
            roles_on_day.setdefault(shift_day[place.shift_id], set()).add(place.role_type_id)
    candidates: list[Candidate] = []
    for id_, birth_date, latitude, longitude, languages, experience in await session.execute(
        select(
            Person.id,
            Person.birth_date,
            Person.latitude,
            Person.longitude,
            Person.spoken_languages,
            Person.experience,
        )
        .where(Person.status == "active", Person.birth_date.is_not(None))
        .order_by(Person.id)
    ):
        if (
            id_ not in available
            or birth_date is None
            or age_on(birth_date, election.election_day) < MINIMUM_AGE
        ):
            continue
        free = {
            day: frozenset(kinds)
            for day, kinds in sorted(available[id_].items())
            if day in shift_days and (id_, day) not in booked
        }
        if not free:
            continue
        candidates.append(
            Candidate(
                id=id_,
                latitude=latitude,
                longitude=longitude,
                languages=frozenset(languages or ()),
                wishes=frozenset(wishes.get(id_, ())),
                experienced=experience in EXPERIENCED_LEVELS or id_ in worked_last,
                shifts_held=held_by_person.get(id_, 0),
                days=free,
                experience_rank=_rank(experience, id_ in worked_last),
            )
        )
    required = await required_courses(session, election.id)
    if required:
        candidates = await _bar_untrained(
            session, election, candidates, roles_on_day, sorted(required)
        )
    return Problem(
        election_id=election.id,
        election_day=election.election_day,
        roles=roles,
        stations=stations,
        shifts=tuple(shifts),
        places=tuple(places),
        candidates=tuple(candidates),
    )


async def _bar_untrained(
    session: AsyncSession,
    election: Election,
    candidates: list[Candidate],
    roles_on_day: dict[dt.date, set[int]],
    roles: list[int],
) -> list[Candidate]:
    """The candidates with the roles (of ``roles``, those requiring a course) each may
    not fill per day, from one batched ``course_needs``; days on which they may fill no
    open role are dropped, and so is a person left with no day."""
    pairs = [(candidate.id, role_id) for candidate in candidates for role_id in roles]
    needs = await course_needs(session, election, pairs)
    result: list[Candidate] = []
    for candidate in candidates:
        barred: dict[dt.date, frozenset[int]] = {}
        days: dict[dt.date, frozenset[str]] = {}
        for day, kinds in candidate.days.items():
            barred_today = frozenset(
                role_id for role_id in roles if unmet(needs[(candidate.id, role_id)], day)
            )
            if roles_on_day.get(day, set()) <= barred_today:
                continue
            days[day] = kinds
            if barred_today:
                barred[day] = barred_today
        if days:
            result.append(replace(candidate, days=days, barred=barred))
    return result
