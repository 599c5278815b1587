"""The exact model: every rule, optimal on problems whose optimum is worked out by hand,
equal to the independent MILP on random ones, and the re-run after a decline that
keeps everyone else's place."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from app.domain.autostaff import bounds, exact
from app.domain.autostaff import problem as model
from app.domain.autostaff.costs import (
    NO_EXPERIENCED,
    NO_LEAD,
    SPREAD_STEP,
    UNFILLED_TARGET,
    UNKNOWN_TRAVEL,
    Pick,
    check,
)
from app.domain.autostaff.exact import optimise
from app.domain.autostaff.incremental import rerun
from app.domain.autostaff.solver import lower_bound, solve
from app.domain.autostaff.unfilled import unfilled_places
from bench.autostaff import random_small_problem, with_courses
from tests.support.exact_milp import solve_exact

SATURDAY = dt.date(2030, 9, 7)
SUNDAY = SATURDAY + dt.timedelta(days=1)
CLERK = model.Role(3, "clerk", False, 2)
CHAIR = model.Role(1, "chair", True, 0)
HERE = (59.33, 18.06)


def _station(station_id: int) -> model.Station:
    return model.Station(station_id, f"S{station_id}", None, *HERE, ())


def _shift(
    shift_id: int, day: dt.date, starts: tuple[int, int], ends: tuple[int, int]
) -> model.Shift:
    # Someone experienced holds a place on every shift: the bonus plays no part here.
    return model.Shift(shift_id, 1, day, dt.time(*starts), dt.time(*ends), ("election_day",), True)


def _person(
    person_id: int, days: list[dt.date], located: bool = True, held: int = 0, **more: object
) -> model.Candidate:
    lat, lon = HERE if located else (None, None)
    return model.Candidate(
        id=person_id,
        latitude=lat,
        longitude=lon,
        languages=frozenset(),
        wishes=frozenset(),
        experienced=False,
        shifts_held=held,
        days={day: frozenset({"election_day"}) for day in days},
        **more,  # type: ignore[arg-type]
    )


def _weekend(min_rest: int | None) -> model.Problem:
    """Saturday 13-22 and Sunday 07-14 (9 hours apart), a clerk each below the minimum.
    Anna (next door) can work both days; Bo (distance unknown, two places held) only
    Sunday."""
    return model.Problem(
        1,
        SUNDAY,
        (CLERK,),
        (_station(1),),
        (_shift(10, SATURDAY, (13, 0), (22, 0)), _shift(11, SUNDAY, (7, 0), (14, 0))),
        (model.Place(10, CLERK.id, 1, 1), model.Place(11, CLERK.id, 1, 1)),
        (_person(1, [SATURDAY, SUNDAY]), _person(2, [SUNDAY], located=False, held=2)),
        min_rest_minutes=min_rest,
    )


def test_without_a_rest_rule_the_nearer_person_works_both_days() -> None:
    result = optimise(_weekend(None), None)

    assert result.optimal
    assert result.solution.picks == [Pick(10, CLERK.id, 1), Pick(11, CLERK.id, 1)]
    # Anna's second shift: one spread step; nothing else costs.
    assert result.total == SPREAD_STEP


def test_the_rest_rule_holds_between_two_places_it_proposes_on_consecutive_days() -> None:
    problem = _weekend(11 * 60)
    # The flow alone proposes Anna twice, nine hours apart.
    assert check(problem, solve(problem, None).picks)

    result = optimise(problem, None)

    assert check(problem, result.solution.picks) == []
    assert result.optimal
    assert result.solution.picks == [Pick(10, CLERK.id, 1), Pick(11, CLERK.id, 2)]
    # Bo on Sunday: unknown distance, and his third place.
    assert result.total == UNKNOWN_TRAVEL + 2 * SPREAD_STEP
    assert result.bound == result.total and result.gap == 0


def test_nine_hours_are_enough_when_the_least_rest_is_nine() -> None:
    result = optimise(_weekend(9 * 60), None)

    assert [p.person_id for p in result.solution.picks] == [1, 1]


def _leaderless(presence: bool) -> model.Problem:
    """One shift with a chair place (above the minimum) and a clerk place (below it).
    Anna lives next door but lacks the chair's course; Bo may chair, but his distance is
    unknown and he holds five places already. The presence rule watches the shift only
    when nobody of a leading role holds a place on it."""
    shift = replace(_shift(10, SUNDAY, (7, 0), (14, 0)), has_lead=not presence)
    return model.Problem(
        1,
        SUNDAY,
        (CHAIR, CLERK),
        (_station(1),),
        (shift,),
        (model.Place(10, CHAIR.id, 1, 0), model.Place(10, CLERK.id, 1, 1)),
        (
            _person(1, [SUNDAY], barred={SUNDAY: frozenset({CHAIR.id})}),
            _person(2, [SUNDAY], located=False, held=5),
        ),
    )


def test_a_chair_or_vice_chair_on_every_shift() -> None:
    # Without the rule (a chair already holds a place) Bo costs more than an empty place.
    relaxed = optimise(_leaderless(False), None)
    assert relaxed.solution.picks == [Pick(10, CLERK.id, 1)]
    assert relaxed.total == UNFILLED_TARGET

    result = optimise(_leaderless(True), None)

    assert result.optimal
    assert result.solution.picks == [Pick(10, CHAIR.id, 2), Pick(10, CLERK.id, 1)]
    assert result.total == UNKNOWN_TRAVEL + 5 * SPREAD_STEP < UNFILLED_TARGET + NO_LEAD


def test_the_bound_counts_the_presence_rule() -> None:
    # The flow's relaxation leaves the chair empty (10,000) and misses the 50,000 of a
    # shift nobody leads; with the rule in it, the bound is the optimum.
    problem = _leaderless(True)
    optimum = UNKNOWN_TRAVEL + 5 * SPREAD_STEP

    assert lower_bound(problem, None) == UNFILLED_TARGET
    assert bounds.lower_bound(problem, None) == optimum


def test_above_the_exact_models_size_the_gap_is_to_the_bound_with_the_presence_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exact, "MAX_EXACT_ARCS", 0)

    result = optimise(_leaderless(True), None)

    # The flow's proposal stands (it leaves the chair empty), with its true gap.
    assert result.total == UNFILLED_TARGET + NO_LEAD
    assert result.bound == UNKNOWN_TRAVEL + 5 * SPREAD_STEP
    assert not result.optimal
    assert result.gap == pytest.approx((result.total - result.bound) / result.bound)


def test_the_bound_lands_the_leading_person_where_no_place_is_dearer() -> None:
    # A chair (above the minimum) and a vice chair (below it); Bo may only be vice chair.
    # The optimum fills the vice chair's place and leaves the chair's open (10,000, the
    # shift is led). A bound that moved Bo into the chair's place would leave the vice
    # chair's below the minimum: it must land him in the vice chair's.
    vice = model.Role(2, "vice_chair", True, 1)
    shift = replace(_shift(10, SUNDAY, (7, 0), (14, 0)), has_lead=False)
    problem = model.Problem(
        1,
        SUNDAY,
        (CHAIR, vice, CLERK),
        (_station(1),),
        (shift,),
        (model.Place(10, CHAIR.id, 1, 0), model.Place(10, vice.id, 1, 1)),
        (_person(2, [SUNDAY], barred={SUNDAY: frozenset({CHAIR.id})}),),
    )
    result = optimise(problem, None)
    assert result.optimal and result.solution.picks == [Pick(10, vice.id, 2)]
    assert result.total == UNFILLED_TARGET

    assert bounds.lower_bound(problem, None) == result.total


def test_the_bound_counts_the_experienced_bonus_once() -> None:
    # Anna (experienced, with the chair's course) chairs and Bo (experienced, without)
    # is the clerk: nothing to pay. The relaxation in which every class earns the bonus
    # counts it twice (5,000 below); taken as earned where someone experienced may
    # come, it is the optimum.
    shift = replace(_shift(10, SUNDAY, (7, 0), (14, 0)), has_experienced=False, has_lead=False)
    problem = model.Problem(
        1,
        SUNDAY,
        (CHAIR, CLERK),
        (_station(1),),
        (shift,),
        (model.Place(10, CHAIR.id, 1, 1), model.Place(10, CLERK.id, 1, 1)),
        (
            replace(_person(1, [SUNDAY]), experienced=True),
            replace(_person(2, [SUNDAY], barred={SUNDAY: frozenset({CHAIR.id})}), experienced=True),
        ),
    )
    result = optimise(problem, None)
    assert result.optimal and result.total == 0

    assert lower_bound(problem, None) == -NO_EXPERIENCED
    assert bounds.lower_bound(problem, None) == 0


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("rules", ["plain", "every rule"])
def test_the_bound_with_the_presence_rule_stays_below_the_milp(seed: int, rules: str) -> None:
    problem = random_small_problem(seed)
    if rules == "every rule":
        problem = replace(with_courses(problem, seed), min_rest_minutes=14 * 60)

    bound = bounds.lower_bound(problem, None)

    assert lower_bound(problem, None) <= bound <= solve_exact(problem).total


def test_an_open_place_says_which_rule_left_it_empty() -> None:
    problem = _leaderless(True)
    # Bo is gone: nobody free has the chair's course.
    without_bo = replace(problem, candidates=problem.candidates[:1])
    result = optimise(without_bo, None)
    assert unfilled_places(without_bo, result.solution.picks) == [(10, CHAIR.id, 1, "no_course")]
    # Nobody works Saturday at all.
    saturday = replace(_weekend(None), candidates=(_person(2, [SUNDAY], located=False),))
    picks = optimise(saturday, None).solution.picks
    assert unfilled_places(saturday, picks) == [(10, CLERK.id, 1, "nobody_available")]
    # Anna is free on Sunday only after a Saturday too close to it.
    rested = replace(_weekend(11 * 60), candidates=(_person(1, [SATURDAY, SUNDAY]),))
    picks = optimise(rested, None).solution.picks
    # Either day may be the one she works: the other is left open by the rest rule.
    assert [row[2:] for row in unfilled_places(rested, picks)] == [(1, "rest")]


def _town() -> model.Problem:
    """Three shifts on Sunday, two clerks each, six people at known distances: each
    shift's station is nearest to two of them."""
    stations = tuple(model.Station(j, f"S{j}", None, 59.30 + 0.05 * j, 18.0, ()) for j in (1, 2, 3))
    shifts = tuple(
        model.Shift(10 + j, j, SUNDAY, dt.time(7), dt.time(14), ("election_day",), True)
        for j in (1, 2, 3)
    )
    places = tuple(model.Place(10 + j, CLERK.id, 2, 2) for j in (1, 2, 3))
    people = tuple(
        replace(_person(n, [SUNDAY]), latitude=59.30 + 0.05 * ((n + 1) // 2) + 0.001 * n)
        for n in range(1, 7)
    )
    extra = replace(_person(7, [SUNDAY]), latitude=59.30 + 0.05 * 2 + 0.02)
    return model.Problem(1, SUNDAY, (CLERK,), stations, shifts, places, (*people, extra))


def test_a_rerun_after_a_decline_changes_only_the_declined_place() -> None:
    problem = _town()
    first = optimise(problem, None)
    assert first.optimal
    # Person 7 lives between stations 2 and 3 but nobody needs them.
    assert {p.person_id for p in first.solution.picks} == {1, 2, 3, 4, 5, 6}
    declined = next(p for p in first.solution.picks if p.person_id == 3)

    again = rerun(problem, first.solution.picks, {3})

    assert again.changed == [Pick(declined.shift_id, CLERK.id, 7)]
    assert set(again.picks) == set(first.solution.picks) - {declined} | {again.changed[0]}
    assert again.result.optimal
    assert check(problem, again.picks) == []


def test_a_rerun_keeps_the_rest_rule_against_the_places_kept() -> None:
    problem = replace(
        _weekend(11 * 60),
        candidates=(
            _person(1, [SATURDAY, SUNDAY]),
            _person(2, [SUNDAY], located=False, held=2),
            _person(3, [SUNDAY], located=False, held=3),
        ),
    )
    first = optimise(problem, None)
    assert first.solution.picks == [Pick(10, CLERK.id, 1), Pick(11, CLERK.id, 2)]

    # Bo withdraws: Anna (Saturday kept) may not take Sunday, so the next is Cia.
    again = rerun(problem, first.solution.picks, {2})

    assert again.changed == [Pick(11, CLERK.id, 3)]
    assert Pick(10, CLERK.id, 1) in again.picks


@pytest.mark.parametrize("seed", range(6))
def test_it_equals_the_exact_milp_under_every_rule(seed: int) -> None:
    # Courses for the leading roles, the presence rule, and a least rest (14 hours)
    # that the last advance day's evening and election morning break.
    problem = replace(with_courses(random_small_problem(seed), seed), min_rest_minutes=14 * 60)

    result = optimise(problem, None)
    exact = solve_exact(problem)

    assert result.optimal
    assert check(problem, result.solution.picks) == []
    assert result.total == exact.total
