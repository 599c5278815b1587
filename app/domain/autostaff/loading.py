"""Loading one election's staffing problem from the database, part by part.

Open places: for each shift and role with a norm, ``target`` minus the people already
holding a place (proposed, offered or accepted), and how many of those are needed to
reach the ``minimum``.

Candidates: active people, 18 or older on election day (birth date known), not dead by
the population register (``registers.population``), with the
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

**Reserves stay reserves.** People in the election's reserve pool are kept out of the
regular places unless the planner includes them (``include_reserves``): otherwise the
optimiser would use up the people kept to be sent where someone is missing.
``Problem.reserves_kept_back`` says how many were left out.

Everything is sorted by id, so the same database gives the same problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _
from app.domain.autostaff.problem import Candidate, Place, Problem, Role, Shift, Station
from app.domain.autostaff.working_time import fitting_shifts, rested_candidates
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
    counted_minimum,
)
from app.domain.models import Shift as ShiftRow
from app.domain.models import Station as StationRow
from app.domain.registers.identity import age_on
from app.domain.staffing.kept_off import kept_off_people, not_kept_off
from app.domain.staffing.reserves import reserve_people
from app.domain.staffing.rules import MINIMUM_AGE, role_may_work, work_kinds_for
from app.domain.staffing.working_time import working_time

EXPERIENCED_LEVELS = ("some", "much")
#: Ids per ``IN (...)`` query.
CHUNK = 5_000


@dataclass(frozen=True)
class LastElection:
    """The election this one was rolled over from: its teams per station name, and who
    worked it at all (accepted assignments). Empty when there was none."""

    teams: dict[str, set[int]]
    worked: set[int]


@dataclass(frozen=True)
class Holdings:
    """The places already held in this election (proposed, offered or accepted)."""

    per_place: dict[tuple[int, int], int]
    per_person: dict[int, int]
    holders_of_shift: dict[int, set[int]]


async def load_problem(
    session: AsyncSession,
    election_id: int,
    *,
    include_reserves: bool = False,
    only_shifts: Collection[int] | None = None,
) -> Problem:
    """Read one election's open places and candidates (inside the tenant's scope);
    the election's reserves are candidates only with ``include_reserves``.

    ``only_shifts`` reads the open places of those shifts only, and only the people
    free on their days: the re-run after a decline needs no more, and at Stockholm
    scale the whole election's people are most of the time it takes to load."""
    election = await session.scalar(select(Election).where(Election.id == election_id))
    if election is None:
        raise NotFound(_("Not found."))
    roles = await _roles(session)
    last = await _last_election(session, election)
    all_stations, station_kind = await _stations(session, election, last)
    holdings = await _holdings(session, election)
    places = await _places(session, election, holdings, only_shifts)
    experienced_holders = await _experienced_holders(
        session, holdings, last, {place.shift_id for place in places}
    )
    shifts = await _open_shifts(
        session, election, places, station_kind, holdings, experienced_holders
    )
    leading = {role.id for role in roles if role.leads_station}
    shifts = [
        replace(
            shift,
            has_lead=any(holdings.per_place.get((shift.id, role_id)) for role_id in leading),
        )
        for shift in shifts
    ]
    limits = await working_time(session)
    open_places = sum(place.open for place in places)
    shifts, places = fitting_shifts(limits, shifts, places)
    used_stations = {shift.station_id for shift in shifts}
    candidates = await _candidates(session, election, shifts, places, last, holdings)
    candidates = await rested_candidates(session, limits, shifts, candidates)
    reserves = set() if include_reserves else await reserve_people(session, election.id)
    # Candidates in the election and people the municipality excluded: a hard rule.
    barred = await kept_off_people(session, election.id)
    candidates = [
        candidate
        for candidate in candidates
        if candidate.id not in reserves and candidate.id not in barred
    ]
    return Problem(
        election_id=election.id,
        election_day=election.election_day,
        roles=roles,
        stations=tuple(s for s in all_stations if s.id in used_stations),
        shifts=tuple(shifts),
        places=tuple(places),
        candidates=tuple(candidates),
        reserves_kept_back=len(reserves),
        min_rest_minutes=limits.min_rest_minutes,
        places_too_long=open_places - sum(place.open for place in places),
    )


async def _roles(session: AsyncSession) -> tuple[Role, ...]:
    """Every role type, by id."""
    return tuple(
        Role(id_, code, leads, order)
        for id_, code, leads, order in await session.execute(
            select(
                RoleType.id, RoleType.code, RoleType.leads_station, RoleType.sort_order
            ).order_by(RoleType.id)
        )
    )


async def _last_election(session: AsyncSession, election: Election) -> LastElection:
    """Last election's teams per station name, and who worked it at all."""
    last = LastElection(teams={}, worked=set())
    if election.rolled_over_from_id is None:
        return last
    rows = await session.execute(
        select(Assignment.person_id, StationRow.name)
        .join(StationRow, StationRow.id == Assignment.station_id)
        .where(
            Assignment.election_id == election.rolled_over_from_id,
            Assignment.state == "accepted",
        )
    )
    for person_id, name in rows:
        last.teams.setdefault(name, set()).add(person_id)
        last.worked.add(person_id)
    return last


async def _stations(
    session: AsyncSession, election: Election, last: LastElection
) -> tuple[list[Station], dict[int, str]]:
    """Every station of the election with its building's place and last team; and each
    station's kind (polling or advance), which decides its shifts' kinds of work."""
    station_rows = await session.execute(
        select(
            StationRow.id,
            StationRow.name,
            StationRow.district_id,
            StationRow.languages,
            Building.latitude,
            Building.longitude,
            StationRow.kind,
            Building.postal_code,
        )
        .outerjoin(Room, Room.id == StationRow.room_id)
        .outerjoin(Building, Building.id == Room.building_id)
        .where(StationRow.election_id == election.id)
        .order_by(StationRow.id)
    )
    station_kind: dict[int, str] = {}
    stations: list[Station] = []
    for id_, name, district_id, languages, latitude, longitude, kind, postcode in station_rows:
        station_kind[id_] = kind
        stations.append(
            Station(
                id=id_,
                name=name,
                district_id=district_id,
                latitude=latitude,
                longitude=longitude,
                languages=tuple(sorted(languages or ())),
                last_team=frozenset(last.teams.get(name, ())),
                postal_code=postcode or "",
            )
        )
    return stations, station_kind


async def _holdings(session: AsyncSession, election: Election) -> Holdings:
    """What already holds a place in this election: per place, per person, per shift."""
    holdings = Holdings(per_place={}, per_person={}, holders_of_shift={})
    for shift_id, role_id, person_id, fills in await session.execute(
        select(
            Assignment.shift_id,
            Assignment.role_type_id,
            Assignment.person_id,
            not_kept_off(),
        ).where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
    ):
        # A holder kept off the election still holds their shift, but not the place.
        if fills:
            place = (shift_id, role_id)
            holdings.per_place[place] = holdings.per_place.get(place, 0) + 1
        holdings.per_person[person_id] = holdings.per_person.get(person_id, 0) + 1
        holdings.holders_of_shift.setdefault(shift_id, set()).add(person_id)
    return holdings


async def _places(
    session: AsyncSession,
    election: Election,
    holdings: Holdings,
    only_shifts: Collection[int] | None = None,
) -> list[Place]:
    """The open places (of ``only_shifts``, or all): each norm's target minus those
    held, and how many of them are needed to reach its minimum. A role that may not
    work on the shift (the office's ``work_kinds``) has no open place there."""
    places: list[Place] = []
    statement = (
        select(
            StaffingNorm.shift_id,
            StaffingNorm.role_type_id,
            counted_minimum(),
            StaffingNorm.target,
            ShiftRow.ends_at,
            StationRow.kind,
            RoleType.work_kinds,
        )
        .join(ShiftRow, ShiftRow.id == StaffingNorm.shift_id)
        .join(StationRow, StationRow.id == ShiftRow.station_id)
        .join(RoleType, RoleType.id == StaffingNorm.role_type_id)
        .where(StationRow.election_id == election.id)
        .order_by(StaffingNorm.shift_id, StaffingNorm.role_type_id)
    )
    if only_shifts is not None:
        statement = statement.where(StaffingNorm.shift_id.in_(sorted(only_shifts)))
    for shift_id, role_id, minimum, target, ends_at, kind, role_kinds in await session.execute(
        statement
    ):
        if not role_may_work(list(role_kinds), work_kinds_for(kind, ends_at)):
            continue
        held = holdings.per_place.get((shift_id, role_id), 0)
        open_ = target - held
        if open_ > 0:
            places.append(Place(shift_id, role_id, open_, min(open_, max(0, minimum - held))))
    return places


async def _experienced_holders(
    session: AsyncSession, holdings: Holdings, last: LastElection, open_shifts: set[int]
) -> set[int]:
    """Those already holding a place on a shift with open places who are experienced
    (by their own word, or having worked last election)."""
    experience_of: dict[int, str] = {}
    holder_ids = sorted(
        {
            person_id
            for shift_id, people in holdings.holders_of_shift.items()
            if shift_id in open_shifts
            for person_id in people
        }
    )
    for start in range(0, len(holder_ids), CHUNK):
        chunk = holder_ids[start : start + CHUNK]
        for person_id, experience in await session.execute(
            select(Person.id, Person.experience).where(Person.id.in_(chunk))
        ):
            experience_of[person_id] = experience
    return {
        person_id
        for person_id in holder_ids
        if experience_of.get(person_id) in EXPERIENCED_LEVELS or person_id in last.worked
    }


async def _open_shifts(
    session: AsyncSession,
    election: Election,
    places: list[Place],
    station_kind: dict[int, str],
    holdings: Holdings,
    experienced_holders: set[int],
) -> list[Shift]:
    """The shifts with an open place, with their kinds of work and whether someone
    experienced already holds a place on them."""
    open_shifts = {place.shift_id for place in places}
    shifts: list[Shift] = []
    for id_, station_id, day, starts_at, ends_at in await session.execute(
        select(ShiftRow.id, ShiftRow.station_id, ShiftRow.day, ShiftRow.starts_at, ShiftRow.ends_at)
        .join(StationRow, StationRow.id == ShiftRow.station_id)
        .where(StationRow.election_id == election.id)
        .order_by(ShiftRow.id)
    ):
        if id_ not in open_shifts:
            continue
        holders = holdings.holders_of_shift.get(id_, ())
        shifts.append(
            Shift(
                id=id_,
                station_id=station_id,
                day=day,
                starts_at=starts_at,
                ends_at=ends_at,
                work_kinds=work_kinds_for(station_kind[station_id], ends_at),
                has_experienced=any(p in experienced_holders for p in holders),
            )
        )
    return shifts


async def _candidates(
    session: AsyncSession,
    election: Election,
    shifts: list[Shift],
    places: list[Place],
    last: LastElection,
    holdings: Holdings,
) -> list[Candidate]:
    """Active people of age with a free day the election has shifts on; with required
    courses, each with the roles they may not fill per day."""
    days = sorted({shift.day for shift in shifts})
    # One shift per person and day: a day with a place held anywhere is not free.
    available = await _free_days(session, election, days)
    wishes = await district_wishes(session, election)
    candidates: list[Candidate] = []
    for (
        id_,
        birth_date,
        latitude,
        longitude,
        languages,
        experience,
        postcode,
    ) in await _people(session, sorted(available)):
        if birth_date is None or age_on(birth_date, election.election_day) < MINIMUM_AGE:
            continue
        free = {day: frozenset(kinds) for day, kinds in sorted(available[id_].items())}
        candidates.append(
            Candidate(
                id=id_,
                latitude=latitude,
                longitude=longitude,
                languages=frozenset(languages or ()),
                wishes=frozenset(wishes.get(id_, ())),
                experienced=experience in EXPERIENCED_LEVELS or id_ in last.worked,
                shifts_held=holdings.per_person.get(id_, 0),
                days=free,
                experience_rank=_rank(experience, id_ in last.worked),
                postal_code=postcode or "",
            )
        )
    # Only a role with an open place can be barred: a re-run of a clerk's place reads
    # nobody's courses when only the chair's role requires one.
    required = set(await required_courses(session, election.id)) & {
        place.role_type_id for place in places
    }
    if not required:
        return candidates
    roles_on_day = _roles_on_day(shifts, places)
    return await _bar_untrained(session, election, candidates, roles_on_day, sorted(required))


def _rank(experience: str, worked_last_election: bool) -> int:
    """2 for much experience, 1 for some (or last election), 0 for none."""
    if experience == "much":
        return 2
    return 1 if experience == "some" or worked_last_election else 0


async def _free_days(
    session: AsyncSession, election: Election, days: list[dt.date]
) -> dict[int, dict[dt.date, set[str]]]:
    """Per person and day of ``days``, the kinds of work they said they can do in this
    election, on the days they hold no place yet (in any election). The database
    leaves out the days already taken: after a proposal is accepted they are most."""
    available: dict[int, dict[dt.date, set[str]]] = {}
    if not days:
        return available
    held_that_day = exists().where(
        Assignment.person_id == Availability.person_id,
        Assignment.state.in_(HOLDING_STATES),
        Assignment.shift_id == ShiftRow.id,
        ShiftRow.day == Availability.day,
    )
    for person_id, day, kind in await session.execute(
        select(Availability.person_id, Availability.day, Availability.work_kind).where(
            Availability.election_id == election.id,
            Availability.day.in_(days),
            ~held_that_day,
        )
    ):
        available.setdefault(person_id, {}).setdefault(day, set()).add(kind)
    return available


async def _people(session: AsyncSession, person_ids: list[int]) -> list[Any]:
    """Of ``person_ids``, the active people with a birth date whom the population
    register does not report dead (the dead are never proposed), by id."""
    found: list[Any] = []
    for start in range(0, len(person_ids), CHUNK):
        found.extend(
            await session.execute(
                select(
                    Person.id,
                    Person.birth_date,
                    Person.latitude,
                    Person.longitude,
                    Person.spoken_languages,
                    Person.experience,
                    Person.postal_code,
                )
                .where(
                    Person.id.in_(person_ids[start : start + CHUNK]),
                    Person.status == "active",
                    Person.birth_date.is_not(None),
                    Person.died_on.is_(None),
                )
                .order_by(Person.id)
            )
        )
    return found


async def district_wishes(session: AsyncSession, election: Election) -> dict[int, set[int]]:
    """Per person, the districts of this election they wished to work in."""
    wishes: dict[int, set[int]] = {}
    for person_id, district_id in await session.execute(
        select(DistrictPreference.person_id, DistrictPreference.district_id)
        .join(District, District.id == DistrictPreference.district_id)
        .where(District.election_id == election.id)
    ):
        wishes.setdefault(person_id, set()).add(district_id)
    return wishes


def _roles_on_day(shifts: list[Shift], places: list[Place]) -> dict[dt.date, set[int]]:
    """Per day, the roles with an open place on one of its shifts."""
    roles_on_day: dict[dt.date, set[int]] = {}
    shift_day = {shift.id: shift.day for shift in shifts}
    for place in places:
        if place.shift_id in shift_day:
            roles_on_day.setdefault(shift_day[place.shift_id], set()).add(place.role_type_id)
    return roles_on_day


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
