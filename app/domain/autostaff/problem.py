"""The staffing problem of one election as plain data.

Open places per shift and role, the shifts and stations they belong to, and the
candidates with their free days; ``loading`` reads it from the database and applies
the hard rules that decide who is a candidate for what (one shift per person and
day, age, availability, required courses). The cost model (``costs``) and the
solver work on this data only, so tests and the bench can build a problem by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


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
    #: The building's postcode ("" when unknown): stands in for a distance not known.
    postal_code: str = ""


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
    #: Someone holds a place of a leading role (chair, vice chair) on it.
    has_lead: bool = False

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        """Its start and end as (local, naive) moments; the end past midnight when it
        ends before it starts."""
        start = dt.datetime.combine(self.day, self.starts_at)
        end = dt.datetime.combine(self.day, self.ends_at)
        return start, end + dt.timedelta(days=1) if self.ends_at <= self.starts_at else end


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
    #: The person's postcode ("" when unknown): stands in for a distance not known.
    postal_code: str = ""
    #: Shifts the person may not work for too little rest next to a place they hold.
    unfit_shifts: frozenset[int] = frozenset()

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    def can_work(self, shift: Shift) -> bool:
        kinds = self.days.get(shift.day)
        return (
            kinds is not None
            and all(kind in kinds for kind in shift.work_kinds)
            and shift.id not in self.unfit_shifts
        )

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
    #: People of the election's reserve pool left out of the candidates (reserves stay
    #: reserves unless the planner includes them).
    reserves_kept_back: int = 0
    #: The least rest between two of a person's places (the municipality's working-time
    #: rule), in minutes; None for no rule.
    min_rest_minutes: int | None = None
    #: Open places on shifts longer than the working rules' most hours a day: nobody
    #: may work them, so they are left out of the problem (and stay open).
    places_too_long: int = 0
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

    def lead_shifts(self) -> set[int]:
        """The shifts the presence rule watches: an open place of a leading role and
        nobody of a leading role holding a place yet."""
        return {
            place.shift_id
            for place in self.places
            if self._roles[place.role_type_id].leads_station
            and not self._shifts[place.shift_id].has_lead
        }

    def too_close(self, first_id: int, second_id: int) -> bool:
        """Two shifts on different days one person may not both work: they overlap, or
        leave less than the least rest between them."""
        first, second = self._shifts[first_id], self._shifts[second_id]
        if first.day == second.day:
            return False
        (start1, end1), (start2, end2) = first.window(), second.window()
        if end1 > start2 and end2 > start1:
            return True
        if self.min_rest_minutes is None:
            return False
        gap = start2 - end1 if end1 <= start2 else start1 - end2
        return gap < dt.timedelta(minutes=self.min_rest_minutes)

    def shift_order(self, shift_id: int) -> tuple[dt.date, dt.time, int]:
        shift = self._shifts[shift_id]
        return shift.day, shift.starts_at, shift.id
