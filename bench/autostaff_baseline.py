"""The optimiser bench's yardsticks on the large case: how many places supply allows at
all, and a greedy baseline to print the optimiser's costs beside."""

from __future__ import annotations

import datetime as dt

import numpy as np
from ortools.graph.python import max_flow

from app.domain.autostaff.costs import NO_EXPERIENCED, SPREAD_STEP, CostTable, Pick
from app.domain.autostaff.problem import Problem


def fillable(problem: Problem) -> int:
    """How many places supply allows at all (ignoring cost and pruning): a max flow
    over classes of person-days (day, kinds of work, roles barred for want of a course),
    since a person's days are independent of each other."""
    classes: dict[tuple[dt.date, frozenset[str], frozenset[int]], int] = {}
    for candidate in problem.candidates:
        for day, kinds in candidate.days.items():
            key = (day, kinds, candidate.barred.get(day, frozenset()))
            classes[key] = classes.get(key, 0) + 1
    flow = max_flow.SimpleMaxFlow()
    class_node = {key: 2 + n for n, key in enumerate(sorted(classes, key=str))}
    place_first = 2 + len(class_node)
    places_of: dict[int, list[int]] = {}
    for n, place in enumerate(problem.places):
        places_of.setdefault(place.shift_id, []).append(n)
        flow.add_arc_with_capacity(place_first + n, 1, place.open)
    for key, node in class_node.items():
        flow.add_arc_with_capacity(0, node, classes[key])
    # A class reaches a shift's places of the roles it may fill through a node per
    # (class, shift), which caps it at one person per place it can reach.
    next_node = place_first + len(problem.places)
    for shift in problem.shifts:
        for (day, kinds, barred), node in class_node.items():
            if day != shift.day or not all(kind in kinds for kind in shift.work_kinds):
                continue
            fits = [n for n in places_of[shift.id] if problem.places[n].role_type_id not in barred]
            if fits:
                flow.add_arc_with_capacity(node, next_node, 1_000_000)
                for n in fits:
                    flow.add_arc_with_capacity(next_node, place_first + n, problem.places[n].open)
                next_node += 1
    assert flow.solve(0, 1) == flow.OPTIMAL
    return int(flow.optimal_flow())


def greedy(problem: Problem, table: CostTable) -> list[Pick]:
    """The baseline: places in order of shift (day, start) and role (leading roles first),
    each given the candidate whose marginal cost is lowest right then (travel, team,
    language, the next spread step, minus the experience bonus while the shift has no
    experienced person); ties to the lowest person id."""
    pair = table.pair_costs()
    experienced = np.array([c.experienced for c in problem.candidates])
    worked = np.array([c.shifts_held for c in problem.candidates], dtype=np.int64)
    days = sorted({shift.day for shift in problem.shifts})
    can: dict[tuple[dt.date, str], np.ndarray] = {}
    for day in days:
        for kind in ("election_day", "counting", "advance"):
            can[(day, kind)] = np.array(
                [kind in c.days.get(day, ()) for c in problem.candidates], dtype=bool
            )
    free = {day: np.array([day in c.days for c in problem.candidates]) for day in days}
    has_experienced = {shift.id: shift.has_experienced for shift in problem.shifts}
    nobody = np.zeros(len(problem.candidates), dtype=bool)
    barred_of: dict[tuple[int, dt.date], np.ndarray] = {}
    for i, candidate in enumerate(problem.candidates):
        for day, roles in candidate.barred.items():
            for role_id in roles:
                barred_of.setdefault((role_id, day), nobody.copy())[i] = True
    places = sorted(
        problem.places,
        key=lambda p: (
            problem.shift_order(p.shift_id),
            not problem.role(p.role_type_id).leads_station,
            problem.role(p.role_type_id).sort_order,
            p.role_type_id,
        ),
    )
    picks: list[Pick] = []
    for place in places:
        shift = problem.shift(place.shift_id)
        column = pair[:, table.station_index[shift.station_id]]
        eligible = free[shift.day].copy()
        for kind in shift.work_kinds:
            eligible &= can[(shift.day, kind)]
        barred = barred_of.get((place.role_type_id, shift.day), nobody)
        for _unit in range(place.open):
            if not (eligible & ~barred).any():
                break
            cost = column + SPREAD_STEP * worked
            if not has_experienced[shift.id]:
                cost = cost - NO_EXPERIENCED * experienced
            i = int(np.argmin(np.where(eligible & ~barred, cost, np.iinfo(np.int64).max)))
            picks.append(Pick(shift.id, place.role_type_id, problem.candidates[i].id))
            eligible[i] = False
            free[shift.day][i] = False
            worked[i] += 1
            has_experienced[shift.id] = has_experienced[shift.id] or bool(experienced[i])
    return picks
