"""Solving the staffing problem as a min-cost flow (OR-Tools ``SimpleMinCostFlow``).

One solve, part by part:

- ``role_classes``: required courses as bits, a person-day's *class* on a shift;
- ``choices``: the person-day -> shift pairs the flow considers (the nearest-stations
  pruning, the only approximation) and what each costs;
- ``network``: the nodes and arcs, one kind of cost at a time;
- ``picks``: reading the flow back as picks, roles matched after the solve;
- this module: running the flow, checking its cost, and the rounds below.

The flow's optimum is the model's optimum: the total of ``costs.evaluate`` equals the
flow's cost plus 5,000 for every shift that has open places and no experienced person
yet (checked after each solve).

**Required courses** (``Candidate.barred``) make roles matter, and the experienced
bonus needs care: the person who earns it must still land in a role of their own
class, so a shift's "experienced" place exits into one class node, and only
experienced person-days whose class contains it may enter. While a shift's
experienced person-days share one class this is exact. When they differ, a single
flow cannot be exact (the one bonus would have to be shared by arcs of different
classes). The solver starts each such shift from the class all of its experienced
person-days share (usually the roles without a course), solves, and where the flow
put an experienced person on a shift without counting the bonus (their class lacks
the bonus class) tries that person's class and solves again, until none is left: each
round lowers the cost of the picks, so it ends, and the final flow prices its picks
exactly as ``costs.evaluate`` (the check holds). The result keeps every hard rule but
may miss the optimum by some bonuses. A small problem (a small municipality) is
solved again from the classes that counted the bonus in the relaxation below, keeping
the cheaper proposal. ``lower_bound`` solves the relaxation with one "experienced"
place per class (which may count a bonus more than once), and the bench reports the
gap to it and to the exact MILP.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from app.domain.autostaff.choices import Choices, build_choices
from app.domain.autostaff.costs import NO_EXPERIENCED, CostTable, Evaluation, Pick, evaluate
from app.domain.autostaff.network import SINK, SOURCE, FlowNetwork, build_network
from app.domain.autostaff.picks import chosen_choices, read_picks
from app.domain.autostaff.pricing import potentials, price
from app.domain.autostaff.problem import Problem
from app.domain.autostaff.role_classes import (
    MAX_RESTRICTED_ROLES,
    RoleClasses,
    restricted_roles,
)

#: Stations per person and day the flow considers (see ``choices``).
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
    #: (candidate, day, shift) rows pricing added to the pruned choices (None: none).
    extra: NDArray[np.int64] | None = field(default=None, compare=False, repr=False)
    #: The solve's classes, choices, network and flows, to price from.
    state: tuple[RoleClasses, Choices, FlowNetwork, NDArray[np.int64]] | None = field(
        default=None, compare=False, repr=False
    )


def solve(
    problem: Problem,
    nearest: int | None = DEFAULT_NEAREST,
    table: CostTable | None = None,
    pricing_rounds: int = 0,
    after: Solution | None = None,
    extra: NDArray[np.int64] | None = None,
) -> Solution:
    """The cheapest proposal for ``problem`` (deterministic for the same problem).

    With required courses a shift's bonus class may be revised and the flow solved
    again (see the module's docstring); without, it is solved once. With
    ``pricing_rounds`` the person-day -> shift pairs the pruning left out are priced
    against the flow's potentials and those below zero added, the flow solved again,
    round by round until none is left (``pricing``): the flow's optimum over every
    station. ``after``: a solve of the same problem to price from (not solved again);
    ``extra``: (candidate, day, shift) rows to add to the pruned choices from the start.
    """
    table = table or CostTable(problem)
    best = after if after is not None and after.state is not None else None
    if best is None:
        best = _solve_over(problem, nearest, table, extra)
    for _round in range(pricing_rounds if nearest is not None else 0):
        assert best.state is not None
        courses, choices, network, flows = best.state
        priced = price(problem, table, courses, choices, network, potentials(network, flows))
        if not len(priced.pairs):
            break
        extra = priced.pairs if best.extra is None else np.concatenate([best.extra, priced.pairs])
        again = _solve_over(problem, nearest, table, extra)
        again = replace(again, rounds=best.rounds + again.rounds)
        if again.evaluation.breakdown["total"] > best.evaluation.breakdown["total"]:
            break
        best = again
    return best


def _solve_over(
    problem: Problem, nearest: int | None, table: CostTable, extra: NDArray[np.int64] | None
) -> Solution:
    """One solve over the pruned choices and the ``extra`` pairs priced in."""
    courses, choices, wanted, classes = prepare(problem, nearest, table, extra)
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
    return replace(best, rounds=rounds, extra=extra)


def lower_bound(
    problem: Problem, nearest: int | None = DEFAULT_NEAREST, table: CostTable | None = None
) -> int:
    """The relaxation's optimum (every class of a shift may count its bonus): no
    proposal costs less, so ``solve``'s total minus this bounds what it may miss."""
    table = table or CostTable(problem)
    courses, choices, wanted, classes = prepare(problem, nearest, table)
    solution, _claimed, _unclaimed = _solve_once(
        problem, table, courses, choices, wanted, classes, check=False
    )
    return solution.flow_cost + NO_EXPERIENCED * int(wanted.sum())


def prepare(
    problem: Problem,
    nearest: int | None,
    table: CostTable,
    extra: NDArray[np.int64] | None = None,
) -> tuple[RoleClasses, Choices, NDArray[np.bool_], dict[int, tuple[int, ...]]]:
    """What every round of one solve shares: the role classes, the choices (with the
    ``extra`` rows pricing added), the shifts that want an experienced person, and each
    one's bonus classes to start from."""
    days = sorted({shift.day for shift in problem.shifts})
    restricted = restricted_roles(problem)
    if len(restricted) > MAX_RESTRICTED_ROLES:
        raise SolverError(f"more than {MAX_RESTRICTED_ROLES} roles require a course")
    courses = RoleClasses(problem, days, restricted)
    choices = build_choices(problem, table, nearest, courses, days, extra)
    wanted = np.array([not shift.has_experienced for shift in problem.shifts], dtype=bool)
    return courses, choices, wanted, bonus_classes(problem, choices, courses, wanted)


def bonus_classes(
    problem: Problem, choices: Choices, courses: RoleClasses, wanted: NDArray[np.bool_]
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


def _settle(
    problem: Problem,
    table: CostTable,
    courses: RoleClasses,
    choices: Choices,
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


def _solve_once(
    problem: Problem,
    table: CostTable,
    courses: RoleClasses,
    choices: Choices,
    wanted: NDArray[np.bool_],
    bonus: dict[int, tuple[int, ...]],
    check: bool = True,
) -> tuple[Solution, dict[int, list[int]], dict[int, int]]:
    """One min-cost flow with the given bonus classes (one "experienced" place for each
    of a shift's classes: more than one is the relaxation). Returns the solution, the
    classes whose bonus the flow counted per shift, and for each shift that got an
    experienced person without the flow counting a bonus (one outside its bonus
    classes), that person's class."""
    network = build_network(problem, courses, choices, wanted, bonus)
    flows, flow_cost = _min_cost_flow(network)
    chosen = chosen_choices(network, choices, flows)
    picks, claimed = read_picks(problem, network, choices, flows, chosen)
    unclaimed = _unclaimed_bonuses(problem, choices, wanted, claimed, chosen)
    solution = Solution(
        picks,
        evaluate(problem, picks, table),
        network.arcs.count,
        flow_cost,
        state=(courses, choices, network, flows),
    )
    if not check or unclaimed or any(len(bits) > 1 for bits in claimed.values()):
        return solution, claimed, unclaimed
    constant = NO_EXPERIENCED * int(wanted.sum())
    # The presence rule is not in the flow (``exact`` models it): its part aside.
    breakdown = solution.evaluation.breakdown
    if breakdown["total"] - breakdown["lead"] != flow_cost + constant:
        raise SolverError(
            f"the flow's cost {flow_cost} + {constant} does not match the model's "
            f"{solution.evaluation.breakdown['total']}"
        )
    return solution, claimed, {}


def _min_cost_flow(network: FlowNetwork) -> tuple[NDArray[np.int64], int]:
    """Solve the network with OR-Tools: the flow on every arc, and its cost."""
    arcs = network.arcs
    flow = min_cost_flow.SimpleMinCostFlow()
    all_arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(arcs.tails),
        np.concatenate(arcs.heads),
        np.concatenate(arcs.capacities),
        np.concatenate(arcs.costs),
    )
    supplies = np.zeros(arcs.nodes, dtype=np.int64)
    supplies[SOURCE] = network.supply
    supplies[SINK] = -network.supply
    flow.set_nodes_supplies(np.arange(arcs.nodes, dtype=np.int64), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise SolverError(f"min-cost flow ended with {status}")
    return flow.flows(all_arcs), int(flow.optimal_cost())


def _unclaimed_bonuses(
    problem: Problem,
    choices: Choices,
    wanted: NDArray[np.bool_],
    claimed: dict[int, list[int]],
    chosen: NDArray[np.intp],
) -> dict[int, int]:
    """A shift with an experienced person whose bonus the flow did not count: the class to
    try next, that person's (the one of the smallest class, then the lowest index)."""
    experienced = np.array([c.experienced for c in problem.candidates], dtype=bool)
    wants_experienced = wanted.tolist()
    unclaimed: dict[int, int] = {}
    for index in chosen.tolist():
        s = int(choices.shift_of[index])
        i = int(choices.candidate_of[index])
        if wants_experienced[s] and s not in claimed and experienced[i]:
            bits = int(choices.bits[index])
            best = unclaimed.get(s)
            if best is None or (bits.bit_count(), bits) < (best.bit_count(), best):
                unclaimed[s] = bits
    return unclaimed
