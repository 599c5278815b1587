"""Solving the staffing problem as a min-cost flow (OR-Tools ``SimpleMinCostFlow``).

The network, with capacity / cost on each arc::

    source --1 / 2,000 x (held + k), k = 0, 1, ...--> person       (fair spread tiers)
    person --1 / 0--> person-day                                   (one shift a day)
    person-day --1 / travel + team + language--> shift
    person-day --1 / same--> shift's "experienced" place          (experienced people only)
    "experienced" place --1 / -5,000--> shift                      (the first one is worth it)
    shift --open / 0--> role place --open / 0--> sink
    source --open - below minimum / 10,000--> role place           ("unfilled" bypass)
    source --below minimum / 1,000,000--> role place               ("unfilled" bypass)

The source supplies every open place and the sink takes them all, so each unit of
flow is a place either filled by a person or left unfilled at its penalty. Every
cost of the model is a sum over arcs: the spread is convex (its tiers get dearer), an
unfilled place below the minimum dearer than one above it, and a shift's
"experienced" place holds one unit, so the flow's optimum is the model's optimum:
the total of ``costs.evaluate`` equals the flow's cost plus 5,000 for every shift
that has open places and no experienced person yet (checked after each solve).

**The only approximation:** each person-day gets arcs only to the ``nearest``
stations (by the travel cost; ties by station id) among those with a shift that day
the person can work, plus every station in a district they wished and every station
of last election's team they were in. Without it the large municipality would have
tens of millions of arcs. ``nearest=None`` solves without pruning; the bench measures
what the pruning costs, and on small instances compares against an exact MILP.

Roles do not change the cost, so a shift's people are matched to its roles after the
solve: leading roles to the most experienced, then by person id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from app.domain.autostaff.costs import (
    NO_EXPERIENCED,
    SPREAD_STEP,
    UNFILLED_MINIMUM,
    UNFILLED_TARGET,
    CostTable,
    Evaluation,
    Pick,
    evaluate,
)
from app.domain.autostaff.problem import Problem

#: Stations per person and day the flow considers (see the module's docstring).
DEFAULT_NEAREST = 30


class SolverError(RuntimeError):
    """OR-Tools did not find the optimum (it always should: every place can stay empty)."""


@dataclass(frozen=True)
class Solution:
    picks: list[Pick]
    evaluation: Evaluation
    arcs: int
    #: The flow's own optimum (without the constant experience part): for checking.
    flow_cost: int


class _Network:
    """Arc lists, appended in a fixed order so the solver sees the same input each time."""

    def __init__(self) -> None:
        self.nodes = 2  # 0 = source, 1 = sink
        self.tails: list[NDArray[np.int64]] = []
        self.heads: list[NDArray[np.int64]] = []
        self.capacities: list[NDArray[np.int64]] = []
        self.costs: list[NDArray[np.int64]] = []
        self.count = 0

    def node_block(self, count: int) -> int:
        first = self.nodes
        self.nodes += count
        return first

    def add(self, tails: object, heads: object, capacities: object, costs: object) -> int:
        """Add arcs (array-likes of one length); returns the index of the first."""
        columns = [np.asarray(v, dtype=np.int64) for v in (tails, heads, capacities, costs)]
        shape = np.broadcast_shapes(*(column.shape for column in columns))
        tail, head, capacity, cost = (np.broadcast_to(c, shape).ravel().copy() for c in columns)
        size = len(tail)
        self.tails.append(tail)
        self.heads.append(head)
        self.capacities.append(capacity)
        self.costs.append(cost)
        first = self.count
        self.count += size
        return first


def _station_choices(
    problem: Problem, table: CostTable, nearest: int | None
) -> tuple[list[NDArray[np.int64]], list[NDArray[np.int64]], list[NDArray[np.int64]]]:
    """Person-day -> shift pairs: (candidate index, day index, shift index) arrays."""
    days = sorted({shift.day for shift in problem.shifts})
    day_index = {day: d for d, day in enumerate(days)}
    shifts_by_day: dict[int, list[int]] = {}
    for s, shift in enumerate(problem.shifts):
        shifts_by_day.setdefault(day_index[shift.day], []).append(s)
    station_district = np.array([s.district_id or 0 for s in problem.stations], dtype=np.int64)
    team_stations: dict[int, list[int]] = {}
    for j, station in enumerate(problem.stations):
        for person_id in station.last_team:
            if person_id in table.candidate_index:
                team_stations.setdefault(table.candidate_index[person_id], []).append(j)

    groups: dict[tuple[int, frozenset[str]], list[int]] = {}
    for i, candidate in enumerate(problem.candidates):
        for day, kinds in candidate.days.items():
            if day in day_index:
                groups.setdefault((day_index[day], kinds), []).append(i)

    out_candidates, out_days, out_shifts = [], [], []
    for (d, kinds), members in sorted(groups.items(), key=lambda g: (g[0][0], sorted(g[0][1]))):
        eligible = [
            s
            for s in shifts_by_day.get(d, [])
            if all(kind in kinds for kind in problem.shifts[s].work_kinds)
        ]
        if not eligible:
            continue
        station_of = [table.station_index[problem.shifts[s].station_id] for s in eligible]
        columns = np.array(sorted(set(station_of)), dtype=np.int64)
        column_of_station = {int(j): c for c, j in enumerate(columns)}
        rows = np.array(members, dtype=np.int64)
        if nearest is None or nearest >= len(columns):
            keep = np.ones((len(rows), len(columns)), dtype=bool)
        else:
            keep = np.zeros((len(rows), len(columns)), dtype=bool)
            travel = table.travel[np.ix_(rows, columns)]
            # Stable: among equal travel the lower station id (column order) comes first.
            order = np.argsort(travel, axis=1, kind="stable")[:, :nearest]
            keep[np.arange(len(rows))[:, None], order] = True
            for r, i in enumerate(members):
                wishes = problem.candidates[i].wishes
                if wishes:
                    keep[r] |= np.isin(
                        station_district[columns], np.fromiter(wishes, dtype=np.int64)
                    )
                for j in team_stations.get(i, ()):
                    if j in column_of_station:
                        keep[r, column_of_station[j]] = True
        # Expand each kept (person, station) to the station's eligible shifts that day.
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
        out_candidates.append(np.repeat(rows[kept_rows], repeat))
        out_days.append(np.full(int(repeat.sum()), d, dtype=np.int64))
        out_shifts.append(flat[np.repeat(offsets[kept_columns], repeat) + within])
    return out_candidates, out_days, out_shifts


def solve(
    problem: Problem, nearest: int | None = DEFAULT_NEAREST, table: CostTable | None = None
) -> Solution:
    """The cheapest proposal for ``problem`` (deterministic for the same problem)."""
    table = table or CostTable(problem)
    pair = table.pair_costs()
    network = _Network()
    places = problem.places
    place_first = network.node_block(len(places))
    shift_first = network.node_block(len(problem.shifts))
    shift_index = {shift.id: s for s, shift in enumerate(problem.shifts)}
    wants_experienced = [not shift.has_experienced for shift in problem.shifts]
    experienced_node = {}
    for s, wants in enumerate(wants_experienced):
        if wants:
            experienced_node[s] = network.node_block(1)

    # Places: to the sink, fed by their shift or by the "unfilled" bypasses.
    place_nodes = np.arange(place_first, place_first + len(places), dtype=np.int64)
    opens = np.array([p.open for p in places], dtype=np.int64)
    below = np.array([p.below_minimum for p in places], dtype=np.int64)
    place_shift_nodes = np.array(
        [shift_first + shift_index[p.shift_id] for p in places], dtype=np.int64
    )
    network.add(place_nodes, 1, opens, 0)
    network.add(0, place_nodes, opens - below, UNFILLED_TARGET)
    network.add(0, place_nodes, below, UNFILLED_MINIMUM)
    shift_to_place = network.add(place_shift_nodes, place_nodes, opens, 0)
    network.add(
        [experienced_node[s] for s in sorted(experienced_node)],
        [shift_first + s for s in sorted(experienced_node)],
        1,
        -NO_EXPERIENCED,
    )

    # People: spread tiers, then one node per free day with arcs to shifts.
    choice_candidates, choice_days, choice_shifts = _station_choices(problem, table, nearest)
    candidate_of = np.concatenate([np.zeros(0, np.int64), *choice_candidates])
    day_of = np.concatenate([np.zeros(0, np.int64), *choice_days])
    shift_of = np.concatenate([np.zeros(0, np.int64), *choice_shifts])
    order = np.lexsort((shift_of, day_of, candidate_of))
    candidate_of, day_of, shift_of = candidate_of[order], day_of[order], shift_of[order]
    person_days = np.unique(np.stack([candidate_of, day_of], axis=1), axis=0)
    person_day_first = network.node_block(len(person_days))
    people, days_per_person = np.unique(person_days[:, 0], return_counts=True)
    person_first = network.node_block(len(people))
    person_node = {i: person_first + n for n, i in enumerate(people.tolist())}
    tier_tails: list[int] = []
    tier_heads: list[int] = []
    tier_costs: list[int] = []
    for i, count in zip(people.tolist(), days_per_person.tolist(), strict=True):
        held = problem.candidates[i].shifts_held
        for k in range(count):
            tier_tails.append(0)
            tier_heads.append(person_node[i])
            tier_costs.append(SPREAD_STEP * (held + k))
    network.add(tier_tails, tier_heads, 1, tier_costs)
    network.add(
        [person_node[i] for i in person_days[:, 0].tolist()],
        np.arange(person_day_first, person_day_first + len(person_days)),
        1,
        0,
    )
    # Each choice's person-day node: person_days is sorted like the choices.
    key = candidate_of * (int(day_of.max(initial=0)) + 1) + day_of
    day_keys = person_days[:, 0] * (int(day_of.max(initial=0)) + 1) + person_days[:, 1]
    choice_tails = person_day_first + np.searchsorted(day_keys, key)
    station_of_shift = np.array(
        [table.station_index[shift.station_id] for shift in problem.shifts], dtype=np.int64
    )
    choice_costs = pair[candidate_of, station_of_shift[shift_of]]
    choice_first = network.add(choice_tails, shift_first + shift_of, 1, choice_costs)
    experienced = np.array([c.experienced for c in problem.candidates], dtype=bool)
    wanted = np.array(wants_experienced, dtype=bool)
    via = np.flatnonzero(experienced[candidate_of] & wanted[shift_of])
    via_first = -1
    if len(via):
        heads = np.array([experienced_node[int(s)] for s in shift_of[via]], dtype=np.int64)
        via_first = network.add(choice_tails[via], heads, 1, choice_costs[via])

    flow = min_cost_flow.SimpleMinCostFlow()
    all_arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(network.tails),
        np.concatenate(network.heads),
        np.concatenate(network.capacities),
        np.concatenate(network.costs),
    )
    supplies = np.zeros(network.nodes, dtype=np.int64)
    supplies[0] = int(opens.sum())
    supplies[1] = -int(opens.sum())
    flow.set_nodes_supplies(np.arange(network.nodes, dtype=np.int64), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise SolverError(f"min-cost flow ended with {status}")
    flows = flow.flows(all_arcs)

    # Who works which shift, then which role: the shift's people in experience order.
    chosen = np.flatnonzero(flows[choice_first : choice_first + len(shift_of)])
    people_on: dict[int, list[int]] = {}
    for index in chosen.tolist():
        people_on.setdefault(int(shift_of[index]), []).append(int(candidate_of[index]))
    if via_first >= 0:
        for position in np.flatnonzero(flows[via_first : via_first + len(via)]).tolist():
            index = int(via[position])
            people_on.setdefault(int(shift_of[index]), []).append(int(candidate_of[index]))
    roles_on: dict[int, list[tuple[int, int]]] = {}
    for p, amount in enumerate(flows[shift_to_place : shift_to_place + len(places)].tolist()):
        if amount:
            place = places[p]
            roles_on.setdefault(shift_index[place.shift_id], []).append(
                (place.role_type_id, amount)
            )
    picks: list[Pick] = []
    for s in sorted(people_on):
        shift = problem.shifts[s]
        staff = sorted(
            (problem.candidates[i] for i in people_on[s]),
            key=lambda c: (-c.experience_rank, c.id),
        )
        roles = sorted(
            roles_on.get(s, []),
            key=lambda r: (
                not problem.role(r[0]).leads_station,
                problem.role(r[0]).sort_order,
                r[0],
            ),
        )
        slots = [role_id for role_id, amount in roles for _ in range(amount)]
        assert len(slots) == len(staff), "flow conservation at a shift"
        picks.extend(
            Pick(shift.id, role_id, candidate.id)
            for role_id, candidate in zip(slots, staff, strict=True)
        )
    picks.sort(key=lambda p: (p.shift_id, p.role_type_id, p.person_id))
    result = evaluate(problem, picks, table)
    flow_cost = int(flow.optimal_cost())
    constant = NO_EXPERIENCED * sum(wants_experienced)
    if result.breakdown["total"] != flow_cost + constant:
        raise SolverError(
            f"the flow's cost {flow_cost} + {constant} does not match the model's "
            f"{result.breakdown['total']}"
        )
    return Solution(picks, result, network.count, flow_cost)
