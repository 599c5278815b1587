"""Re-optimising only what a change touches: a decline or a withdrawal.

When people of a proposal decline or withdraw (``released``), their places open again
and they are no longer candidates. Everyone else keeps their place: their picks are
fixed, and a small problem is solved exactly with only the freed places, everyone
else as candidates (their days with a kept place taken, their kept places counted in
the spread, and the rest rule held against those places), and the shifts' experienced
person and chair or vice chair counted from the kept picks. Its optimum is the whole
problem's optimum with the kept picks fixed. The problem is a handful of places, so it
is solved in a fraction of a second.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from app.domain.autostaff.costs import CostTable, Evaluation, Pick, evaluate
from app.domain.autostaff.exact import Result, optimise
from app.domain.autostaff.problem import Candidate, Place, Problem, Shift

#: Seconds the small problem may search (it is proved optimal long before).
TIME_LIMIT = 2.0


@dataclass(frozen=True)
class Rerun:
    """The proposal after the change: every pick, the ones that changed, and their cost."""

    picks: list[Pick]
    #: Picks new in the proposal (the freed places filled again).
    changed: list[Pick]
    evaluation: Evaluation
    #: The small problem's solve (its bound and whether it is optimal).
    result: Result
    seconds: float
    #: The small problem solved: the freed places only.
    problem: Problem


def freed_problem(
    problem: Problem, kept: Sequence[Pick], freed: Sequence[Pick], released: Collection[int]
) -> Problem:
    """The small problem: the places of ``freed`` only, with ``kept`` fixed.

    ``problem`` may also be the election as loaded after the change, the kept picks
    already assignments in it (``kept`` empty): a freed place filled by hand since is
    open no more and stays out."""
    count: dict[tuple[int, int], int] = {}
    for pick in freed:
        count[(pick.shift_id, pick.role_type_id)] = (
            count.get((pick.shift_id, pick.role_type_id), 0) + 1
        )
    kept_in: dict[tuple[int, int], int] = {}
    for pick in kept:
        kept_in[(pick.shift_id, pick.role_type_id)] = (
            kept_in.get((pick.shift_id, pick.role_type_id), 0) + 1
        )
    places = [
        Place(
            p.shift_id,
            p.role_type_id,
            min(count[key], p.open),
            min(count[key], p.open, max(0, p.below_minimum - kept_in.get(key, 0))),
        )
        for p in problem.places
        if (key := (p.shift_id, p.role_type_id)) in count
    ]
    shift_ids = {place.shift_id for place in places}
    experienced_on = {p.shift_id for p in kept if problem.candidate(p.person_id).experienced}
    led = {p.shift_id for p in kept if problem.role(p.role_type_id).leads_station}
    shifts = [
        replace(
            shift,
            has_experienced=shift.has_experienced or shift.id in experienced_on,
            has_lead=shift.has_lead or shift.id in led,
        )
        for shift in problem.shifts
        if shift.id in shift_ids
    ]
    mine: dict[int, list[int]] = {}
    for pick in kept:
        mine.setdefault(pick.person_id, []).append(pick.shift_id)
    # Only who could work a freed place matters: the others are left out unchanged.
    candidates = [
        _with_kept(problem, candidate, mine.get(candidate.id, []), shift_ids)
        for candidate in problem.candidates
        if candidate.id not in released and any(candidate.can_work(s) for s in shifts)
    ]
    station_ids = {shift.station_id for shift in shifts}
    return replace(
        problem,
        stations=tuple(s for s in problem.stations if s.id in station_ids),
        shifts=tuple(shifts),
        places=tuple(places),
        candidates=tuple(c for c in candidates if any(c.can_work(s) for s in shifts)),
    )


def _with_kept(
    problem: Problem, candidate: Candidate, kept_shifts: list[int], shift_ids: set[int]
) -> Candidate:
    """The candidate with their kept places: those days taken, the shifts too close to
    them unfit, and counted as held."""
    if not kept_shifts:
        return candidate
    days_taken = {problem.shift(s).day for s in kept_shifts}
    unfit = {s for s in shift_ids for k in kept_shifts if problem.too_close(k, s)}
    return replace(
        candidate,
        days={day: kinds for day, kinds in candidate.days.items() if day not in days_taken},
        shifts_held=candidate.shifts_held + len(kept_shifts),
        unfit_shifts=candidate.unfit_shifts | frozenset(unfit),
    )


def held_by_pending(
    problem: Problem, pending: Mapping[int, Sequence[Shift]]
) -> tuple[Problem, set[int]]:
    """The problem with the places of proposals still pending (``pending``: per person,
    the shifts proposed to them) held as if accepted: that day is not free, the shifts
    too close to it are unfit, and the place counts in the spread. So a re-run never
    proposes someone a pending proposal already gives that day, and accepting both
    cannot book anyone twice. Also the candidates this keeps from a shift of the
    problem they could otherwise work."""
    if not pending:
        return problem, set()
    known = {shift.id for shift in problem.shifts}
    # The pending shifts are read only for their days and times (the rest rule).
    others = {s.id: s for shifts in pending.values() for s in shifts if s.id not in known}
    lookup = replace(problem, shifts=problem.shifts + tuple(others.values()))
    candidates: list[Candidate] = []
    held_back: set[int] = set()
    for candidate in problem.candidates:
        shifts = pending.get(candidate.id)
        if not shifts:
            candidates.append(candidate)
            continue
        held = _with_kept(lookup, candidate, [s.id for s in shifts], known)
        if any(candidate.can_work(s) and not held.can_work(s) for s in problem.shifts):
            held_back.add(candidate.id)
        if held.days:
            candidates.append(held)
    return replace(problem, candidates=tuple(candidates)), held_back


def rerun(
    problem: Problem,
    previous: Sequence[Pick],
    released: Collection[int],
    table: CostTable | None = None,
) -> Rerun:
    """The proposal after the ``released`` people left it: their places filled again
    at the least cost, everyone else's kept."""
    started = time.perf_counter()
    freed = [pick for pick in previous if pick.person_id in released]
    kept = [pick for pick in previous if pick.person_id not in released]
    small = freed_problem(problem, kept, freed, released)
    result = optimise(small, None, time_limit=TIME_LIMIT)
    picks = sorted(
        kept + result.solution.picks, key=lambda p: (p.shift_id, p.role_type_id, p.person_id)
    )
    # The picks of everyone but the released, priced on the whole problem.
    evaluation = evaluate(problem, picks, table)
    return Rerun(
        picks, result.solution.picks, evaluation, result, time.perf_counter() - started, small
    )
