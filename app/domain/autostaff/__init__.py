"""The optimiser: proposes people for every open place of an election.

- ``problem``: the election's open places and candidates as plain data.
- ``loading``: reads the problem from the database; the hard rules decide who is a
  candidate for what (one shift per person and day, age, availability, courses).
- ``costs``: the cost model with its numbers (unfilled places, travel, last
  election's team, languages, an experienced person per shift, a fair spread).
- ``solver``: the model as a min-cost flow, solved by OR-Tools; deterministic. Its
  parts: ``role_classes`` (required courses as bits), ``choices`` (which person-day
  may go to which shift: the nearest-stations pruning), ``network`` (the nodes and
  arcs, a kind of cost at a time) and ``picks`` (reading the flow back).
- ``tests/support/exact_milp.py`` (outside the app): the same model as a MILP
  (SciPy/HiGHS, a dev dependency), the reference the tests and the bench compare the
  flow against.
- ``exact``: the optimiser's answer under every rule: the flow as the first feasible
  proposal, then ``exact_model`` (CP-SAT, every rule including the rest between two
  proposed places on consecutive days and the chair-or-vice-chair presence rule) to
  optimality or a time limit, with the gap to a proven bound; ``bounds``: the proven
  bound at any scale (the flow's relaxations with the presence rule in them), over
  every station: ``pricing`` prices the pairs the pruning leaves out against the
  flow's potentials and adds those below zero (column generation).
- ``incremental``: after a decline or a withdrawal, only the freed places solved again,
  everyone else's kept; ``rerunning``: the planner's re-run of a proposal after
  declines, as a new proposal of the freed places; ``unfilled``: the rule that left
  each open place empty.
- ``runs``: the use cases: create a run, read it, discard it; ``applying``: apply all
  or some of it, each item checked again against the database as it is then.
"""

from app.domain.autostaff.applying import apply_run
from app.domain.autostaff.costs import COST_PARTS, COUNT_KEYS, Pick, evaluate
from app.domain.autostaff.loading import load_problem
from app.domain.autostaff.problem import Problem
from app.domain.autostaff.runs import (
    create_run,
    discard_run,
    get_run,
    list_runs,
    pick_reasons,
)
from app.domain.autostaff.solver import DEFAULT_NEAREST, Solution, solve

__all__ = [
    "COST_PARTS",
    "COUNT_KEYS",
    "DEFAULT_NEAREST",
    "Pick",
    "Problem",
    "Solution",
    "apply_run",
    "create_run",
    "discard_run",
    "evaluate",
    "get_run",
    "list_runs",
    "load_problem",
    "pick_reasons",
    "solve",
]
