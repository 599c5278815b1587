"""The optimiser's cost model: what a proposal costs, part by part.

Every number is an integer, so the min-cost flow, the exact MILP and the greedy
baseline of the bench all price a proposal identically. Per unit:

================================  ==========  =============================================
part                              cost        when
================================  ==========  =============================================
``unfilled_minimum``              1,000,000   each open place below the norm's minimum
                                              left empty
``unfilled_target``                  10,000   each open place between minimum and target
                                              left empty
``travel``                        metres/100  person -> station building, great-circle
                                              (haversine) distance, when both have
                                              coordinates (rounded to whole 100 m)
                                          0   otherwise (distance unknown), when the
                                              station's district is among the wishes
                                         50   otherwise, when the person's postcode shares
                                              its first 3 digits (an area) with the
                                              building's
                                      2,000   otherwise, when the person wished districts in
                                              this election and the station's is not one
                                        200   otherwise, when the postcodes share the first
                                              2 digits (a region)
                                      1,000   otherwise (nothing known; also advance
                                              stations, which have no district)
``team``                              3,000   a person on a station whose namesake in the
                                              election this one was rolled over from had a
                                              team (accepted assignments) they were not
                                              part of: last election's team is relatively
                                              cheaper
``language``                          1,500   a person who speaks none of the languages the
                                              station's voters need (stations without
                                              ``languages`` never cost this)
``experience``                        5,000   each shift with open places left without any
                                              experienced person (experience "some" or
                                              "much", or accepted in the election rolled
                                              over from), counting those already holding a
                                              place on it
``lead``                          50,000   each shift with an open place of a leading role (chair,
                                              vice chair) where no one of a leading role
                                              holds or is proposed a place: the presence
                                              rule (a chair or vice chair on every shift)
``spread``                  2,000 x (n - 1)   a person's n-th shift in the election (places
                                              they already hold count): 2nd +2,000, 3rd
                                              +4,000, 4th +6,000 ... convex, so a flow's
                                              tiered arcs price it exactly
================================  ==========  =============================================

A person whose distance is unknown is never left out: what is known stands in for it
(``app.domain.staffing.nearness``, the same ranking the board's place panel uses), and
the proposal's reasons say the distance is unknown and what stood in for it.

Hard rules are not costs: they decide who may be a candidate for a shift at all, and
in which roles (see ``problem``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.domain.autostaff.problem import Candidate, Problem, Station
from app.domain.staffing.nearness import (
    AREA_DIGITS,
    AREA_KM,
    REGION_DIGITS,
    REGION_KM,
    postcode_digits,
)

UNFILLED_MINIMUM = 1_000_000
UNFILLED_TARGET = 10_000
METRES_PER_COST = 100
OUTSIDE_WISHES = 2_000
IN_WISHES = 0
UNKNOWN_TRAVEL = 1_000
POSTCODE_AREA = round(AREA_KM * 1000 / METRES_PER_COST)
POSTCODE_REGION = round(REGION_KM * 1000 / METRES_PER_COST)
NEW_TO_TEAM = 3_000
NO_LANGUAGE = 1_500
NO_EXPERIENCED = 5_000
NO_LEAD = 50_000
SPREAD_STEP = 2_000

#: The parts of a breakdown, in the order a planner reads them; ``total`` is their sum.
COST_PARTS = (
    "unfilled_minimum",
    "unfilled_target",
    "travel",
    "team",
    "language",
    "experience",
    "lead",
    "spread",
    "total",
)
#: The counts stored beside the costs of a run.
COUNT_KEYS = ("places", "filled", "unfilled_below_minimum")

EARTH_RADIUS_METRES = 6_371_000.0


@dataclass(frozen=True)
class Pick:
    """One proposed assignment: a person in a role on a shift."""

    shift_id: int
    role_type_id: int
    person_id: int


def spread_cost(shifts_before: int) -> int:
    """What one more shift costs a person who already has ``shifts_before``."""
    return SPREAD_STEP * shifts_before


def haversine_metres(
    lat1: NDArray[np.float64],
    lon1: NDArray[np.float64],
    lat2: NDArray[np.float64],
    lon2: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Great-circle distance in metres, element by element (arrays broadcast)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlambda = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_METRES * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def distance_metres(candidate: Candidate, station: Station) -> float | None:
    """The distance shown in a reason (not used for costs: those come from the table)."""
    if None in (candidate.latitude, candidate.longitude, station.latitude, station.longitude):
        return None
    return float(
        haversine_metres(
            np.array(candidate.latitude),
            np.array(candidate.longitude),
            np.array(station.latitude),
            np.array(station.longitude),
        )
    )


def team_cost(candidate: Candidate, station: Station) -> int:
    if station.last_team and candidate.id not in station.last_team:
        return NEW_TO_TEAM
    return 0


def language_cost(candidate: Candidate, station: Station) -> int:
    if station.languages and not candidate.languages.intersection(station.languages):
        return NO_LANGUAGE
    return 0


def _postcode_prefixes(codes: Iterable[str], length: int) -> NDArray[np.int64]:
    """The first ``length`` digits of each postcode as a number, or -1 when unknown."""
    prefixes = [postcode_digits(code)[:length] for code in codes]
    return np.array([int(p) if len(p) == length else -1 for p in prefixes], dtype=np.int64)


def _shared_postcodes(problem: Problem) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(candidate x station) masks: the postcodes share an area (first 3 digits), or
    only a region (first 2)."""
    masks = []
    for length in (AREA_DIGITS, REGION_DIGITS):
        people = _postcode_prefixes((c.postal_code for c in problem.candidates), length)
        places = _postcode_prefixes((s.postal_code for s in problem.stations), length)
        masks.append((people[:, None] == places[None, :]) & (people[:, None] >= 0))
    area, region = masks
    return area, region & ~area


class CostTable:
    """The per-pair costs (travel, team, language) of every candidate at every station.

    Travel is computed once, vectorised, for the whole problem; every consumer (the
    solver, the evaluation, the bench's baseline and the exact model) reads this one
    table, so floating-point rounding can never make two of them disagree.
    """

    def __init__(self, problem: Problem, chunk: int = 2_000) -> None:
        self.problem = problem
        self._pair: NDArray[np.int64] | None = None
        self.candidate_index = {c.id: i for i, c in enumerate(problem.candidates)}
        self.station_index = {s.id: j for j, s in enumerate(problem.stations)}
        stations = problem.stations
        count = len(problem.candidates)
        self.travel = np.full((count, len(stations)), UNKNOWN_TRAVEL, dtype=np.int32)
        area, region = _shared_postcodes(problem)
        self.travel[region] = POSTCODE_REGION
        districts = np.array([s.district_id or 0 for s in stations], dtype=np.int64)
        has_district = np.array([s.district_id is not None for s in stations])
        for i, candidate in enumerate(problem.candidates):
            if candidate.wishes:
                wished = np.isin(districts, np.fromiter(candidate.wishes, dtype=np.int64))
                self.travel[i, has_district & ~wished] = OUTSIDE_WISHES
                self.travel[i, area[i]] = POSTCODE_AREA
                self.travel[i, has_district & wished] = IN_WISHES
            else:
                self.travel[i, area[i]] = POSTCODE_AREA
        station_lat = np.array([np.nan if s.latitude is None else s.latitude for s in stations])
        station_lon = np.array([np.nan if s.longitude is None else s.longitude for s in stations])
        located_stations = ~np.isnan(station_lat) & ~np.isnan(station_lon)
        located = [
            i
            for i, c in enumerate(problem.candidates)
            if c.latitude is not None and c.longitude is not None
        ]
        columns = np.flatnonzero(located_stations)
        for start in range(0, len(located), chunk):
            rows = np.array(located[start : start + chunk], dtype=np.int64)
            lat = np.array([problem.candidates[i].latitude for i in rows], dtype=np.float64)
            lon = np.array([problem.candidates[i].longitude for i in rows], dtype=np.float64)
            metres = haversine_metres(
                lat[:, None], lon[:, None], station_lat[None, columns], station_lon[None, columns]
            )
            self.travel[np.ix_(rows, columns)] = np.rint(metres / METRES_PER_COST).astype(np.int32)

    def pair_costs(self) -> NDArray[np.int64]:
        """travel + team + language for every (candidate, station), as one matrix
        (worked out once: every round of a solve and its pricing reads it)."""
        if self._pair is None:
            self._pair = self._pair_costs()
            self._pair.flags.writeable = False
        return self._pair

    def _pair_costs(self) -> NDArray[np.int64]:
        problem = self.problem
        pair = self.travel.astype(np.int64)
        for j, station in enumerate(problem.stations):
            if station.last_team:
                column = np.full(len(problem.candidates), NEW_TO_TEAM, dtype=np.int64)
                for person_id in station.last_team:
                    i = self.candidate_index.get(person_id)
                    if i is not None:
                        column[i] = 0
                pair[:, j] += column
            if station.languages:
                pair[:, j] += np.array(
                    [language_cost(c, station) for c in problem.candidates], dtype=np.int64
                )
        return pair

    def parts(self, person_id: int, station_id: int) -> tuple[int, int, int]:
        """(travel, team, language) of one person at one station."""
        candidate = self.problem.candidate(person_id)
        station = self.problem.station(station_id)
        travel = int(self.travel[self.candidate_index[person_id], self.station_index[station_id]])
        return travel, team_cost(candidate, station), language_cost(candidate, station)


@dataclass(frozen=True)
class Evaluation:
    """What a set of picks costs: the breakdown, the counts, and each pick's own part
    (travel + team + language + its step of the person's spread)."""

    breakdown: dict[str, int]
    counts: dict[str, int]
    pick_costs: list[int]


def evaluate(problem: Problem, picks: Sequence[Pick], table: CostTable | None = None) -> Evaluation:
    """Price ``picks`` with the cost model; the one place the model is written as sums.

    It does not check the hard rules (``check`` does): the solver, the exact model and
    the bench's baseline all produce picks that keep them.
    """
    table = table or CostTable(problem)
    filled: dict[tuple[int, int], int] = {}
    experienced_on: set[int] = set()
    travel = team = language = spread = 0
    pick_costs = [0] * len(picks)
    per_person: dict[int, list[int]] = {}
    for index, pick in enumerate(picks):
        key = (pick.shift_id, pick.role_type_id)
        filled[key] = filled.get(key, 0) + 1
        shift = problem.shift(pick.shift_id)
        candidate = problem.candidate(pick.person_id)
        if candidate.experienced:
            experienced_on.add(shift.id)
        parts = table.parts(pick.person_id, shift.station_id)
        travel += parts[0]
        team += parts[1]
        language += parts[2]
        pick_costs[index] = sum(parts)
        per_person.setdefault(pick.person_id, []).append(index)
    for person_id, indexes in per_person.items():
        before = problem.candidate(person_id).shifts_held
        ordered = sorted(indexes, key=lambda i: problem.shift_order(picks[i].shift_id))
        for step, index in enumerate(ordered):
            cost = spread_cost(before + step)
            spread += cost
            pick_costs[index] += cost
    unfilled_minimum = unfilled_target = below = places = 0
    for place in problem.places:
        got = filled.get((place.shift_id, place.role_type_id), 0)
        missing_minimum = max(0, place.below_minimum - got)
        places += place.open
        below += missing_minimum
        unfilled_minimum += UNFILLED_MINIMUM * missing_minimum
        unfilled_target += UNFILLED_TARGET * (max(0, place.open - got) - missing_minimum)
    experience = NO_EXPERIENCED * sum(
        1
        for shift in problem.shifts
        if not shift.has_experienced and shift.id not in experienced_on
    )
    led = {pick.shift_id for pick in picks if problem.role(pick.role_type_id).leads_station}
    lead = NO_LEAD * len(problem.lead_shifts() - led)
    breakdown = {
        "unfilled_minimum": unfilled_minimum,
        "unfilled_target": unfilled_target,
        "travel": travel,
        "team": team,
        "language": language,
        "experience": experience,
        "lead": lead,
        "spread": spread,
    }
    breakdown["total"] = sum(breakdown.values())
    counts = {"places": places, "filled": len(picks), "unfilled_below_minimum": below}
    return Evaluation(breakdown, counts, pick_costs)


def check(problem: Problem, picks: Iterable[Pick]) -> list[str]:
    """The hard rules a set of picks breaks, as plain descriptions (for tests and the
    bench): capacity per place, one shift per person and day, availability, the
    courses a role requires, and the least rest between two of a person's places."""
    problems: list[str] = []
    filled: dict[tuple[int, int], int] = {}
    days: set[tuple[int, object]] = set()
    open_places = {(p.shift_id, p.role_type_id): p.open for p in problem.places}
    for pick in picks:
        key = (pick.shift_id, pick.role_type_id)
        filled[key] = filled.get(key, 0) + 1
        if filled[key] > open_places.get(key, 0):
            problems.append(f"place {key} over capacity")
        shift = problem.shift(pick.shift_id)
        if (pick.person_id, shift.day) in days:
            problems.append(f"person {pick.person_id} twice on {shift.day}")
        days.add((pick.person_id, shift.day))
        if not problem.is_candidate(pick.person_id):
            problems.append(f"person {pick.person_id} is no candidate")
        elif not problem.candidate(pick.person_id).can_work(shift):
            problems.append(f"person {pick.person_id} cannot work shift {shift.id}")
        elif not problem.candidate(pick.person_id).may_fill(pick.role_type_id, shift.day):
            problems.append(
                f"person {pick.person_id} lacks a course role {pick.role_type_id} requires"
            )
    problems.extend(rest_problems(problem, picks))
    return problems


def rest_problems(problem: Problem, picks: Iterable[Pick]) -> list[str]:
    """Pairs of one person's picks with too little rest between them."""
    shifts_of: dict[int, list[int]] = {}
    for pick in picks:
        shifts_of.setdefault(pick.person_id, []).append(pick.shift_id)
    problems = []
    for person_id, shift_ids in shifts_of.items():
        for n, first in enumerate(shift_ids):
            for second in shift_ids[n + 1 :]:
                if problem.too_close(first, second):
                    problems.append(
                        f"person {person_id}: too little rest between {first}, {second}"
                    )
    return problems
