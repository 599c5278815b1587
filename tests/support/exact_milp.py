"""The optimiser's model written independently as a MILP and solved exactly (HiGHS).

This is the reference the tests and the bench hold the min-cost flow to: it states
the cost model as plain sums over assignment variables (no network, no pruning), so
a wrong arc, tier or bypass in the flow shows as a different optimum. It needs SciPy,
which is a development dependency only: import this module from tests and benches,
never from the running application.

Variables: ``x[c, s, r]`` person c in role r on shift s (only where c can work s and
has the courses r requires);
``u[p]`` unfilled places of place p and ``v[p]`` those of them below the minimum;
``z[s]`` shift s got an experienced person; ``w[c, k]`` person c works a k-th shift;
``l[s]`` shift s got someone in a leading role (the presence rule). The least rest:
for each person and two of their possible shifts too close together
(``Problem.too_close``), at most one of the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import LinearConstraint, milp
from scipy.sparse import coo_array

from app.domain.autostaff.costs import (
    NO_EXPERIENCED,
    NO_LEAD,
    SPREAD_STEP,
    UNFILLED_MINIMUM,
    UNFILLED_TARGET,
    CostTable,
    Pick,
)
from app.domain.autostaff.problem import Problem


@dataclass(frozen=True)
class ExactResult:
    """The model's optimum: its total cost (as ``costs.evaluate`` prices it) and picks."""

    total: int
    picks: list[Pick]


def solve_exact(problem: Problem, time_limit: float = 120.0) -> ExactResult:
    """The optimum of the cost model for ``problem``, by mixed-integer programming."""
    table = CostTable(problem)
    pair = table.pair_costs()
    costs: list[float] = []
    upper: list[float] = []
    rows: list[int] = []
    columns: list[int] = []
    values: list[float] = []
    lower_bounds: list[float] = []
    upper_bounds: list[float] = []
    constraint = 0

    def variable(cost: float, bound: float) -> int:
        costs.append(cost)
        upper.append(bound)
        return len(costs) - 1

    def add_row(terms: list[tuple[int, float]], low: float, high: float) -> None:
        nonlocal constraint
        for column, value in terms:
            rows.append(constraint)
            columns.append(column)
            values.append(value)
        lower_bounds.append(low)
        upper_bounds.append(high)
        constraint += 1

    places_of: dict[int, list[int]] = {}
    for p, place in enumerate(problem.places):
        places_of.setdefault(place.shift_id, []).append(p)
    x_of_place: dict[int, list[int]] = {p: [] for p in range(len(problem.places))}
    x_of_person_day: dict[tuple[int, object], list[int]] = {}
    x_of_person: dict[int, list[int]] = {}
    experienced_x: dict[int, list[int]] = {}
    x_pick: dict[int, Pick] = {}
    x_of_person_shift: dict[tuple[int, int], list[int]] = {}
    lead_x: dict[int, list[int]] = {}
    for i, candidate in enumerate(problem.candidates):
        for shift in problem.shifts:
            if not candidate.can_work(shift):
                continue
            cost = float(pair[i, table.station_index[shift.station_id]])
            for p in places_of.get(shift.id, []):
                if not candidate.may_fill(problem.places[p].role_type_id, shift.day):
                    continue
                column = variable(cost, 1)
                x_pick[column] = Pick(shift.id, problem.places[p].role_type_id, candidate.id)
                x_of_place[p].append(column)
                x_of_person_day.setdefault((candidate.id, shift.day), []).append(column)
                x_of_person.setdefault(candidate.id, []).append(column)
                x_of_person_shift.setdefault((candidate.id, shift.id), []).append(column)
                if problem.role(problem.places[p].role_type_id).leads_station:
                    lead_x.setdefault(shift.id, []).append(column)
                if candidate.experienced:
                    experienced_x.setdefault(shift.id, []).append(column)

    for p, place in enumerate(problem.places):
        unfilled = variable(UNFILLED_TARGET, place.open)
        below = variable(UNFILLED_MINIMUM - UNFILLED_TARGET, place.below_minimum)
        add_row([(c, 1.0) for c in x_of_place[p]] + [(unfilled, 1.0)], place.open, place.open)
        add_row([(unfilled, 1.0), (below, -1.0)], -np.inf, place.open - place.below_minimum)
    for columns_of_day in x_of_person_day.values():
        add_row([(c, 1.0) for c in columns_of_day], -np.inf, 1)
    constant = 0
    for shift in problem.shifts:
        if shift.has_experienced:
            continue
        constant += NO_EXPERIENCED
        got = variable(-NO_EXPERIENCED, 1)
        add_row([(got, 1.0)] + [(c, -1.0) for c in experienced_x.get(shift.id, [])], -np.inf, 0)
    for shift_id in sorted(problem.lead_shifts()):
        constant += NO_LEAD
        got = variable(-NO_LEAD, 1)
        add_row([(got, 1.0)] + [(c, -1.0) for c in lead_x.get(shift_id, [])], -np.inf, 0)
    for (person_id, first), columns_first in x_of_person_shift.items():
        for (other_id, second), columns_second in x_of_person_shift.items():
            if other_id == person_id and first < second and problem.too_close(first, second):
                add_row([(c, 1.0) for c in columns_first + columns_second], -np.inf, 1)
    for candidate in problem.candidates:
        columns_of_person = x_of_person.get(candidate.id, [])
        if not columns_of_person:
            continue
        days = {day for (person_id, day) in x_of_person_day if person_id == candidate.id}
        tiers = [variable(SPREAD_STEP * (candidate.shifts_held + k), 1) for k in range(len(days))]
        add_row([(t, 1.0) for t in tiers] + [(c, -1.0) for c in columns_of_person], 0, 0)

    if not costs:
        return ExactResult(constant, [])
    matrix = coo_array((values, (rows, columns)), shape=(constraint, len(costs))).tocsr()
    result = milp(
        c=np.array(costs),
        integrality=np.ones(len(costs)),
        bounds=(np.zeros(len(costs)), np.array(upper, dtype=float)),
        constraints=[LinearConstraint(matrix, lower_bounds, upper_bounds)],
        options={"mip_rel_gap": 0.0, "time_limit": time_limit},
    )
    if result.status != 0:
        raise RuntimeError(f"the MILP was not solved to optimality: {result.message}")
    picks = sorted(
        (x_pick[c] for c in x_pick if result.x[c] > 0.5),
        key=lambda p: (p.shift_id, p.role_type_id, p.person_id),
    )
    return ExactResult(round(result.fun) + constant, picks)
