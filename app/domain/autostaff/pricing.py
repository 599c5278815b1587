"""Pricing what the nearest-stations pruning leaves out: bounds over every station.

The flow sees each person-day's ``nearest`` stations only (``choices``), so its optimum,
and a bound read from it, holds over those choices alone. Duality extends it to every
station. For any node prices p, the Lagrangian of the flow conservation::

    L(p) = sum over nodes of supply(v) p(v) + sum over arcs of capacity x min(0, rc)
    rc   = cost + p(head) - p(tail)

is no more than the optimum of the network (each arc alone takes its capacity where
its reduced cost pays, with no conservation to keep). It holds for a network with more
arcs too, their terms added, and a node a left-out arc needs gets a price that makes
its own arcs cost nothing. Priced with the pruned flow's optimal potentials (shortest
distances in its residual graph, ``potentials``), L is the pruned optimum, and every
left-out person-day -> shift pair adds its arcs' negative reduced costs only: when no
pair prices below zero, the pruned optimum is the optimum over every station.

``priced_bound`` runs that as column generation: pairs that price below zero are added
to the choices and the flow solved again, until none is left or the rounds run out;
each round's L over every pair is a proven bound. The pairs are priced group by group
(the person-days that may work the same shifts), vectorised, without building them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from app.domain.autostaff.choices import Choices, eligible_groups
from app.domain.autostaff.costs import SPREAD_STEP, CostTable
from app.domain.autostaff.network import SINK, SOURCE, FlowNetwork
from app.domain.autostaff.problem import Problem
from app.domain.autostaff.role_classes import RoleClasses, restricted_roles

#: Flows solved at most while adding priced pairs (each round's bound is proven).
MAX_PRICING_ROUNDS = 4
#: Person-days priced at once (a block of members x shifts in memory).
CHUNK = 1_000
#: A price far below any reachable one: an arc to it never prices below zero.
UNREACHABLE = -(1 << 50)

#: Builds a relaxation's network over given choices: (network, constant to add).
Relaxation = Callable[
    [RoleClasses, Choices, NDArray[np.bool_], dict[int, tuple[int, ...]]], tuple[FlowNetwork, int]
]


class PricingError(RuntimeError):
    """The residual graph had a negative cycle: the flow was not optimal."""


def potentials(network: FlowNetwork, flows: NDArray[np.int64]) -> NDArray[np.int64]:
    """Shortest distances d from a root joined to every node at no cost, in the residual
    graph of an optimal flow: c + d(tail) - d(head) >= 0 on every residual arc (the node
    prices are -d). Bellman-Ford, vectorised, relaxing only arcs out of nodes that changed."""
    arcs = network.arcs
    tails, heads = np.concatenate(arcs.tails), np.concatenate(arcs.heads)
    capacities, costs = np.concatenate(arcs.capacities), np.concatenate(arcs.costs)
    forward, backward = flows < capacities, flows > 0
    residual_tails = np.concatenate((tails[forward], heads[backward]))
    residual_heads = np.concatenate((heads[forward], tails[backward]))
    residual_costs = np.concatenate((costs[forward], -costs[backward]))
    distance = np.zeros(arcs.nodes, dtype=np.int64)
    active = np.ones(arcs.nodes, dtype=bool)
    for _round in range(arcs.nodes + 1):
        live = np.flatnonzero(active[residual_tails])
        if not len(live):
            return distance
        before = distance.copy()
        np.minimum.at(
            distance,
            residual_heads[live],
            distance[residual_tails[live]] + residual_costs[live],
        )
        active = distance < before
    raise PricingError("the residual graph has a negative cycle")


def lagrangian(network: FlowNetwork, distance: NDArray[np.int64]) -> int:
    """L(p) of the network's own arcs for prices p = -distance (see the docstring)."""
    arcs = network.arcs
    tails, heads = np.concatenate(arcs.tails), np.concatenate(arcs.heads)
    capacities, costs = np.concatenate(arcs.capacities), np.concatenate(arcs.costs)
    reduced = costs + distance[tails] - distance[heads]
    supply_part = network.supply * int(distance[SINK] - distance[SOURCE])
    return supply_part + int((capacities * np.minimum(0, reduced)).sum())


@dataclass(frozen=True)
class Priced:
    """What the pairs left out of a network add to its Lagrangian."""

    #: The sum of their arcs' negative reduced costs (<= 0).
    negative: int
    #: (candidate, day, shift) rows of the pairs to add: priced below zero, or of a bonus
    #: class the network has no "experienced" place for (see ``new_classes``).
    pairs: NDArray[np.int64]
    #: An experienced person-day left out would earn a bonus in a class the network has
    #: no place for: a relaxation counting a bonus per class does not cover it yet.
    new_classes: bool
    #: Which priced arcs were of pairs left out (and allowed).
    keep: NDArray[np.bool_]


class _Prices:
    """The node prices a left-out pair's arcs need, found once."""

    def __init__(
        self,
        problem: Problem,
        courses: RoleClasses,
        choices: Choices,
        network: FlowNetwork,
        distance: NDArray[np.int64],
    ) -> None:
        self.problem, self.courses, self.network, self.distance = (
            problem,
            courses,
            network,
            distance,
        )
        heads = np.concatenate(network.arcs.heads)
        first = network.shift_to_place
        # Where a person comes into each place (the presence rule may route it).
        self.entry = distance[heads[first : first + len(problem.places)]]
        shift_index = {shift.id: s for s, shift in enumerate(problem.shifts)}
        self.places_of: dict[int, list[int]] = {}
        for n, place in enumerate(problem.places):
            self.places_of.setdefault(shift_index[place.shift_id], []).append(n)
        self.class_price: dict[tuple[int, int], int] = {}
        # A person (or person-day) without a node: priced so its own arcs cost nothing.
        held = np.array([c.shifts_held for c in problem.candidates], dtype=np.int64)
        self.person = distance[SOURCE] + SPREAD_STEP * held
        people = np.unique(choices.person_days[:, 0])
        self.person[people] = distance[network.person_first + np.arange(len(people))]
        self.days = max(1, courses.barred.shape[1])
        self.day_keys = choices.person_days[:, 0] * self.days + choices.person_days[:, 1]
        self.experienced: dict[int, list[tuple[int, int]]] = {}
        for (s, bits), node in (network.experienced_nodes or {}).items():
            self.experienced.setdefault(s, []).append((bits, int(distance[node])))

    def person_day(self, rows: NDArray[np.int64], d: int) -> NDArray[np.int64]:
        keys = rows * self.days + d
        at = np.minimum(np.searchsorted(self.day_keys, keys), max(0, len(self.day_keys) - 1))
        found = self.day_keys[at] == keys if len(self.day_keys) else np.zeros(len(rows), bool)
        price = self.person[rows].copy()
        price[found] = self.distance[self.network.person_day_first + at[found]]
        return price

    def class_node(self, s: int, bits: int) -> int:
        """The price of class ``bits`` on shift s; a class without a node is priced at
        the dearest place it may fill, so that its arcs into them cost nothing."""
        key = (s, bits)
        if key not in self.class_price:
            nodes = self.network.class_nodes
            if bits == int(nodes.full_bits[s]):
                price = int(self.distance[nodes.shift_first + s])
            elif key in nodes.index:
                price = int(self.distance[nodes.class_first + nodes.index[key]])
            else:
                allowed = [
                    n
                    for n in self.places_of[s]
                    if self.courses.allows(bits, self.problem.places[n].role_type_id)
                ]
                price = int(self.entry[allowed].max())
            self.class_price[key] = price
        return self.class_price[key]


def price(
    problem: Problem,
    table: CostTable,
    courses: RoleClasses,
    choices: Choices,
    network: FlowNetwork,
    distance: NDArray[np.int64],
    per_class: bool = False,
) -> Priced:
    """Every person-day -> shift pair the choices leave out, priced against ``distance``
    (the network's potentials): their negative reduced costs, and which to add. For a
    relaxation counting a bonus ``per_class``, also an experienced person-day's pair of a
    class without its "experienced" place."""
    prices = _Prices(problem, courses, choices, network, distance)
    pair = table.pair_costs()
    shift_count = len(problem.shifts)
    station_of = np.array(
        [table.station_index[shift.station_id] for shift in problem.shifts], dtype=np.int64
    )
    experienced = np.array([c.experienced for c in problem.candidates], dtype=bool)
    keys: list[NDArray[np.int64]] = []
    day_keys: list[NDArray[np.int64]] = []
    reduced: list[NDArray[np.int64]] = []
    forced: list[NDArray[np.int64]] = []
    for d, members, eligible in eligible_groups(problem, courses, sorted_days(problem)):
        columns = np.array(eligible, dtype=np.int64)
        barred = int(courses.barred[members[0], d])
        bits = (courses.shift_bits[columns] & ~barred).tolist()
        node = np.array([prices.class_node(s, b) for s, b in zip(eligible, bits, strict=True)])
        via = _via_prices(prices, eligible, bits)
        unplaced = np.array(
            [
                s in prices.experienced and b not in dict(prices.experienced[s])
                for s, b in zip(eligible, bits, strict=True)
            ],
            dtype=bool,
        )
        for start in range(0, len(members), CHUNK):
            rows = np.array(members[start : start + CHUNK], dtype=np.int64)
            cost = pair[np.ix_(rows, station_of[columns])]
            person_day = prices.person_day(rows, d)[:, None]
            arcs = [cost + person_day - node[None, :]]
            mine = experienced[rows]
            arcs += [np.where(mine[:, None], cost + person_day - k[None, :], 0) for k in via]
            for arc in arcs:
                r, c = np.nonzero(arc < 0)
                keys.append(rows[r] * shift_count + columns[c])
                day_keys.append(rows[r] * prices.days + d)
                reduced.append(arc[r, c])
            if per_class:
                r, c = np.nonzero(mine[:, None] & unplaced[None, :])
                forced.append(rows[r] * shift_count + columns[c])
    found = _left_out(problem, choices, keys, reduced, forced)
    return replace(found, negative=_per_person_day(prices, day_keys, reduced, found.keep))


def sorted_days(problem: Problem) -> list[dt.date]:
    """The days of the problem's shifts, in order (as ``solver.prepare`` numbers them)."""
    return sorted({shift.day for shift in problem.shifts})


def _via_prices(prices: _Prices, eligible: list[int], bits: list[int]) -> list[NDArray[np.int64]]:
    """Per shift of a group, the prices of the "experienced" places its class may enter,
    one array per k-th place (padded with ``UNREACHABLE``)."""
    entered = [
        [
            place_price
            for place_bits, place_price in prices.experienced.get(s, [])
            if b & place_bits == place_bits
        ]
        for s, b in zip(eligible, bits, strict=True)
    ]
    most = max((len(e) for e in entered), default=0)
    return [
        np.array([e[k] if k < len(e) else UNREACHABLE for e in entered], dtype=np.int64)
        for k in range(most)
    ]


def _left_out(
    problem: Problem,
    choices: Choices,
    keys: list[NDArray[np.int64]],
    reduced: list[NDArray[np.int64]],
    forced: list[NDArray[np.int64]],
) -> Priced:
    """Keep the priced arcs of pairs outside the choices and allowed (not unfit): their
    sum, and the pairs to add with their days."""
    shift_count = len(problem.shifts)
    inside = np.sort(choices.candidate_of * shift_count + choices.shift_of)
    shift_index = {shift.id: s for s, shift in enumerate(problem.shifts)}
    unfit = np.array(
        [
            i * shift_count + shift_index[shift_id]
            for i, candidate in enumerate(problem.candidates)
            for shift_id in candidate.unfit_shifts
            if shift_id in shift_index
        ],
        dtype=np.int64,
    )
    all_keys = np.concatenate([np.zeros(0, np.int64), *keys])
    all_reduced = np.concatenate([np.zeros(0, np.int64), *reduced])
    all_forced = np.concatenate([np.zeros(0, np.int64), *forced])

    unfit.sort()

    def outside(found: NDArray[np.int64]) -> NDArray[np.bool_]:
        return ~_member(found, inside) & ~_member(found, unfit)

    keep = outside(all_keys)
    forced_kept = all_forced[outside(all_forced)]
    added = np.unique(np.concatenate([all_keys[keep], forced_kept]))
    candidate_of, shift_of = added // shift_count, added % shift_count
    day_index = {day: d for d, day in enumerate(sorted_days(problem))}
    day_of = np.array([day_index[problem.shifts[s].day] for s in shift_of.tolist()], np.int64)
    return Priced(
        int(all_reduced[keep].sum()),
        np.stack([candidate_of, day_of, shift_of], axis=1).reshape(-1, 3),
        bool(len(forced_kept)),
        keep,
    )


def _member(found: NDArray[np.int64], sorted_keys: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which of ``found`` are in ``sorted_keys`` (a binary search each: ``found`` is
    small, the keys many)."""
    if not len(sorted_keys):
        return np.zeros(len(found), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, found), len(sorted_keys) - 1)
    return sorted_keys[at] == found


def _per_person_day(
    prices: _Prices,
    day_keys: list[NDArray[np.int64]],
    reduced: list[NDArray[np.int64]],
    keep: NDArray[np.bool_],
) -> int:
    """The Lagrangian's change when each person-day's arcs out may carry one unit in
    all (implied: one unit comes in), over the network's arcs and the ones left out:
    a person-day's negative reduced costs count once, the lowest, not summed."""
    network, distance = prices.network, prices.distance
    arcs = network.arcs
    tails, heads = np.concatenate(arcs.tails), np.concatenate(arcs.heads)
    costs = np.concatenate(arcs.costs)
    first, count = network.person_day_first, len(prices.day_keys)
    out = np.flatnonzero((tails >= first) & (tails < first + count))
    negative = np.minimum(0, costs[out] + distance[tails[out]] - distance[heads[out]])
    summed = np.zeros(count, dtype=np.int64)
    lowest = np.zeros(count, dtype=np.int64)
    np.add.at(summed, tails[out] - first, negative)
    np.minimum.at(lowest, tails[out] - first, negative)
    change = int((lowest - summed).sum())
    # The arcs left out, by person-day (one that has no node had no arcs: 0 before).
    all_days = np.concatenate([np.zeros(0, np.int64), *day_keys])[keep]
    all_reduced = np.concatenate([np.zeros(0, np.int64), *reduced])[keep]
    if not len(all_days):
        return change
    unique, inverse = np.unique(all_days, return_inverse=True)
    new_lowest = np.zeros(len(unique), dtype=np.int64)
    np.minimum.at(new_lowest, inverse, all_reduced)
    at = np.minimum(np.searchsorted(prices.day_keys, unique), max(0, count - 1))
    has_node = prices.day_keys[at] == unique if count else np.zeros(len(unique), bool)
    before = np.where(has_node, lowest[at] if count else 0, 0)
    return change + int((np.minimum(before, new_lowest) - before).sum())


def experienced_reach(problem: Problem, courses: RoleClasses) -> NDArray[np.bool_]:
    """Per shift, whether someone experienced may work it at all (every station)."""
    experienced = np.array([c.experienced for c in problem.candidates], dtype=bool)
    reach = np.zeros(len(problem.shifts), dtype=bool)
    for _d, members, eligible in eligible_groups(problem, courses, sorted_days(problem)):
        if experienced[members].any():
            reach[eligible] = True
    return reach


def every_pair_count(problem: Problem) -> int:
    """How many person-day -> shift pairs the problem has before any pruning."""
    days = sorted_days(problem)
    courses = RoleClasses(problem, days, restricted_roles(problem))
    return sum(
        len(members) * len(eligible)
        for _d, members, eligible in eligible_groups(problem, courses, days)
    )
