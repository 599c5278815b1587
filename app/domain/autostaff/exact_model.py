"""Every rule of the optimiser as one CP-SAT model (OR-Tools), over the flow's choices.

The min-cost flow (``solver``) is exact for most of the model, but not for three rules
that are no longer a flow: the experienced-person bonus when required courses split a
shift's people into classes, the least rest between two places proposed on
consecutive days (a rule over pairs of a person's days), and the presence rule (a
chair or vice chair on every shift, ``costs.NO_LEAD``). This model states all of them,
with the rest, as integer sums::

    x[k]        choice k (a person-day -> shift, see ``choices``) is taken     0/1
    t[s, c, p]  people of class c on shift s in place p (a role)               integer
    filled[p]   = sum over c of t[s, c, p]  <=  open[p]
    below[p]    >= below_minimum[p] - filled[p]                               integer >= 0
    z[s]        <= sum of experienced x on s                                   0/1
    lead[s]     <= sum of filled leading places on s                           0/1
    tier[i, k]  sum over k = sum of person i's x (the spread's convex tiers)   0/1

    one shift a day:      sum of a person-day's x <= 1
    classes:              sum over p of t[s, c, p] = sum of x of class c on s
    rest:                 x-sum(person, day, window) + x-sum(person, next day, window') <= 1
                          for every two shift windows too close together (``Problem.too_close``)

and the objective is ``costs.evaluate``'s total exactly (checked after each solve).
The choices are the flow's (the nearest-stations pruning; ``nearest=None`` for none),
so CP-SAT's "optimal" means optimal over the same choices the flow has (``exact``
solves a small problem with no pruning, and bounds a pruned one over every station).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from app.domain.autostaff.choices import Choices
from app.domain.autostaff.costs import (
    NO_EXPERIENCED,
    NO_LEAD,
    SPREAD_STEP,
    UNFILLED_MINIMUM,
    UNFILLED_TARGET,
    CostTable,
    Pick,
)
from app.domain.autostaff.problem import Problem
from app.domain.autostaff.role_classes import RoleClasses
from app.domain.autostaff.solver import prepare

Window = tuple[dt.date, dt.time, dt.time]


@dataclass
class ExactModel:
    """The CP-SAT model of one problem and the variables to read it back."""

    problem: Problem
    choices: Choices
    courses: RoleClasses
    model: cp_model.CpModel
    x: list[cp_model.IntVar]
    #: Per shift index: {(class bits, place index): t variable}.
    transport: dict[int, dict[tuple[int, int], cp_model.IntVar]]
    filled: list[cp_model.IntVar]
    #: The objective's constant: every wanted shift's bonus and every watched shift's
    #: presence penalty, counted as if missed (their variables subtract them).
    constant: int = 0
    #: The part of the constant no proposal avoids (watched shifts nobody may lead).
    certain: int = 0
    place_index: dict[tuple[int, int], int] = field(default_factory=dict)
    choice_index: dict[tuple[int, int], int] = field(default_factory=dict)
    #: Auxiliary variables and their value for a set of picks (for the hint).
    helpers: list[tuple[cp_model.IntVar, str, tuple[int, int]]] = field(default_factory=list)


def build_model(problem: Problem, table: CostTable, nearest: int | None) -> ExactModel:
    """The model for ``problem`` over the flow's choices with ``nearest`` stations."""
    courses, choices, wanted, _classes = prepare(problem, nearest, table)
    model = cp_model.CpModel()
    count = len(choices.shift_of)
    x = [model.new_bool_var(f"x{k}") for k in range(count)]
    built = ExactModel(problem, choices, courses, model, x, {}, [])
    built.place_index = {(p.shift_id, p.role_type_id): n for n, p in enumerate(problem.places)}
    built.choice_index = {
        (i, s): k
        for k, (i, s) in enumerate(
            zip(choices.candidate_of.tolist(), choices.shift_of.tolist(), strict=True)
        )
    }
    terms: list[tuple[cp_model.IntVar, int]] = [
        (x[k], int(cost)) for k, cost in enumerate(choices.costs.tolist()) if cost
    ]
    _one_a_day(built)
    terms += _spread(built)
    terms += _places(built)
    terms += _experienced(built, wanted)
    terms += _presence(built)
    _rest(built)
    variables = [v for v, _c in terms]
    coefficients = [c for _v, c in terms]
    model.minimize(cp_model.LinearExpr.weighted_sum(variables, coefficients))
    return built


def _one_a_day(built: ExactModel) -> None:
    """At most one shift per person-day (choices are sorted by person-day)."""
    tails = built.choices.tails
    bounds = np.flatnonzero(np.diff(tails)) + 1
    starts = np.concatenate(([0], bounds)).tolist()
    ends = np.concatenate((bounds, [len(tails)])).tolist()
    for start, end in zip(starts, ends, strict=True):
        if end - start > 1:
            built.model.add_at_most_one(built.x[start:end])


def _spread(built: ExactModel) -> list[tuple[cp_model.IntVar, int]]:
    """The spread: a person's k-th shift costs 2,000 x (held + k - 1), as tiers."""
    choices, model = built.choices, built.model
    terms: list[tuple[cp_model.IntVar, int]] = []
    people, first, per_person = np.unique(
        choices.candidate_of, return_index=True, return_counts=True
    )
    days_of = dict(zip(*np.unique(choices.person_days[:, 0], return_counts=True), strict=True))
    for i, start, size in zip(people.tolist(), first.tolist(), per_person.tolist(), strict=True):
        held = built.problem.candidates[i].shifts_held
        mine = built.x[start : start + size]
        days = int(days_of[i])
        if days == 1:
            if held:
                terms.extend((v, SPREAD_STEP * held) for v in mine)
            continue
        tiers = [model.new_bool_var(f"tier{i}_{k}") for k in range(days)]
        model.add(sum(tiers) == sum(mine))
        for k in range(days - 1):
            model.add_implication(tiers[k + 1], tiers[k])
        built.helpers.extend((tier, "tier", (i, k)) for k, tier in enumerate(tiers))
        terms.extend((tier, SPREAD_STEP * (held + k)) for k, tier in enumerate(tiers) if held + k)
    return terms


def _places(built: ExactModel) -> list[tuple[cp_model.IntVar, int]]:
    """Each shift's people, class by class, into the places their class may fill; an
    empty place costs 10,000, and one below the minimum 1,000,000."""
    problem, choices, courses, model = built.problem, built.choices, built.courses, built.model
    places_of: dict[int, list[int]] = {}
    shift_index = {shift.id: s for s, shift in enumerate(problem.shifts)}
    for n, place in enumerate(problem.places):
        places_of.setdefault(shift_index[place.shift_id], []).append(n)
    members: dict[tuple[int, int], list[int]] = {}
    for k, (s, bits) in enumerate(
        zip(choices.shift_of.tolist(), choices.bits.tolist(), strict=True)
    ):
        members.setdefault((s, bits), []).append(k)
    into: dict[int, list[cp_model.IntVar]] = {n: [] for n in range(len(problem.places))}
    for (s, bits), ks in sorted(members.items()):
        transport = built.transport.setdefault(s, {})
        for n in places_of[s]:
            place = problem.places[n]
            if courses.allows(bits, place.role_type_id):
                t = model.new_int_var(0, min(place.open, len(ks)), f"t{s}_{bits}_{n}")
                transport[(bits, n)] = t
                into[n].append(t)
        model.add(
            sum(transport[(b, n)] for (b, n) in transport if b == bits)
            == cp_model.LinearExpr.sum([built.x[k] for k in ks])
        )
    terms: list[tuple[cp_model.IntVar, int]] = []
    for n, place in enumerate(problem.places):
        filled = model.new_int_var(0, place.open, f"filled{n}")
        model.add(filled == cp_model.LinearExpr.sum(into[n]))
        built.filled.append(filled)
        built.constant += UNFILLED_TARGET * place.open
        terms.append((filled, -UNFILLED_TARGET))
        if place.below_minimum:
            below = model.new_int_var(0, place.below_minimum, f"below{n}")
            model.add(below >= place.below_minimum - filled)
            built.helpers.append((below, "below", (n, 0)))
            terms.append((below, UNFILLED_MINIMUM - UNFILLED_TARGET))
    return terms


def _experienced(built: ExactModel, wanted: np.ndarray) -> list[tuple[cp_model.IntVar, int]]:
    """A shift without anyone experienced costs 5,000: ``z`` earns it back."""
    problem, choices = built.problem, built.choices
    experienced = np.array([c.experienced for c in problem.candidates], dtype=bool)
    on_shift: dict[int, list[int]] = {}
    for k in np.flatnonzero(experienced[choices.candidate_of]).tolist():
        on_shift.setdefault(int(choices.shift_of[k]), []).append(k)
    terms: list[tuple[cp_model.IntVar, int]] = []
    for s in np.flatnonzero(wanted).tolist():
        built.constant += NO_EXPERIENCED
        ks = on_shift.get(s)
        if not ks:
            continue
        z = built.model.new_bool_var(f"z{s}")
        built.model.add(z <= sum(built.x[k] for k in ks))
        built.helpers.append((z, "experienced", (s, 0)))
        terms.append((z, -NO_EXPERIENCED))
    return terms


def _presence(built: ExactModel) -> list[tuple[cp_model.IntVar, int]]:
    """A watched shift with nobody in a leading role costs 50,000: ``lead`` earns it."""
    problem = built.problem
    watched = problem.lead_shifts()
    terms: list[tuple[cp_model.IntVar, int]] = []
    for s, shift in enumerate(problem.shifts):
        if shift.id not in watched:
            continue
        built.constant += NO_LEAD
        places = [
            n
            for n, place in enumerate(problem.places)
            if place.shift_id == shift.id and problem.role(place.role_type_id).leads_station
        ]
        reachable = {n for (_bits, n) in built.transport.get(s, {})}
        if not reachable.intersection(places):
            # Nobody may fill a leading role here: the penalty is certain.
            built.certain += NO_LEAD
            continue
        leading = [built.filled[n] for n in places]
        lead = built.model.new_bool_var(f"lead{s}")
        built.model.add(lead <= sum(leading))
        built.helpers.append((lead, "lead", (shift.id, 0)))
        terms.append((lead, -NO_LEAD))
    return terms


def conflicting_windows(problem: Problem) -> set[tuple[Window, Window]]:
    """Pairs of shift windows (day, start, end) on different days one person may not
    both work (too little rest between them, or overlapping)."""
    first_of: dict[Window, int] = {}
    for shift in problem.shifts:
        first_of.setdefault((shift.day, shift.starts_at, shift.ends_at), shift.id)
    pairs: set[tuple[Window, Window]] = set()
    for a, first in first_of.items():
        for b, second in first_of.items():
            if a < b and problem.too_close(first, second):
                pairs.add((a, b))
    return pairs


def _rest(built: ExactModel) -> None:
    """No two of a person's choices in windows too close together."""
    problem, choices = built.problem, built.choices
    pairs = conflicting_windows(problem)
    if not pairs:
        return
    window_of = [(s.day, s.starts_at, s.ends_at) for s in problem.shifts]
    windows_of: dict[int, dict[Window, list[int]]] = {}
    for k, (i, s) in enumerate(
        zip(choices.candidate_of.tolist(), choices.shift_of.tolist(), strict=True)
    ):
        windows_of.setdefault(i, {}).setdefault(window_of[s], []).append(k)
    for mine in windows_of.values():
        if len(mine) < 2:
            continue
        for a, b in pairs:
            if a in mine and b in mine:
                built.model.add(sum(built.x[k] for k in mine[a] + mine[b]) <= 1)


def hint(built: ExactModel, picks: list[Pick]) -> None:
    """Start the search from ``picks`` (which keep every hard rule)."""
    problem, choices = built.problem, built.choices
    candidate_index = {c.id: i for i, c in enumerate(problem.candidates)}
    shift_index = {shift.id: s for s, shift in enumerate(problem.shifts)}
    taken: dict[int, Pick] = {}
    for pick in picks:
        k = built.choice_index.get((candidate_index[pick.person_id], shift_index[pick.shift_id]))
        if k is not None:
            taken[k] = pick
    model = built.model
    model.clear_hints()
    for k, v in enumerate(built.x):
        model.add_hint(v, k in taken)
    counts: dict[tuple[int, int, int], int] = {}
    filled = [0] * len(problem.places)
    for k, pick in taken.items():
        n = built.place_index[(pick.shift_id, pick.role_type_id)]
        key = (int(choices.shift_of[k]), int(choices.bits[k]), n)
        counts[key] = counts.get(key, 0) + 1
        filled[n] += 1
    for s, transport in built.transport.items():
        for (bits, n), t in transport.items():
            model.add_hint(t, counts.get((s, bits, n), 0))
    for n, variable in enumerate(built.filled):
        model.add_hint(variable, filled[n])
    _hint_helpers(built, taken, filled)


def _hint_helpers(built: ExactModel, taken: dict[int, Pick], filled: list[int]) -> None:
    problem, choices = built.problem, built.choices
    per_person: dict[int, int] = {}
    experienced_on: set[int] = set()
    for k in taken:
        i = int(choices.candidate_of[k])
        per_person[i] = per_person.get(i, 0) + 1
        if problem.candidates[i].experienced:
            experienced_on.add(int(choices.shift_of[k]))
    led = {
        problem.places[n].shift_id
        for n, got in enumerate(filled)
        if got and problem.role(problem.places[n].role_type_id).leads_station
    }
    for variable, kind, (first, second) in built.helpers:
        if kind == "tier":
            value = int(second < per_person.get(first, 0))
        elif kind == "below":
            value = max(0, problem.places[first].below_minimum - filled[first])
        elif kind == "experienced":
            value = int(first in experienced_on)
        else:
            value = int(first in led)
        built.model.add_hint(variable, value)


def read_picks(built: ExactModel, solver: cp_model.CpSolver) -> list[Pick]:
    """The solved picks: each shift's people class by class into the places their class
    filled, leading roles to the most experienced."""
    problem, choices = built.problem, built.choices
    people_of: dict[tuple[int, int], list[int]] = {}
    for k, variable in enumerate(built.x):
        if solver.boolean_value(variable):
            key = (int(choices.shift_of[k]), int(choices.bits[k]))
            people_of.setdefault(key, []).append(int(choices.candidate_of[k]))
    picks: list[Pick] = []
    for (s, bits), people in sorted(people_of.items()):
        staff = sorted(
            (problem.candidates[i] for i in people), key=lambda c: (-c.experience_rank, c.id)
        )
        slots = []
        for (b, n), t in built.transport[s].items():
            if b == bits:
                slots.extend([problem.places[n].role_type_id] * solver.value(t))
        slots.sort(key=lambda r: (not problem.role(r).leads_station, problem.role(r).sort_order, r))
        shift_id = problem.shifts[s].id
        picks.extend(
            Pick(shift_id, role_id, candidate.id)
            for role_id, candidate in zip(slots, staff, strict=True)
        )
    picks.sort(key=lambda p: (p.shift_id, p.role_type_id, p.person_id))
    return picks
