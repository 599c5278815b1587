"""Pricing what the nearest-stations pruning leaves out: the bound holds over every
station, and the flow finds a best station beyond the nearest."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest

from app.domain.autostaff import bounds, exact, pricing
from app.domain.autostaff import problem as model
from app.domain.autostaff.costs import UNFILLED_MINIMUM, UNFILLED_TARGET, CostTable, check
from app.domain.autostaff.exact import optimise
from app.domain.autostaff.network import build_network
from app.domain.autostaff.solver import _min_cost_flow, prepare, solve
from bench.autostaff import random_small_problem, with_courses
from tests.support.exact_milp import solve_exact

SUNDAY = dt.date(2030, 9, 8)
CLERK = model.Role(3, "clerk", False, 2)
HERE = (59.33, 18.06)
#: Station 2 is 0.02 degrees of latitude north: 2.2 km, 22 in travel cost.
THERE = (59.35, 18.06)


def _beyond_the_nearest() -> model.Problem:
    """Anna lives next door to station 1, whose clerk's place is above the minimum, and
    2.2 km from station 2, whose clerk's place is below it. With one station per person
    kept she only reaches station 1: the pruned optimum leaves station 2 empty."""
    stations = (
        model.Station(1, "S1", None, *HERE, ()),
        model.Station(2, "S2", None, *THERE, ()),
    )
    shifts = tuple(
        model.Shift(10 + j, j, SUNDAY, dt.time(7), dt.time(14), ("election_day",), True)
        for j in (1, 2)
    )
    places = (model.Place(11, CLERK.id, 1, 0), model.Place(12, CLERK.id, 1, 1))
    anna = model.Candidate(
        id=1,
        latitude=HERE[0],
        longitude=HERE[1],
        languages=frozenset(),
        wishes=frozenset(),
        experienced=False,
        shifts_held=0,
        days={SUNDAY: frozenset({"election_day"})},
    )
    return model.Problem(1, SUNDAY, (CLERK,), stations, shifts, places, (anna,))


def _travel(problem: model.Problem, station_id: int) -> int:
    return int(CostTable(problem).travel[0, station_id - 1])


def test_the_bound_holds_when_the_best_station_is_beyond_the_nearest() -> None:
    problem = _beyond_the_nearest()
    optimum = UNFILLED_TARGET + _travel(problem, 2)
    assert solve_exact(problem).total == optimum
    # The pruned flow's optimum leaves the place below the minimum empty: a bound read
    # from it alone would claim more than the optimum.
    assert solve(problem, 1).evaluation.breakdown["total"] == UNFILLED_MINIMUM
    courses, choices, wanted, _classes = prepare(problem, 1, CostTable(problem))
    network = build_network(problem, courses, choices, np.zeros_like(wanted), {})
    assert _min_cost_flow(network)[1] == UNFILLED_MINIMUM

    assert bounds.lower_bound(problem, 1) == optimum


def test_one_pricing_round_is_already_a_bound() -> None:
    problem = _beyond_the_nearest()
    table = CostTable(problem)
    courses, choices, wanted, _classes = prepare(problem, 1, table)
    network = build_network(problem, courses, choices, np.zeros_like(wanted), {})
    flows, cost = _min_cost_flow(network)
    distance = pricing.potentials(network, flows)
    # The potentials are the flow's duals: the Lagrangian is its optimum.
    assert pricing.lagrangian(network, distance) == cost

    priced = pricing.price(problem, table, courses, choices, network, distance)

    assert priced.pairs.tolist() == [[0, 0, 1]]  # Anna on station 2's shift
    assert priced.negative < 0
    assert cost + priced.negative <= solve_exact(problem).total


def test_priced_flow_finds_the_station_beyond_the_nearest() -> None:
    problem = _beyond_the_nearest()

    priced = solve(problem, 1, pricing_rounds=pricing.MAX_PRICING_ROUNDS)

    assert [p.shift_id for p in priced.picks] == [12]
    assert priced.evaluation.breakdown["total"] == UNFILLED_TARGET + _travel(problem, 2)


def test_above_the_exact_models_size_the_proposal_and_bound_cover_every_station(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exact, "MAX_EXACT_ARCS", 0)
    problem = _beyond_the_nearest()

    result = optimise(problem, 1)

    assert result.start_total == UNFILLED_MINIMUM
    assert result.total == result.bound == UNFILLED_TARGET + _travel(problem, 2)
    assert result.optimal


def test_a_small_problem_is_solved_over_every_station() -> None:
    # Pruned to one station, but small enough to leave nothing out.
    result = optimise(_beyond_the_nearest(), 1)

    assert result.optimal
    assert result.total == solve_exact(_beyond_the_nearest()).total


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("rules", ["plain", "every rule"])
def test_the_priced_bound_of_a_pruned_problem_stays_below_the_milp(seed: int, rules: str) -> None:
    problem = random_small_problem(seed)
    if rules == "every rule":
        problem = replace(with_courses(problem, seed), min_rest_minutes=14 * 60)

    bound = bounds.lower_bound(problem, 1)
    flow = solve(problem, 1, pricing_rounds=pricing.MAX_PRICING_ROUNDS)

    assert bound <= solve_exact(problem).total
    # The flow alone leaves the rest rule to ``keep_rest``; every other rule it keeps.
    assert check(problem, exact.keep_rest(problem, flow.picks)) == []
    pruned = solve(problem, 1).evaluation.breakdown["total"]
    assert flow.evaluation.breakdown["total"] <= pruned


@pytest.mark.parametrize("seed", range(4))
def test_pruned_exact_model_never_claims_more_than_proven(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pruned choices in the exact model (as if too many pairs to leave none out): the
    # bound shown holds over every station.
    monkeypatch.setattr(exact, "every_pair_count", lambda problem: 10**9)
    problem = replace(with_courses(random_small_problem(seed), seed), min_rest_minutes=14 * 60)
    exact_total = solve_exact(problem).total

    result = optimise(problem, 2, time_limit=5.0)

    assert result.bound <= exact_total <= result.total
    assert check(problem, result.solution.picks) == []


@pytest.mark.parametrize("seed", range(6))
def test_the_potentials_are_the_flows_duals_with_every_kind_of_arc(seed: int) -> None:
    # Courses split classes, the "experienced" places cost -5,000 and the presence rule
    # -50,000: the Lagrangian at the potentials is the flow's optimum all the same, and
    # no arc of the residual graph has a negative reduced cost.
    problem = with_courses(random_small_problem(seed), seed)
    courses, choices, wanted, classes = prepare(problem, 2, CostTable(problem))
    network = build_network(problem, courses, choices, wanted, classes)
    bounds.with_presence(problem, network)
    flows, cost = _min_cost_flow(network)

    distance = pricing.potentials(network, flows)

    assert pricing.lagrangian(network, distance) == cost
    arcs = network.arcs
    tails, heads = np.concatenate(arcs.tails), np.concatenate(arcs.heads)
    reduced = np.concatenate(arcs.costs) + distance[tails] - distance[heads]
    assert (reduced[flows < np.concatenate(arcs.capacities)] >= 0).all()
    assert (reduced[flows > 0] <= 0).all()
