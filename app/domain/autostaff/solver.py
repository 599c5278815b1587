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

**Required courses** (``Candidate.barred``) make roles matter. A person-day's *class*
on a shift is the set of the shift's open roles they may fill. A full class (nothing
barred: always so without required courses) goes to the shift node as above; any
other goes to a node of that class on the shift, which feeds only the role places of
its roles, so a proposal never puts anyone in a role they lack a course for::

    person-day --1 / travel + team + language--> (shift, class) --open / 0--> role place

The experienced bonus then needs care: the person who earns it must still land in a
role of their own class, so the "experienced" place exits into one class node, and
only experienced person-days whose class contains it may enter. While a shift's
experienced person-days share one class this is exact, as before. When they differ,
a single flow cannot be exact (the one bonus would have to be shared by arcs of
different classes). The solver starts each such shift from the class all of its
experienced person-days share (usually the roles without a course), solves, and
where the flow put an experienced person on a shift without counting the bonus
(their class lacks the bonus class) tries that person's class and solves again, until
none is left: each round lowers the cost of the picks, so it ends, and the final flow
prices its picks exactly as ``costs.evaluate`` (the check holds). The result keeps
every hard rule but may miss the optimum by some bonuses. A small problem (a small
municipality) is solved again from the classes that counted the bonus in the
relaxation below, keeping the cheaper proposal. ``lower_bound`` solves the
relaxation with one "experienced" place per class (which may count a bonus more than
once), and the bench reports the gap to it and to the exact MILP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

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
#: Flows solved at most while revising bonus classes (each round lowers the cost).
MAX_ROUNDS = 50
#: Up to this many person-day -> shift arcs, a problem with required courses is also
#: solved from a second start (see the module's docstring).
SMALL_PROBLEM = 200_000


class SolverError(RuntimeError):
    """OR-Tools did not find the optimum (it always should: every place can stay empty)."""


@dataclass(frozen=True)
class Solution:
    picks: list[Pick]
    evaluation: Evaluation
    arcs: int
    #: The flow's own optimum (without the constant experience part): for checking.
    flow_cost: int
    #: Flows solved (more than one only when required courses split a shift's people).
    rounds: int = 1


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


class _Courses:
    """The roles some candidate may not fill (for want of a course), as bits.

    ``shift_bits[s]``: the restricted roles with open places on shift s; ``has_free[s]``:
    it also has places of roles anyone may fill; ``barred[i, d]``: the restricted roles
    candidate i may not fill on day d. A person-day's *class* on a shift is the shift's
    restricted bits minus its barred ones (plus every free role); it is full when nothing
    of the shift is barred. Without required courses every class is full.
    """

    def __init__(self, problem: Problem, days: list[dt.date]) -> None:
        restricted = sorted(
            {role for c in problem.candidates for barred in c.barred.values() for role in barred}
        )
        if len(restricted) > 62:
            raise SolverError("more than 62 roles require a course")
        self.bit = {role: 1 << b for b, role in enumerate(restricted)}
        shift_index = {shift.id: s for s, shift in enumerate(problem.shifts)}
        self.shift_bits = np.zeros(len(problem.shifts), dtype=np.int64)
        self.has_free = np.zeros(len(problem.shifts), dtype=bool)
        for place in problem.places:
            s = shift_index[place.shift_id]
            if place.role_type_id in self.bit:
                self.shift_bits[s] |= self.bit[place.role_type_id]
            else:
                self.has_free[s] = True
        day_index = {day: d for d, day in enumerate(days)}
        self.barred = np.zeros((len(problem.candidates), max(1, len(days))), dtype=np.int64)
        for i, candidate in enumerate(problem.candidates):
            for day, roles in candidate.barred.items():
                if day in day_index:
                    self.barred[i, day_index[day]] = sum(self.bit[r] for r in roles)

    def fits(self, s: int, barred: int) -> bool:
        """The person-day may fill some open role of shift s."""
        return bool(self.has_free[s]) or bool(int(self.shift_bits[s]) & ~barred)

    def allows(self, bits: int, role_type_id: int) -> bool:
        """A class (``bits`` on shift s) may fill ``role_type_id``."""
        bit = self.bit.get(role_type_id)
        return bit is None or bool(bits & bit)


def _station_choices(
    problem: Problem, table: CostTable, nearest: int | None, courses: _Courses, days: list[dt.date]
) -> tuple[list[NDArray[np.int64]], list[NDArray[np.int64]], list[NDArray[np.int64]]]:
    """Person-day -> shift pairs: (candidate index, day index, shift index) arrays; a
    shift only where the person-day may fill one of its open roles."""
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

    groups: dict[tuple[int, frozenset[str], int], list[int]] = {}
    for i, candidate in enumerate(problem.candidates):
        for day, kinds in candidate.days.items():
            if day in day_index:
                d = day_index[day]
                groups.setdefault((d, kinds, int(courses.barred[i, d])), []).append(i)

    out_candidates, out_days, out_shifts = [], [], []
    for (d, kinds, barred), members in sorted(
        groups.items(), key=lambda g: (g[0][0], sorted(g[0][1]), g[0][2])
    ):
        eligible = [
            s
            for s in shifts_by_day.get(d, [])
            if all(kind in kinds for kind in problem.shifts[s].work_kinds)
            and courses.fits(s, barred)
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


@dataclass
class _Choices:
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


def _choices(
    problem: Problem, table: CostTable, nearest: int | None, courses: _Courses, days: list[dt.date]
) -> _Choices:
    pair = table.pair_costs()
    choice_candidates, choice_days, choice_shifts = _station_choices(
        problem, table, nearest, courses, days
    )
    candidate_of = np.concatenate([np.zeros(0, np.int64), *choice_candidates])
    day_of = np.concatenate([np.zeros(0, np.int64), *choice_days])
    shift_of = np.concatenate([np.zeros(0, np.int64), *choice_shifts])
    order = np.lexsort((shift_of, day_of, candidate_of))
    candidate_of, day_of, shift_of = candidate_of[order], day_of[order], shift_of[order]
    person_days = np.unique(np.stack([candidate_of, day_of], axis=1), axis=0)
    # Each choice's person-day: person_days is sorted like the choices.
    key = candidate_of * (int(day_of.max(initial=0)) + 1) + day_of
    day_keys = person_days[:, 0] * (int(day_of.max(initial=0)) + 1) + person_days[:, 1]
    station_of_shift = np.array(
        [table.station_index[shift.station_id] for shift in problem.shifts], dtype=np.int64
    )
    shift_bits = courses.shift_bits[shift_of]
    bits = shift_bits & ~courses.barred[candidate_of, day_of]
    return _Choices(
        candidate_of,
        day_of,
        shift_of,
        bits,
        bits == shift_bits,
        pair[candidate_of, station_of_shift[shift_of]],
        person_days,
        np.searchsorted(day_keys, key),
    )


def _bonus_classes(
    problem: Problem, choices: _Choices, courses: _Courses, wanted: NDArray[np.bool_]
) -> dict[int, tuple[int, ...]]:
    """Each wanted shift's bonus classes to start from: the full class, or for a shift
    whose experienced person-days differ in class, each of their classes (the
    relaxation; see the module's docstring)."""
    experienced = np.array([c.experienced for c in problem.candidates], dtype=bool)
    bonus: dict[int, tuple[int, ...]] = {
        s: (int(courses.shift_bits[s]),) for s in np.flatnonzero(wanted).tolist()
    }
    pool = np.flatnonzero(experienced[choices.candidate_of] & wanted[choices.shift_of])
    seen: dict[int, set[int]] = {}
    for s, bits in zip(choices.shift_of[pool].tolist(), choices.bits[pool].tolist(), strict=True):
        seen.setdefault(s, set()).add(bits)
    for s, classes in seen.items():
        bonus[s] = tuple(sorted(classes, key=lambda b: (-b.bit_count(), b)))
    return bonus


def _prepare(
    problem: Problem, nearest: int | None, table: CostTable
) -> tuple[_Courses, _Choices, NDArray[np.bool_], dict[int, tuple[int, ...]]]:
    days = sorted({shift.day for shift in problem.shifts})
    courses = _Courses(problem, days)
    choices = _choices(problem, table, nearest, courses, days)
    wanted = np.array([not shift.has_experienced for shift in problem.shifts], dtype=bool)
    return courses, choices, wanted, _bonus_classes(problem, choices, courses, wanted)


def solve(
    problem: Problem, nearest: int | None = DEFAULT_NEAREST, table: CostTable | None = None
) -> Solution:
    """The cheapest proposal for ``problem`` (deterministic for the same problem).

    With required courses a shift's bonus class may be revised and the flow solved
    again (see the module's docstring); without, it is solved once.
    """
    table = table or CostTable(problem)
    courses, choices, wanted, classes = _prepare(problem, nearest, table)
    # Start from what all of a shift's experienced person-days may fill, when that is
    # a role at all; else from their largest class.
    bonus: dict[int, tuple[int, ...]] = {}
    for s, found in classes.items():
        common = found[0]
        for bits in found[1:]:
            common &= bits
        usable = bool(courses.has_free[s]) or common != 0
        bonus[s] = (common if usable else found[0],)
    best, rounds = _settle(problem, table, courses, choices, wanted, bonus)
    mixed = {s: found for s, found in classes.items() if len(found) > 1}
    if mixed and len(choices.shift_of) <= SMALL_PROBLEM:
        # A small problem also tries the classes the relaxation counted the bonus for,
        # and keeps the cheaper proposal.
        _relaxed, claimed, _unclaimed = _solve_once(
            problem, table, courses, choices, wanted, classes, check=False
        )
        rounds += 1
        other = dict(bonus)
        for s in mixed:
            got = claimed.get(s) or [bonus[s][0]]
            other[s] = (min(got, key=lambda b: (b.bit_count(), b)),)
        second, more = _settle(problem, table, courses, choices, wanted, other)
        rounds += more
        if second.evaluation.breakdown["total"] < best.evaluation.breakdown["total"]:
            best = second
    return replace(best, rounds=rounds)


def _settle(
    problem: Problem,
    table: CostTable,
    courses: _Courses,
    choices: _Choices,
    wanted: NDArray[np.bool_],
    bonus: dict[int, tuple[int, ...]],
) -> tuple[Solution, int]:
    """Solve, revising bonus classes until the flow counts every bonus it earns."""
    bonus = dict(bonus)
    for rounds in range(1, MAX_ROUNDS + 1):
        solution, _claimed, unclaimed = _solve_once(problem, table, courses, choices, wanted, bonus)
        if not unclaimed:
            return solution, rounds
        bonus.update({s: (bits,) for s, bits in unclaimed.items()})
    raise SolverError(f"the bonus classes did not settle in {MAX_ROUNDS} rounds")


def lower_bound(
    problem: Problem, nearest: int | None = DEFAULT_NEAREST, table: CostTable | None = None
) -> int:
    """The relaxation's optimum (every class of a shift may count its bonus): no
    proposal costs less, so ``solve``'s total minus this bounds what it may miss."""
    table = table or CostTable(problem)
    courses, choices, wanted, classes = _prepare(problem, nearest, table)
    solution, _claimed, _unclaimed = _solve_once(
        problem, table, courses, choices, wanted, classes, check=False
    )
    return solution.flow_cost + NO_EXPERIENCED * int(wanted.sum())


def _solve_once(
    problem: Problem,
    table: CostTable,
    courses: _Courses,
    choices: _Choices,
    wanted: NDArray[np.bool_],
    bonus: dict[int, tuple[int, ...]],
    check: bool = True,
) -> tuple[Solution, dict[int, list[int]], dict[int, int]]:
    """One min-cost flow with the given bonus classes (one "experienced" place for each
    of a shift's classes: more than one is the relaxation). Returns the solution, the
    classes whose bonus the flow counted per shift, and for each shift that got an
    experienced person without the flow counting a bonus (one outside its bonus
    classes), that person's class."""
    network = _Network()
    places = problem.places
    place_first = network.node_block(len(places))
    shift_first = network.node_block(len(problem.shifts))
    shift_index = {shift.id: s for s, shift in enumerate(problem.shifts)}
    wants_experienced = wanted.tolist()
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
    # A shift's class nodes are numbered after every other node, so a problem without
    # required courses gets exactly the network it always had.
    person_days = choices.person_days
    people, days_per_person = np.unique(person_days[:, 0], return_counts=True)
    class_first = network.nodes + len(person_days) + len(people)
    mixed = np.flatnonzero(~choices.full)
    wanted_shifts = sorted(experienced_node)
    gadgets = [(s, bits) for s in wanted_shifts for bits in bonus[s]]
    bonus_pairs = [(s, bits) for s, bits in gadgets if bits != int(courses.shift_bits[s])]
    classes = np.unique(
        np.concatenate(
            [
                np.stack([choices.shift_of[mixed], choices.bits[mixed]], axis=1),
                np.array(bonus_pairs, dtype=np.int64).reshape(-1, 2),
            ]
        ),
        axis=0,
    )
    class_index = {(int(s), int(bits)): n for n, (s, bits) in enumerate(classes.tolist())}

    def node_of_class(s: int, bits: int) -> int:
        if bits == int(courses.shift_bits[s]):
            return shift_first + s
        return class_first + class_index[(s, bits)]

    # The first class of a shift uses its "experienced" node; any further one (the
    # relaxation) gets a node after the class nodes.
    extra_first = class_first + len(classes)
    extra = 0
    gadget_node = []
    for s, bits in gadgets:
        if bits == bonus[s][0]:
            gadget_node.append(experienced_node[s])
        else:
            gadget_node.append(extra_first + extra)
            extra += 1
    network.add(gadget_node, [node_of_class(s, bits) for s, bits in gadgets], 1, -NO_EXPERIENCED)

    # People: spread tiers, then one node per free day with arcs to shifts.
    candidate_of, shift_of = choices.candidate_of, choices.shift_of
    person_day_first = network.node_block(len(person_days))
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
    choice_tails = person_day_first + choices.tails
    heads = shift_first + shift_of
    if len(mixed):
        lookup = np.stack([shift_of[mixed], choices.bits[mixed]], axis=1)
        # Rows of ``classes`` are sorted: find each mixed choice's row by a structured view.
        view = np.dtype([("s", np.int64), ("b", np.int64)])
        rows = np.searchsorted(
            np.ascontiguousarray(classes).view(view).ravel(),
            np.ascontiguousarray(lookup).view(view).ravel(),
        )
        heads[mixed] = class_first + rows
    choice_first = network.add(choice_tails, heads, 1, choices.costs)
    experienced = np.array([c.experienced for c in problem.candidates], dtype=bool)
    first_bits = np.array(
        [bonus[s][0] if s in bonus else 0 for s in range(len(problem.shifts))], dtype=np.int64
    )
    via = np.flatnonzero(
        experienced[candidate_of]
        & wanted[shift_of]
        & ((choices.bits & first_bits[shift_of]) == first_bits[shift_of])
    )
    via_gadget = [experienced_node[int(s)] for s in shift_of[via]]
    via_class = first_bits[shift_of[via]].tolist()
    relaxed = {s for s, bits in gadgets if bits != bonus[s][0]}
    if relaxed:
        pool = np.flatnonzero(experienced[candidate_of] & np.isin(shift_of, sorted(relaxed)))
        pool = pool[np.argsort(shift_of[pool], kind="stable")]
        bounds = np.searchsorted(shift_of[pool], np.arange(len(problem.shifts) + 1))
        extra_via = [via]
        for (s, bits), node in zip(gadgets, gadget_node, strict=True):
            if bits == bonus[s][0]:
                continue
            members = pool[bounds[s] : bounds[s + 1]]
            members = members[(choices.bits[members] & bits) == bits]
            extra_via.append(members)
            via_gadget.extend([node] * len(members))
            via_class.extend([bits] * len(members))
        via = np.concatenate(extra_via)
    via_first = -1
    if len(via):
        via_heads = np.array(via_gadget, dtype=np.int64)
        via_first = network.add(choice_tails[via], via_heads, 1, choices.costs[via])

    # Class nodes: numbered now, each feeding the places of its shift it may fill.
    assert network.node_block(len(classes)) == class_first
    network.node_block(extra)
    class_tails: list[int] = []
    class_heads: list[int] = []
    class_caps: list[int] = []
    places_of_shift: dict[int, list[int]] = {}
    for p, place in enumerate(places):
        places_of_shift.setdefault(shift_index[place.shift_id], []).append(p)
    for n, (s, bits) in enumerate(classes.tolist()):
        for p in places_of_shift.get(s, []):
            if courses.allows(bits, places[p].role_type_id):
                class_tails.append(class_first + n)
                class_heads.append(place_first + p)
                class_caps.append(places[p].open)
    class_to_place = network.add(class_tails, class_heads, class_caps, 0) if class_tails else -1

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

    # Who works which shift in which pool (the shift, or one of its classes), then which
    # role: a pool's people in experience order.
    people_in: dict[int, list[int]] = {}
    chosen = np.flatnonzero(flows[choice_first : choice_first + len(shift_of)])
    for index in chosen.tolist():
        people_in.setdefault(int(heads[index]), []).append(int(candidate_of[index]))
    claimed: dict[int, list[int]] = {}
    if via_first >= 0:
        for position in np.flatnonzero(flows[via_first : via_first + len(via)]).tolist():
            index = int(via[position])
            s = int(shift_of[index])
            claimed.setdefault(s, []).append(via_class[position])
            exit_node = node_of_class(s, via_class[position])
            people_in.setdefault(exit_node, []).append(int(candidate_of[index]))
    roles_in: dict[int, list[tuple[int, int]]] = {}
    for p, amount in enumerate(flows[shift_to_place : shift_to_place + len(places)].tolist()):
        if amount:
            node = shift_first + shift_index[places[p].shift_id]
            roles_in.setdefault(node, []).append((places[p].role_type_id, amount))
    if class_to_place >= 0:
        used = flows[class_to_place : class_to_place + len(class_tails)].tolist()
        for tail, head, amount in zip(class_tails, class_heads, used, strict=True):
            if amount:
                role_id = places[head - place_first].role_type_id
                roles_in.setdefault(tail, []).append((role_id, amount))
    picks: list[Pick] = []
    for node in sorted(people_in):
        s = node - shift_first if node < class_first else int(classes[node - class_first, 0])
        shift = problem.shifts[s]
        staff = sorted(
            (problem.candidates[i] for i in people_in[node]),
            key=lambda c: (-c.experience_rank, c.id),
        )
        roles = sorted(
            roles_in.get(node, []),
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

    # A shift with an experienced person whose bonus the flow did not count: try that
    # person's class next (the one of the smallest class, then the lowest index).
    unclaimed: dict[int, int] = {}
    for index in chosen.tolist():
        s = int(shift_of[index])
        i = int(candidate_of[index])
        if wants_experienced[s] and s not in claimed and experienced[i]:
            bits = int(choices.bits[index])
            best = unclaimed.get(s)
            if best is None or (bits.bit_count(), bits) < (best.bit_count(), best):
                unclaimed[s] = bits
    flow_cost = int(flow.optimal_cost())
    solution = Solution(picks, evaluate(problem, picks, table), network.count, flow_cost)
    if not check or unclaimed or any(len(bits) > 1 for bits in claimed.values()):
        return solution, claimed, unclaimed
    constant = NO_EXPERIENCED * sum(wants_experienced)
    if solution.evaluation.breakdown["total"] != flow_cost + constant:
        raise SolverError(
            f"the flow's cost {flow_cost} + {constant} does not match the model's "
            f"{solution.evaluation.breakdown['total']}"
        )
    return solution, claimed, {}
