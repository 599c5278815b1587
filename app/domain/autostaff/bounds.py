"""A proven lower bound at any scale: the flow's relaxations with the presence rule in them.

``solver.lower_bound`` is the relaxation in which every class of a shift may earn the
experienced bonus; it leaves the presence rule (``costs.NO_LEAD``: 50,000 for a watched
shift with nobody in a leading role) out, so at Stockholm scale, where people with a
chair's course are few, the bound misses every such penalty. Here it is added to the
same network, still a min-cost flow (solved in the time of one flow)::

    (shift or class) --> filled[p] --open / 0--> place p      (each leading place p)
    filled[p] --1 / 0--> lead[s] --1 / -50,000--> exit place of s

with 50,000 added for every watched shift it covers: the first person into a leading
place of the shift earns the penalty back, once. The unit through ``lead[s]`` lands in
the shift's *exit* place, which may not be the role it came for (the relaxation lets
it), so the bound stays valid only when moving a person from any leading place of the
shift into the exit place never costs more: every open place of the exit role is below
the minimum, or no leading place of the shift is. A shift meeting neither condition is
left out (neither the 50,000 nor the way to earn it back), as before.

The experienced bonus (5,000 for a shift without anyone experienced) is relaxed two
ways, and the bound is the higher: ``solver.lower_bound``'s (every class of a shift may
earn it, so a shift may count it more than once), and taking it as earned on every
shift someone experienced may work and missed on the others (no proposal pays less
there). At Stockholm scale the second is the higher: the first counts about 1,500
bonuses too many.

Why it is a bound: every proposal maps to a flow that costs no more. A proposal that
fills a leading place of a covered shift sends one such person through ``lead[s]``
(into the exit place, whose emptied place cost at least the one left behind); one that
fills none pays the 50,000 it pays in the model. The tests compare it with the exact
MILP's optimum, under every rule, on random instances.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from app.domain.autostaff.choices import Choices
from app.domain.autostaff.costs import NO_EXPERIENCED, NO_LEAD, CostTable
from app.domain.autostaff.network import SOURCE, ArcList, FlowNetwork, build_network
from app.domain.autostaff.pricing import (
    MAX_PRICING_ROUNDS,
    Relaxation,
    experienced_reach,
    lagrangian,
    potentials,
    price,
)
from app.domain.autostaff.problem import Problem
from app.domain.autostaff.role_classes import RoleClasses
from app.domain.autostaff.solver import DEFAULT_NEAREST, _min_cost_flow, bonus_classes, prepare

#: Pairs one pricing round may add at most (beyond, the rounds stop: each bound stands).
MAX_PRICED_PAIRS = 200_000


def lower_bound(
    problem: Problem,
    nearest: int | None = DEFAULT_NEAREST,
    table: CostTable | None = None,
    enough: int | None = None,
    extra: NDArray[np.int64] | None = None,
) -> int:
    """No proposal costs less than this, over every station (the flow's pruning priced,
    see ``pricing``): the higher of two relaxations, both with the presence rule (see the
    module's docstring). When the first reaches ``enough`` its pricing stops and the
    second is not solved. ``extra``: pairs to add to the pruned choices from the start
    (a priced solve's, ``Solution.extra``), which saves rounds."""
    return lower_bound_and_pairs(problem, nearest, table, enough, extra)[0]


def lower_bound_and_pairs(
    problem: Problem,
    nearest: int | None = DEFAULT_NEAREST,
    table: CostTable | None = None,
    enough: int | None = None,
    extra: NDArray[np.int64] | None = None,
    rounds: int = MAX_PRICING_ROUNDS,
    state: tuple[RoleClasses, Choices] | None = None,
    earned_only: bool = False,
) -> tuple[int, NDArray[np.int64]]:
    """``lower_bound``, priced in at most ``rounds`` flows, with the pairs pricing found
    below zero (beyond ``extra``): the ones a proposal over every station may want.
    ``state``: a solve's classes and choices over the same pruned choices and ``extra``
    (not built again). ``earned_only``: the second relaxation is not solved (at
    Stockholm scale it counts about 1,500 bonuses too many and is never the higher)."""
    table = table or CostTable(problem)
    if state is None:
        prepared = prepare(problem, nearest, table, extra)
    else:
        wanted = np.array([not shift.has_experienced for shift in problem.shifts], dtype=bool)
        prepared = (*state, wanted, bonus_classes(problem, state[1], state[0], wanted))
    courses, _choices, wanted, _classes = prepared
    # The experienced bonus taken as earned wherever someone experienced may come (at
    # any station), and missed where nobody may: no bonus counted twice.
    missed = int((wanted & ~experienced_reach(problem, courses)).sum())

    def earned_network(
        courses: RoleClasses,
        choices: Choices,
        wanted: NDArray[np.bool_],
        _classes: dict[int, tuple[int, ...]],
    ) -> tuple[FlowNetwork, int]:
        network = build_network(problem, courses, choices, np.zeros_like(wanted), {})
        covered = with_presence(problem, network)
        return network, NO_EXPERIENCED * missed + NO_LEAD * covered

    earned, found = priced_bound(
        problem, table, nearest, earned_network, prepared, extra, enough=enough, rounds=rounds
    )
    assert earned is not None  # it counts no bonus per class
    if earned_only or (enough is not None and earned >= enough):
        return earned, found

    def every_class_network(
        courses: RoleClasses,
        choices: Choices,
        wanted: NDArray[np.bool_],
        classes: dict[int, tuple[int, ...]],
    ) -> tuple[FlowNetwork, int]:
        network = build_network(problem, courses, choices, wanted, classes)
        covered = with_presence(problem, network)
        return network, NO_EXPERIENCED * int(wanted.sum()) + NO_LEAD * covered

    every_class, _found = priced_bound(
        problem, table, nearest, every_class_network, prepared, extra, True, rounds=rounds
    )
    return max(earned, every_class if every_class is not None else earned), found


def priced_bound(
    problem: Problem,
    table: CostTable,
    nearest: int | None,
    relaxation: Relaxation,
    prepared: tuple[RoleClasses, Choices, NDArray[np.bool_], dict[int, tuple[int, ...]]],
    extra: NDArray[np.int64] | None = None,
    per_class: bool = False,
    enough: int | None = None,
    rounds: int = MAX_PRICING_ROUNDS,
) -> tuple[int | None, NDArray[np.int64]]:
    """The relaxation's optimum over every station: solved over the pruned choices, the
    pairs left out priced against its potentials and those below zero added, until none
    is (column generation, ``pricing``). Each round's Lagrangian over every pair is a
    bound; the highest is returned. A relaxation counting a bonus ``per_class`` is a
    bound only once every class has its place: None when the rounds end before. A bound
    reaching ``enough`` is not sought higher. ``prepared`` holds the pruned choices with
    ``extra``; returned beside the bound, the pairs pricing found beyond them."""
    courses, choices, wanted, classes = prepared
    best: int | None = None
    found = np.zeros((0, 3), dtype=np.int64)
    for round_ in range(rounds):
        network, constant = relaxation(courses, choices, wanted, classes)
        flows, cost = _min_cost_flow(network)
        if nearest is None:
            # Every pair is in the choices: the flow's optimum is the bound.
            return cost + constant, found
        distance = potentials(network, flows)
        priced = price(problem, table, courses, choices, network, distance, per_class)
        if not (per_class and priced.new_classes):
            bound = lagrangian(network, distance) + priced.negative + constant
            best = bound if best is None else max(best, bound)
        found = np.concatenate([found, priced.pairs])
        reached = best is not None and enough is not None and best >= enough
        # Every new class of the whole problem would come in at once: past a size the
        # relaxation per class is given up (the other one stands).
        too_many = len(priced.pairs) > MAX_PRICED_PAIRS
        if reached or too_many or not len(priced.pairs) or round_ == rounds - 1:
            break
        added = found if extra is None else np.concatenate([extra, found])
        courses, choices, wanted, classes = prepare(problem, nearest, table, added)
    return best, found


def covered_shifts(problem: Problem) -> dict[int, tuple[list[int], int]]:
    """The watched shifts the bound covers: shift id -> (its leading places' indexes,
    the exit place's index)."""
    watched = problem.lead_shifts()
    leading: dict[int, list[int]] = {}
    for n, place in enumerate(problem.places):
        if place.shift_id in watched and problem.role(place.role_type_id).leads_station:
            leading.setdefault(place.shift_id, []).append(n)
    covered: dict[int, tuple[list[int], int]] = {}
    for shift_id, ns in leading.items():
        places = [problem.places[n] for n in ns]
        full = [n for n, p in zip(ns, places, strict=True) if p.below_minimum == p.open]
        if len(ns) == 1:
            covered[shift_id] = (ns, ns[0])
        elif full:
            covered[shift_id] = (ns, full[0])
        elif all(p.below_minimum == 0 for p in places):
            covered[shift_id] = (ns, ns[0])
    return covered


def with_presence(problem: Problem, network: FlowNetwork) -> int:
    """Add the presence rule to ``network``'s arcs (in place); returns how many shifts
    it covers (each adds 50,000 to the bound)."""
    covered = covered_shifts(problem)
    if not covered:
        return 0
    arcs: ArcList = network.arcs
    place_nodes = {network.place_first + n: n for ns, _exit in covered.values() for n in ns}
    filled_first = arcs.node_block(len(place_nodes))
    filled_of = {node: filled_first + k for k, node in enumerate(sorted(place_nodes))}
    # Every arc that brings a person into a covered leading place now goes through its
    # ``filled`` node; the "unfilled" bypasses from the source stay as they are.
    lookup = np.full(arcs.nodes, -1, dtype=np.int64)
    for node, filled in filled_of.items():
        lookup[node] = filled
    for block, (tails, heads) in enumerate(zip(arcs.tails, arcs.heads, strict=True)):
        hit = (lookup[heads] >= 0) & (tails != SOURCE)
        if hit.any():
            heads = heads.copy()
            heads[hit] = lookup[heads[hit]]
            arcs.heads[block] = heads
    lead_first = arcs.node_block(len(covered))
    opens = [problem.places[n].open for n in sorted(place_nodes.values())]
    arcs.add(
        [filled_of[network.place_first + n] for n in sorted(place_nodes.values())],
        [network.place_first + n for n in sorted(place_nodes.values())],
        opens,
        0,
    )
    into_lead: list[int] = []
    lead_of: list[int] = []
    exits: list[int] = []
    for k, (_shift_id, (ns, exit_place)) in enumerate(sorted(covered.items())):
        for n in ns:
            into_lead.append(filled_of[network.place_first + n])
            lead_of.append(lead_first + k)
        exits.append(network.place_first + exit_place)
    arcs.add(into_lead, lead_of, 1, 0)
    arcs.add(np.arange(lead_first, lead_first + len(covered)), exits, 1, -NO_LEAD)
    return len(covered)
