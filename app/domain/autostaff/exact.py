"""The optimiser's answer under every rule: the flow as a start, then the exact model.

1. The min-cost flow (``solver.solve``) gives a first proposal in seconds. It keeps
   every rule but the least rest between two places it proposes on consecutive days;
   ``keep_rest`` drops the later of any such pair (that place stays open), which makes
   it the first feasible proposal.
2. The exact model (``exact_model``, CP-SAT) starts from it and searches until it
   proves the optimum or reaches the time limit. Its proven lower bound gives the gap
   the planner sees: "optimal", or "within 0.05 % of the best possible".

The proposal never costs more than the first feasible one: when CP-SAT finds nothing
better in time (or nothing at all), the start stands, with the bound CP-SAT proved (or
the flow's relaxation bound with the presence rule, ``bounds.lower_bound``).

Above ``MAX_EXACT_ARCS`` (Stockholm scale) the exact model is not built. The flow's
proposal stands beside ``bounds.lower_bound``, the flow's relaxations with the presence
rule, priced over every station (``pricing``): one pricing round proves the start
within 0.1 %; the flow is solved again with the pairs that priced below zero (the
proposal may now use a station beyond the nearest), and the bound priced to the end
from the same pairs is the relaxation's optimum over every station. What is left
between them is the presence rule and the experienced bonus the flow relaxes: the gap
shown. A problem with few enough pairs in all is solved with no pruning, so "optimal"
there is over every station too; a pruned exact model shows the lower of CP-SAT's
bound and the priced one.

Splitting the problem into parts solved exactly did worse (measured on the
Stockholm-scale demo: the parts by day share people, so only the sum of relaxed parts
is a bound, and it lost the fair spread between days: 329.3 million against the whole
relaxation's 331.1 million; CP-SAT on election day alone, 1,260 shifts, proved only
236 million in 60 s).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from app.domain.autostaff import bounds
from app.domain.autostaff.costs import CostTable, Pick, evaluate
from app.domain.autostaff.exact_model import build_model, hint, read_picks
from app.domain.autostaff.pricing import every_pair_count
from app.domain.autostaff.problem import Problem
from app.domain.autostaff.solver import DEFAULT_NEAREST, Solution, SolverError, lower_bound, solve

#: Above this many flow arcs the exact model is not built: at Stockholm scale (877,000
#: arcs, 544,000 choices) building it took 94 s on the shared 2-core machine, far past
#: any time limit a planner waits for; the flow's proposal stands with the relaxation's
#: bound. A small municipality (600 people) stays far below it.
MAX_EXACT_ARCS = 300_000
#: Above the exact model's size, a bound this close (a fraction) is not sought closer.
GOOD_ENOUGH = 0.001
#: Seconds the exact model may search by default.
DEFAULT_TIME_LIMIT = 10.0
#: CP-SAT's workers: one, with the LP relaxation at full strength (measured best on a
#: shared 2-core machine: more workers there only wait for each other).
WORKERS = 1


@dataclass(frozen=True)
class Result:
    """A proposal with what is known of its quality."""

    solution: Solution
    #: No proposal costs less than this (over every station: see the module's docstring).
    bound: int
    optimal: bool
    #: Seconds to the first feasible proposal (the flow, rest kept) and in all.
    first_feasible: float
    seconds: float
    #: The first feasible proposal's total, for comparison.
    start_total: int
    #: Seconds to the first bound that proves the start within ``GOOD_ENOUGH`` (or the
    #: first bound proven), when the proposal is the flow's (above the exact model's size).
    proven_at: float | None = None

    @property
    def total(self) -> int:
        return self.solution.evaluation.breakdown["total"]

    @property
    def gap(self) -> float:
        """How far above the proven bound, as a fraction of the bound (0 when optimal)."""
        if self.optimal:
            return 0.0
        return max(0, self.total - self.bound) / max(1, self.bound)

    def facts(self) -> dict[str, int | float]:
        """What a run stores about the proposal's quality."""
        return {
            "optimal": int(self.optimal),
            "bound": self.bound,
            # Rounded up: a gap shown is never smaller than the one proved.
            "gap_percent": math.ceil(round(100 * self.gap * 10_000, 6)) / 10_000,
        }


def keep_rest(problem: Problem, picks: list[Pick]) -> list[Pick]:
    """``picks`` without any that leaves a person too little rest after an earlier one
    of theirs (by the shifts' order); the place stays open."""
    kept: list[Pick] = []
    mine: dict[int, list[int]] = {}
    for pick in sorted(picks, key=lambda p: (problem.shift_order(p.shift_id), p.person_id)):
        earlier = mine.setdefault(pick.person_id, [])
        if any(problem.too_close(shift_id, pick.shift_id) for shift_id in earlier):
            continue
        earlier.append(pick.shift_id)
        kept.append(pick)
    kept.sort(key=lambda p: (p.shift_id, p.role_type_id, p.person_id))
    return kept


def optimise(
    problem: Problem,
    nearest: int | None = DEFAULT_NEAREST,
    table: CostTable | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int = WORKERS,
) -> Result:
    """The best proposal found in ``time_limit`` seconds, with its proven bound."""
    started = time.perf_counter()
    table = table or CostTable(problem)
    if nearest is not None and every_pair_count(problem) <= MAX_EXACT_ARCS:
        # Small enough to leave nothing out: "optimal" is then over every station.
        nearest = None
    flow = solve(problem, nearest, table)
    start_picks = keep_rest(problem, flow.picks)
    start = evaluate(problem, start_picks, table)
    first_feasible = time.perf_counter() - started
    start_solution = Solution(start_picks, start, flow.arcs, flow.flow_cost, flow.rounds)
    if flow.arcs > MAX_EXACT_ARCS:
        return _priced(
            problem, nearest, table, flow, start_solution, started, first_feasible, time_limit
        )
    built = build_model(problem, table, nearest)
    hint(built, start_picks)
    cp = cp_model.CpSolver()
    cp.parameters.max_time_in_seconds = max(0.1, time_limit - (time.perf_counter() - started))
    cp.parameters.num_workers = workers
    cp.parameters.linearization_level = 2
    status = cp.solve(built.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # The flow's relaxation leaves the presence rule out: add what no proposal avoids,
        # or take the relaxation with the rule, whichever is higher (both are bounds).
        bound = bounds.lower_bound(problem, nearest, table)
        if nearest is None:
            bound = max(bound, lower_bound(problem, nearest, table) + built.certain)
        return Result(
            start_solution,
            min(bound, start.breakdown["total"]),
            start.breakdown["total"] == bound,
            first_feasible,
            time.perf_counter() - started,
            start.breakdown["total"],
        )
    picks = read_picks(built, cp)
    evaluation = evaluate(problem, picks, table)
    total = evaluation.breakdown["total"]
    if total != round(cp.objective_value) + built.constant:
        raise SolverError(
            f"the exact model's cost {round(cp.objective_value) + built.constant} does not "
            f"match the model's {total}"
        )
    solution = Solution(picks, evaluation, flow.arcs, flow.flow_cost, flow.rounds)
    if total > start.breakdown["total"]:
        solution = start_solution
    bound = math.ceil(cp.best_objective_bound - 1e-6) + built.constant
    if nearest is not None:
        # CP-SAT's bound holds over the pruned choices only: over every station, the
        # priced relaxations' bound (``pricing``) is the one proven.
        bound = min(bound, bounds.lower_bound(problem, nearest, table))
    best = solution.evaluation.breakdown["total"]
    return Result(
        solution,
        min(bound, best),
        (status == cp_model.OPTIMAL and nearest is None) or bound >= best,
        first_feasible,
        time.perf_counter() - started,
        start.breakdown["total"],
    )


def _priced(
    problem: Problem,
    nearest: int | None,
    table: CostTable,
    flow: Solution,
    start: Solution,
    started: float,
    first_feasible: float,
    time_limit: float,
) -> Result:
    """Above the exact model's size, in stages while time is left: the relaxations'
    bound over every station (one pricing round, ``pricing``); the flow again with the
    pairs it priced below zero (the flow over every station, rest kept); the bound again
    from those pairs, priced until no pair is left out; a last pricing round against the
    proposal's own network. Each bound is proven."""
    total = start.evaluation.breakdown["total"]
    assert flow.state is not None
    bound, found = bounds.lower_bound_and_pairs(
        problem,
        nearest,
        table,
        math.ceil(total / (1 + GOOD_ENOUGH)),
        rounds=1,
        state=flow.state[:2],
        earned_only=True,
    )
    proven = time.perf_counter() - started
    best = start
    if len(found) and proven < time_limit:
        whole = solve(problem, nearest, table, extra=found)
        best, total = _kept_if_cheaper(problem, table, whole, best, total)
        if time.perf_counter() - started < time_limit and whole.state is not None:
            # Priced to the end from the same choices: the relaxation over every station.
            again, _found = bounds.lower_bound_and_pairs(
                problem,
                nearest,
                table,
                total,
                whole.extra,
                state=whole.state[:2],
                earned_only=True,
            )
            bound = max(bound, again)
        if time.perf_counter() - started < time_limit and bound < total:
            # One more round against the proposal's own network: the pairs the relaxation
            # priced are most, not all, of the ones the proposal wants.
            priced = solve(problem, nearest, table, pricing_rounds=1, after=whole)
            best, total = _kept_if_cheaper(problem, table, priced, best, total)
    bound = min(bound, total)
    return Result(
        best,
        bound,
        bound == total,
        first_feasible,
        time.perf_counter() - started,
        start.evaluation.breakdown["total"],
        proven,
    )


def _kept_if_cheaper(
    problem: Problem, table: CostTable, flow: Solution, best: Solution, total: int
) -> tuple[Solution, int]:
    """The flow's proposal, rest kept, when it costs less than ``best`` (which costs
    ``total``); else ``best``."""
    picks = keep_rest(problem, flow.picks)
    evaluation = evaluate(problem, picks, table)
    if evaluation.breakdown["total"] >= total:
        return best, total
    return (
        Solution(picks, evaluation, flow.arcs, flow.flow_cost, flow.rounds),
        evaluation.breakdown["total"],
    )
