"""The min-cost flow network of one solve: its nodes, and its arcs kind by kind.

With capacity / cost on each arc::

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
"experienced" place holds one unit, so the flow's optimum is the model's optimum.

**Classes.** A person-day whose class on a shift is not full (see ``role_classes``)
goes to a node of that class on the shift, which feeds only the role places of its
roles, so a proposal never puts anyone in a role they lack a course for::

    person-day --1 / travel + team + language--> (shift, class) --open / 0--> role place

A shift's "experienced" place then exits into one class node (its *bonus class*), and
only experienced person-days whose class contains that class may enter. A shift may
be given more than one bonus class: the first uses its "experienced" node, any further
one a node of its own (the relaxation of ``solver.lower_bound``).

Arcs are appended in a fixed order, so the solver sees the same input each time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from app.domain.autostaff.choices import Choices
from app.domain.autostaff.costs import (
    NO_EXPERIENCED,
    SPREAD_STEP,
    UNFILLED_MINIMUM,
    UNFILLED_TARGET,
)
from app.domain.autostaff.problem import Place, Problem
from app.domain.autostaff.role_classes import RoleClasses

SOURCE = 0
SINK = 1


class ArcList:
    """Nodes counted and arcs appended as arrays, in the order they are added."""

    def __init__(self) -> None:
        self.nodes = 2  # the source and the sink
        self.tails: list[NDArray[np.int64]] = []
        self.heads: list[NDArray[np.int64]] = []
        self.capacities: list[NDArray[np.int64]] = []
        self.costs: list[NDArray[np.int64]] = []
        self.count = 0

    def node_block(self, count: int) -> int:
        """Number ``count`` more nodes; returns the first."""
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


@dataclass(frozen=True)
class ClassNodes:
    """Where a shift's people flow to: the shift's node for its full class, a node per
    (shift, class) for any other. ``classes`` holds the (shift, bits) rows, sorted."""

    shift_first: int
    class_first: int
    classes: NDArray[np.int64]
    index: dict[tuple[int, int], int]
    full_bits: NDArray[np.int64]

    def node(self, s: int, bits: int) -> int:
        """The node of class ``bits`` on shift s."""
        if bits == int(self.full_bits[s]):
            return self.shift_first + s
        return self.class_first + self.index[(s, bits)]

    def shift_of(self, node: int) -> int:
        """The shift (index) of a shift or class node."""
        if node < self.class_first:
            return node - self.shift_first
        return int(self.classes[node - self.class_first, 0])


@dataclass(frozen=True)
class FlowNetwork:
    """One solve's arcs, and where the arcs of each kind start, to read the flow back."""

    arcs: ArcList
    supply: int
    place_first: int
    class_nodes: ClassNodes
    shift_to_place: int
    choice_first: int
    choice_heads: NDArray[np.int64]
    #: Arcs into an "experienced" place: the choices they copy, and the class each exits to.
    via: NDArray[np.int64]
    via_class: list[int]
    via_first: int
    class_tails: list[int]
    class_heads: list[int]
    class_to_place: int
    #: The first person-day node (numbered like ``Choices.person_days``) and the first
    #: person node (numbered like the people of the choices, in order): for pricing.
    person_day_first: int = -1
    person_first: int = -1
    #: Each "experienced" place's node by (shift index, bonus class): for pricing.
    experienced_nodes: dict[tuple[int, int], int] | None = None


def build_network(
    problem: Problem,
    courses: RoleClasses,
    choices: Choices,
    wanted: NDArray[np.bool_],
    bonus: dict[int, tuple[int, ...]],
) -> FlowNetwork:
    """The network for the given bonus classes (one "experienced" place for each of a
    wanted shift's classes)."""
    arcs = ArcList()
    place_first = arcs.node_block(len(problem.places))
    shift_first = arcs.node_block(len(problem.shifts))
    experienced_node = {s: arcs.node_block(1) for s in np.flatnonzero(wanted).tolist()}
    shift_index = {shift.id: s for s, shift in enumerate(problem.shifts)}
    place_shift = [shift_index[place.shift_id] for place in problem.places]
    shift_to_place = _add_places(arcs, problem.places, place_first, shift_first, place_shift)
    # A shift's class nodes are numbered after every other node, so a problem without
    # required courses gets exactly the network it always had.
    people, days_per_person = np.unique(choices.person_days[:, 0], return_counts=True)
    class_first = arcs.nodes + len(choices.person_days) + len(people)
    experienced_places = [(s, bits) for s in sorted(experienced_node) for bits in bonus[s]]
    class_nodes = _class_nodes(courses, choices, experienced_places, shift_first, class_first)
    experienced_place_node, extra = _add_experienced_places(
        arcs, experienced_places, bonus, experienced_node, class_nodes
    )
    person_day_first = _add_people(arcs, problem, choices, people, days_per_person)
    choice_tails = person_day_first + choices.tails
    choice_heads, choice_first = _add_choices(arcs, choices, class_nodes, choice_tails)
    via, via_class, via_node = _experienced_entries(
        problem,
        choices,
        wanted,
        bonus,
        experienced_node,
        experienced_places,
        experienced_place_node,
    )
    via_first = -1
    if len(via):
        via_heads = np.array(via_node, dtype=np.int64)
        via_first = arcs.add(choice_tails[via], via_heads, 1, choices.costs[via])
    # Class nodes: numbered now, each feeding the places of its shift it may fill.
    assert arcs.node_block(len(class_nodes.classes)) == class_first
    arcs.node_block(extra)
    class_tails, class_heads, class_to_place = _add_class_places(
        arcs, problem.places, courses, class_nodes, place_first, place_shift
    )
    return FlowNetwork(
        arcs=arcs,
        supply=sum(place.open for place in problem.places),
        place_first=place_first,
        class_nodes=class_nodes,
        shift_to_place=shift_to_place,
        choice_first=choice_first,
        choice_heads=choice_heads,
        via=via,
        via_class=via_class,
        via_first=via_first,
        class_tails=class_tails,
        class_heads=class_heads,
        class_to_place=class_to_place,
        person_day_first=person_day_first,
        person_first=person_day_first + len(choices.person_days),
        experienced_nodes=dict(zip(experienced_places, experienced_place_node, strict=True)),
    )


def _add_places(
    arcs: ArcList,
    places: tuple[Place, ...],
    place_first: int,
    shift_first: int,
    place_shift: list[int],
) -> int:
    """Places to the sink, fed by their shift or by the "unfilled" bypasses (dearer below
    the minimum); returns the first shift -> place arc."""
    place_nodes = np.arange(place_first, place_first + len(places), dtype=np.int64)
    opens = np.array([p.open for p in places], dtype=np.int64)
    below = np.array([p.below_minimum for p in places], dtype=np.int64)
    place_shift_nodes = shift_first + np.array(place_shift, dtype=np.int64)
    arcs.add(place_nodes, SINK, opens, 0)
    arcs.add(SOURCE, place_nodes, opens - below, UNFILLED_TARGET)
    arcs.add(SOURCE, place_nodes, below, UNFILLED_MINIMUM)
    return arcs.add(place_shift_nodes, place_nodes, opens, 0)


def _class_nodes(
    courses: RoleClasses,
    choices: Choices,
    experienced_places: list[tuple[int, int]],
    shift_first: int,
    class_first: int,
) -> ClassNodes:
    """A node for every (shift, class) that is not full: of a choice, or a bonus class."""
    mixed = np.flatnonzero(~choices.full)
    bonus_pairs = [
        (s, bits) for s, bits in experienced_places if bits != int(courses.shift_bits[s])
    ]
    classes = np.unique(
        np.concatenate(
            [
                np.stack([choices.shift_of[mixed], choices.bits[mixed]], axis=1),
                np.array(bonus_pairs, dtype=np.int64).reshape(-1, 2),
            ]
        ),
        axis=0,
    )
    index = {(int(s), int(bits)): n for n, (s, bits) in enumerate(classes.tolist())}
    return ClassNodes(shift_first, class_first, classes, index, courses.shift_bits)


def _add_experienced_places(
    arcs: ArcList,
    experienced_places: list[tuple[int, int]],
    bonus: dict[int, tuple[int, ...]],
    experienced_node: dict[int, int],
    class_nodes: ClassNodes,
) -> tuple[list[int], int]:
    """Each "experienced" place: one unit at -5,000 into its bonus class. Returns each
    one's node and how many nodes the further classes of the relaxation take, numbered
    after the class nodes."""
    extra_first = class_nodes.class_first + len(class_nodes.classes)
    extra = 0
    experienced_place_node = []
    for s, bits in experienced_places:
        if bits == bonus[s][0]:
            experienced_place_node.append(experienced_node[s])
        else:
            experienced_place_node.append(extra_first + extra)
            extra += 1
    heads = [class_nodes.node(s, bits) for s, bits in experienced_places]
    arcs.add(experienced_place_node, heads, 1, -NO_EXPERIENCED)
    return experienced_place_node, extra


def _add_people(
    arcs: ArcList,
    problem: Problem,
    choices: Choices,
    people: NDArray[np.int64],
    days_per_person: NDArray[np.int64],
) -> int:
    """Each person's spread tiers from the source (one per day they could work, each
    dearer), then one arc to each of their person-days; returns the first person-day."""
    person_days = choices.person_days
    person_day_first = arcs.node_block(len(person_days))
    person_first = arcs.node_block(len(people))
    person_node = {i: person_first + n for n, i in enumerate(people.tolist())}
    tier_tails: list[int] = []
    tier_heads: list[int] = []
    tier_costs: list[int] = []
    for i, count in zip(people.tolist(), days_per_person.tolist(), strict=True):
        held = problem.candidates[i].shifts_held
        for k in range(count):
            tier_tails.append(SOURCE)
            tier_heads.append(person_node[i])
            tier_costs.append(SPREAD_STEP * (held + k))
    arcs.add(tier_tails, tier_heads, 1, tier_costs)
    arcs.add(
        [person_node[i] for i in person_days[:, 0].tolist()],
        np.arange(person_day_first, person_day_first + len(person_days)),
        1,
        0,
    )
    return person_day_first


def _add_choices(
    arcs: ArcList, choices: Choices, class_nodes: ClassNodes, choice_tails: NDArray[np.int64]
) -> tuple[NDArray[np.int64], int]:
    """Person-day -> shift (or class) arcs at travel + team + language; returns their
    heads and the first."""
    heads = class_nodes.shift_first + choices.shift_of
    mixed = np.flatnonzero(~choices.full)
    if len(mixed):
        lookup = np.stack([choices.shift_of[mixed], choices.bits[mixed]], axis=1)
        # Rows of ``classes`` are sorted: find each mixed choice's row by a structured view.
        view = np.dtype([("s", np.int64), ("b", np.int64)])
        rows = np.searchsorted(
            np.ascontiguousarray(class_nodes.classes).view(view).ravel(),
            np.ascontiguousarray(lookup).view(view).ravel(),
        )
        heads[mixed] = class_nodes.class_first + rows
    return heads, arcs.add(choice_tails, heads, 1, choices.costs)


def _experienced_entries(
    problem: Problem,
    choices: Choices,
    wanted: NDArray[np.bool_],
    bonus: dict[int, tuple[int, ...]],
    experienced_node: dict[int, int],
    experienced_places: list[tuple[int, int]],
    experienced_place_node: list[int],
) -> tuple[NDArray[np.int64], list[int], list[int]]:
    """The choices of experienced person-days that may enter an "experienced" place (their
    class contains its bonus class): the choices, and for each its bonus class and the
    place's node."""
    candidate_of, shift_of = choices.candidate_of, choices.shift_of
    experienced = np.array([c.experienced for c in problem.candidates], dtype=bool)
    first_bits = np.array(
        [bonus[s][0] if s in bonus else 0 for s in range(len(problem.shifts))], dtype=np.int64
    )
    via = np.flatnonzero(
        experienced[candidate_of]
        & wanted[shift_of]
        & ((choices.bits & first_bits[shift_of]) == first_bits[shift_of])
    )
    via_node = [experienced_node[int(s)] for s in shift_of[via]]
    via_class = first_bits[shift_of[via]].tolist()
    relaxed = {s for s, bits in experienced_places if bits != bonus[s][0]}
    if not relaxed:
        return via, via_class, via_node
    # The relaxation's further bonus classes: their own places, entered the same way.
    pool = np.flatnonzero(experienced[candidate_of] & np.isin(shift_of, sorted(relaxed)))
    pool = pool[np.argsort(shift_of[pool], kind="stable")]
    bounds = np.searchsorted(shift_of[pool], np.arange(len(problem.shifts) + 1))
    extra_via = [via]
    for (s, bits), node in zip(experienced_places, experienced_place_node, strict=True):
        if bits == bonus[s][0]:
            continue
        members = pool[bounds[s] : bounds[s + 1]]
        members = members[(choices.bits[members] & bits) == bits]
        extra_via.append(members)
        via_node.extend([node] * len(members))
        via_class.extend([bits] * len(members))
    return np.concatenate(extra_via), via_class, via_node


def _add_class_places(
    arcs: ArcList,
    places: tuple[Place, ...],
    courses: RoleClasses,
    class_nodes: ClassNodes,
    place_first: int,
    place_shift: list[int],
) -> tuple[list[int], list[int], int]:
    """Each class node -> the places of its shift whose role it may fill; returns the
    arcs' tails, heads and the first (-1 when there are none)."""
    class_tails: list[int] = []
    class_heads: list[int] = []
    class_caps: list[int] = []
    places_of_shift: dict[int, list[int]] = {}
    for p, s in enumerate(place_shift):
        places_of_shift.setdefault(s, []).append(p)
    for n, (s, bits) in enumerate(class_nodes.classes.tolist()):
        for p in places_of_shift.get(s, []):
            if courses.allows(bits, places[p].role_type_id):
                class_tails.append(class_nodes.class_first + n)
                class_heads.append(place_first + p)
                class_caps.append(places[p].open)
    class_to_place = arcs.add(class_tails, class_heads, class_caps, 0) if class_tails else -1
    return class_tails, class_heads, class_to_place
