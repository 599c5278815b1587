"""Reading a solved flow back as picks: who works which shift, and in which role.

Roles do not change the cost, so a shift's people are matched to its roles after the
solve: leading roles to the most experienced, then by person id. A shift with classes
(see ``role_classes``) is matched pool by pool: the people who reached the shift or one
of its class nodes, to the places that node fed.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from app.domain.autostaff.choices import Choices
from app.domain.autostaff.costs import Pick
from app.domain.autostaff.network import ClassNodes, FlowNetwork
from app.domain.autostaff.problem import Problem


def chosen_choices(
    network: FlowNetwork, choices: Choices, flows: NDArray[np.int64]
) -> NDArray[np.intp]:
    """The choices (indexes) the flow sent a person along, not counting the ones through
    an "experienced" place."""
    first = network.choice_first
    return np.flatnonzero(flows[first : first + len(choices.shift_of)])


def read_picks(
    problem: Problem,
    network: FlowNetwork,
    choices: Choices,
    flows: NDArray[np.int64],
    chosen: NDArray[np.intp],
) -> tuple[list[Pick], dict[int, list[int]]]:
    """The picks, sorted, and per shift the bonus classes whose "experienced" place the
    flow used (its bonus is counted)."""
    people_in, claimed = _people_in_pools(network, choices, flows, chosen)
    roles_in = _roles_in_pools(problem, network, flows)
    return _match_roles(problem, network.class_nodes, people_in, roles_in), claimed


def _people_in_pools(
    network: FlowNetwork,
    choices: Choices,
    flows: NDArray[np.int64],
    chosen: NDArray[np.intp],
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Who works in which pool (a shift's node or one of its class nodes), as candidate
    indexes; and the bonus classes claimed per shift."""
    people_in: dict[int, list[int]] = {}
    for index in chosen.tolist():
        people_in.setdefault(int(network.choice_heads[index]), []).append(
            int(choices.candidate_of[index])
        )
    claimed: dict[int, list[int]] = {}
    if network.via_first >= 0:
        used = flows[network.via_first : network.via_first + len(network.via)]
        for position in np.flatnonzero(used).tolist():
            index = int(network.via[position])
            s = int(choices.shift_of[index])
            claimed.setdefault(s, []).append(network.via_class[position])
            exit_node = network.class_nodes.node(s, network.via_class[position])
            people_in.setdefault(exit_node, []).append(int(choices.candidate_of[index]))
    return people_in, claimed


def _roles_in_pools(
    problem: Problem, network: FlowNetwork, flows: NDArray[np.int64]
) -> dict[int, list[tuple[int, int]]]:
    """The places each pool fed: (role, how many) per pool node."""
    places = problem.places
    class_nodes = network.class_nodes
    shift_index = {shift.id: s for s, shift in enumerate(problem.shifts)}
    roles_in: dict[int, list[tuple[int, int]]] = {}
    filled = flows[network.shift_to_place : network.shift_to_place + len(places)].tolist()
    for p, amount in enumerate(filled):
        if amount:
            node = class_nodes.shift_first + shift_index[places[p].shift_id]
            roles_in.setdefault(node, []).append((places[p].role_type_id, amount))
    if network.class_to_place >= 0:
        first = network.class_to_place
        used = flows[first : first + len(network.class_tails)].tolist()
        for tail, head, amount in zip(network.class_tails, network.class_heads, used, strict=True):
            if amount:
                role_id = places[head - network.place_first].role_type_id
                roles_in.setdefault(tail, []).append((role_id, amount))
    return roles_in


def _match_roles(
    problem: Problem,
    class_nodes: ClassNodes,
    people_in: dict[int, list[int]],
    roles_in: dict[int, list[tuple[int, int]]],
) -> list[Pick]:
    """A pool's people in experience order to its places, leading roles first."""
    picks: list[Pick] = []
    for node in sorted(people_in):
        shift = problem.shifts[class_nodes.shift_of(node)]
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
    return picks
