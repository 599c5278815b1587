"""The person-day -> shift pairs the flow considers, and what each costs.

A person-day may go to a shift on that day when the person can do every kind of work
of the shift and may fill one of its open roles (see ``role_classes``).

**The only approximation:** each person-day gets arcs only to the ``nearest``
stations (by the travel cost; ties by station id) among those with a shift that day
the person can work, plus every station in a district they wished and every station
of last election's team they were in. Without it the large municipality would have
tens of millions of arcs. A person whose distance is unknown (no coordinates) ties at
every station, and the pruning would keep the same first stations by id for all of
them: such a person also reaches the ``nearest`` stations with a place below their
minimum, ties taken in turn, so that nobody is left out of where they are needed for
want of an address placed on a map. ``nearest=None`` keeps
every station; ``pricing`` makes the bound hold over every station and adds back the
pairs the optimum wants (``extra``); the bench measures what the pruning costs, and on
small instances compares against an exact MILP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.domain.autostaff.costs import CostTable
from app.domain.autostaff.problem import Problem
from app.domain.autostaff.role_classes import RoleClasses


@dataclass
class Choices:
    """Everything about the person-day -> shift arcs that does not change between rounds."""

    candidate_of: NDArray[np.int64]
    day_of: NDArray[np.int64]
    shift_of: NDArray[np.int64]
    #: The class (restricted role bits) of each choice, and whether it is the full one.
    bits: NDArray[np.int64]
    full: NDArray[np.bool_]
    costs: NDArray[np.int64]
    person_days: NDArray[np.int64]
    tails: NDArray[np.int64]  # relative to the first person-day node


def build_choices(
    problem: Problem,
    table: CostTable,
    nearest: int | None,
    courses: RoleClasses,
    days: list[dt.date],
    extra: NDArray[np.int64] | None = None,
) -> Choices:
    """Every choice sorted by (candidate, day, shift), with its class, its cost (travel +
    team + language) and its person-day. ``extra`` adds (candidate, day, shift) rows the
    pruning left out (pricing, see ``pricing``)."""
    pair = table.pair_costs()
    choice_candidates, choice_days, choice_shifts = station_choices(
        problem, table, nearest, courses, days
    )
    if extra is not None and len(extra):
        choice_candidates.append(extra[:, 0])
        choice_days.append(extra[:, 1])
        choice_shifts.append(extra[:, 2])
    candidate_of = np.concatenate([np.zeros(0, np.int64), *choice_candidates])
    day_of = np.concatenate([np.zeros(0, np.int64), *choice_days])
    shift_of = np.concatenate([np.zeros(0, np.int64), *choice_shifts])
    order = np.lexsort((shift_of, day_of, candidate_of))
    candidate_of, day_of, shift_of = candidate_of[order], day_of[order], shift_of[order]
    if extra is not None and len(extra):
        # A priced row may already be among the nearest: keep each pair once.
        first = np.ones(len(shift_of), dtype=bool)
        first[1:] = (np.diff(candidate_of) != 0) | (np.diff(shift_of) != 0)
        candidate_of, day_of, shift_of = candidate_of[first], day_of[first], shift_of[first]
    candidate_of, day_of, shift_of = _without_unfit(problem, candidate_of, day_of, shift_of)
    person_days = np.unique(np.stack([candidate_of, day_of], axis=1), axis=0)
    # Each choice's person-day: person_days is sorted like the choices.
    key = candidate_of * (int(day_of.max(initial=0)) + 1) + day_of
    day_keys = person_days[:, 0] * (int(day_of.max(initial=0)) + 1) + person_days[:, 1]
    station_of_shift = np.array(
        [table.station_index[shift.station_id] for shift in problem.shifts], dtype=np.int64
    )
    shift_bits = courses.shift_bits[shift_of]
    bits = shift_bits & ~courses.barred[candidate_of, day_of]
    return Choices(
        candidate_of,
        day_of,
        shift_of,
        bits,
        bits == shift_bits,
        pair[candidate_of, station_of_shift[shift_of]],
        person_days,
        np.searchsorted(day_keys, key),
    )


def _without_unfit(
    problem: Problem,
    candidate_of: NDArray[np.int64],
    day_of: NDArray[np.int64],
    shift_of: NDArray[np.int64],
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """The choices without a shift a candidate may not work for too little rest
    (``Candidate.unfit_shifts``, from the working-time rules); unchanged without any."""
    unfit = [
        (i, shift_id)
        for i, candidate in enumerate(problem.candidates)
        for shift_id in candidate.unfit_shifts
    ]
    if not unfit:
        return candidate_of, day_of, shift_of
    index = {shift.id: s for s, shift in enumerate(problem.shifts)}
    unfit = [(i, index[shift_id]) for i, shift_id in unfit if shift_id in index]
    width = len(problem.shifts)
    drop = np.array([i * width + s for i, s in unfit], dtype=np.int64)
    keep = ~np.isin(candidate_of * width + shift_of, drop)
    return candidate_of[keep], day_of[keep], shift_of[keep]


def station_choices(
    problem: Problem,
    table: CostTable,
    nearest: int | None,
    courses: RoleClasses,
    days: list[dt.date],
) -> tuple[list[NDArray[np.int64]], list[NDArray[np.int64]], list[NDArray[np.int64]]]:
    """Person-day -> shift pairs: (candidate index, day index, shift index) arrays; a
    shift only where the person-day may fill one of its open roles."""
    station_district = np.array([s.district_id or 0 for s in problem.stations], dtype=np.int64)
    team_stations = _team_stations(problem, table)
    short = _short_stations(problem, table)

    out_candidates, out_days, out_shifts = [], [], []
    for d, members, eligible in eligible_groups(problem, courses, days):
        station_of = [table.station_index[problem.shifts[s].station_id] for s in eligible]
        columns = np.array(sorted(set(station_of)), dtype=np.int64)
        rows = np.array(members, dtype=np.int64)
        keep = _kept_stations(
            problem, table, nearest, members, columns, station_district[columns], team_stations
        )
        _keep_short_for_the_unlocated(
            problem, table, nearest, keep, members, columns, short[columns]
        )
        candidates, shifts = _expand_to_shifts(keep, rows, columns, eligible, station_of)
        out_candidates.append(candidates)
        out_days.append(np.full(len(candidates), d, dtype=np.int64))
        out_shifts.append(shifts)
    return out_candidates, out_days, out_shifts


def eligible_groups(
    problem: Problem, courses: RoleClasses, days: list[dt.date]
) -> list[tuple[int, list[int], list[int]]]:
    """Person-days grouped by (day, kinds of work, barred roles), which decide the shifts
    they may work: (day index, candidate indexes, shift indexes) per group with a shift,
    in a fixed order. Before pruning: every pair a group's members may take."""
    day_index = {day: d for d, day in enumerate(days)}
    shifts_by_day: dict[int, list[int]] = {}
    for s, shift in enumerate(problem.shifts):
        shifts_by_day.setdefault(day_index[shift.day], []).append(s)
    found = []
    for (d, kinds, barred), members in _person_day_groups(problem, courses, day_index):
        eligible = [
            s
            for s in shifts_by_day.get(d, [])
            if all(kind in kinds for kind in problem.shifts[s].work_kinds)
            and courses.fits(s, barred)
        ]
        if eligible:
            found.append((d, members, eligible))
    return found


def _team_stations(problem: Problem, table: CostTable) -> dict[int, list[int]]:
    """Per candidate index, the stations (indexes) of last election's teams they were in."""
    team_stations: dict[int, list[int]] = {}
    for j, station in enumerate(problem.stations):
        for person_id in station.last_team:
            if person_id in table.candidate_index:
                team_stations.setdefault(table.candidate_index[person_id], []).append(j)
    return team_stations


def _short_stations(problem: Problem, table: CostTable) -> NDArray[np.bool_]:
    """Per station (index), whether one of its places is below its minimum."""
    station_of_shift = {shift.id: shift.station_id for shift in problem.shifts}
    short = np.zeros(len(problem.stations), dtype=bool)
    for place in problem.places:
        if place.below_minimum:
            short[table.station_index[station_of_shift[place.shift_id]]] = True
    return short


def _keep_short_for_the_unlocated(
    problem: Problem,
    table: CostTable,
    nearest: int | None,
    keep: NDArray[np.bool_],
    members: list[int],
    columns: NDArray[np.int64],
    short: NDArray[np.bool_],
) -> None:
    """A member without coordinates also reaches stations below their minimum: the
    ``nearest`` cheapest of them by the travel that stands in for a distance, ties taken
    in turn from another station for each member, so that together they reach every
    one rather than all the same first few by id."""
    short_columns = np.flatnonzero(short)
    if not len(short_columns):
        return
    for r, i in enumerate(members):
        if problem.candidates[i].located:
            continue
        if nearest is None or nearest >= len(short_columns):
            keep[r, short_columns] = True
            continue
        travel = table.travel[i, columns[short_columns]]
        turn = (np.arange(len(short_columns)) - i) % len(short_columns)
        keep[r, short_columns[np.lexsort((turn, travel))[:nearest]]] = True


def _person_day_groups(
    problem: Problem, courses: RoleClasses, day_index: dict[dt.date, int]
) -> list[tuple[tuple[int, frozenset[str], int], list[int]]]:
    """Candidates grouped by (day, kinds of work, barred roles), which decide the shifts
    they may work: one group's shifts are found once. Sorted, so the arcs come in a fixed
    order."""
    groups: dict[tuple[int, frozenset[str], int], list[int]] = {}
    for i, candidate in enumerate(problem.candidates):
        for day, kinds in candidate.days.items():
            if day in day_index:
                d = day_index[day]
                groups.setdefault((d, kinds, int(courses.barred[i, d])), []).append(i)
    return sorted(groups.items(), key=lambda g: (g[0][0], sorted(g[0][1]), g[0][2]))


def _kept_stations(
    problem: Problem,
    table: CostTable,
    nearest: int | None,
    members: list[int],
    columns: NDArray[np.int64],
    column_districts: NDArray[np.int64],
    team_stations: dict[int, list[int]],
) -> NDArray[np.bool_]:
    """Which stations (``columns``) each member reaches: the ``nearest`` by travel, every
    one in a district they wished and every one of last election's team they were in."""
    rows = np.array(members, dtype=np.int64)
    if nearest is None or nearest >= len(columns):
        return np.ones((len(rows), len(columns)), dtype=bool)
    keep = np.zeros((len(rows), len(columns)), dtype=bool)
    travel = table.travel[np.ix_(rows, columns)]
    # Stable: among equal travel the lower station id (column order) comes first.
    order = np.argsort(travel, axis=1, kind="stable")[:, :nearest]
    keep[np.arange(len(rows))[:, None], order] = True
    column_of_station = {int(j): c for c, j in enumerate(columns)}
    for r, i in enumerate(members):
        wishes = problem.candidates[i].wishes
        if wishes:
            keep[r] |= np.isin(column_districts, np.fromiter(wishes, dtype=np.int64))
        for j in team_stations.get(i, ()):
            if j in column_of_station:
                keep[r, column_of_station[j]] = True
    return keep


def _expand_to_shifts(
    keep: NDArray[np.bool_],
    rows: NDArray[np.int64],
    columns: NDArray[np.int64],
    eligible: list[int],
    station_of: list[int],
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Each kept (person, station) expanded to the station's eligible shifts that day:
    (candidate index, shift index) arrays."""
    column_of_station = {int(j): c for c, j in enumerate(columns)}
    per_column: list[list[int]] = [[] for _ in columns]
    for s, j in zip(eligible, station_of, strict=True):
        per_column[column_of_station[j]].append(s)
    counts = np.array([len(c) for c in per_column], dtype=np.int64)
    flat = np.array([s for c in per_column for s in c], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    kept_rows, kept_columns = np.nonzero(keep)
    repeat = counts[kept_columns]
    starts = np.repeat(np.cumsum(repeat) - repeat, repeat)
    within = np.arange(int(repeat.sum()), dtype=np.int64) - starts
    return np.repeat(rows[kept_rows], repeat), flat[
        np.repeat(offsets[kept_columns], repeat) + within
    ]
