"""Optimiser benchmark: ``make bench ARGS="--only autostaff"``.

On the Stockholm-scale demo municipality (600 districts, 660 stations, 15,000 people;
its next election has about 10,400 open places) it times the optimiser end to end
(load, solve, store the run), reports places, filled, unfilled below minimum and
how many places supply allows at all, and prints the cost breakdown beside a greedy
baseline's. It measures what the nearest-stations pruning costs by solving again with
twice the stations and without pruning (the exact optimum of the flow), and times
applying the whole proposal. The optimiser above the exact model's size is timed to its
first feasible proposal, its first bound over every station (the pruning priced) and
its best, with the gap proven. On small random instances it solves the same model as
an exact MILP (SciPy's HiGHS, no pruning) and asserts the optimiser's cost equals it;
then again with a course required for the leading roles, where it reports how far
the optimiser stays above the MILP (see the solver's docstring on required courses).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from dataclasses import replace
from pathlib import Path

from quart import Quart
from sqlalchemy import func, make_url, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app import create_app
from app.core.audit import Actor
from app.core.db_role import privileges_past_row_security
from app.core.migrations import upgrade_async
from app.core.models import Tenant
from app.core.settings import load_settings
from app.core.tenancy import tenant_scope
from app.demo import LARGE_SLUG, create_demo
from app.demo.recruitment import NEXT_ELECTION
from app.domain.autostaff import problem as model
from app.domain.autostaff.applying import apply_run
from app.domain.autostaff.bounds import lower_bound_and_pairs as presence_bound
from app.domain.autostaff.costs import (
    COST_PARTS,
    CostTable,
    check,
    evaluate,
)
from app.domain.autostaff.exact import optimise
from app.domain.autostaff.incremental import rerun
from app.domain.autostaff.loading import load_problem
from app.domain.autostaff.problem import Problem
from app.domain.autostaff.rerunning import rerun_after_declines
from app.domain.autostaff.runs import create_run
from app.domain.autostaff.solver import DEFAULT_NEAREST, Solution, lower_bound, solve
from app.domain.models import Assignment, Election
from bench.autostaff_baseline import fillable, greedy
from bench.rls_path import APP_ROLE, app_role_url, make_app_role
from tests.support.exact_milp import solve_exact

WIDTH = 44


def line(label: str, value: str) -> None:
    print(f"{label:<{WIDTH}} {value}")


def breakdown_table(columns: dict[str, dict[str, int]]) -> None:
    print(f"{'cost part':<22}" + "".join(f"{name:>18}" for name in columns))
    for part in COST_PARTS:
        print(f"{part:<22}" + "".join(f"{c[part]:>18,}" for c in columns.values()))


def random_small_problem(seed: int, people: int = 40) -> Problem:
    """A few stations (four polling, two advance on three days), ~40 people, every cost
    term in play and supply a little short."""
    rng = random.Random(f"bench-autostaff-{seed}")
    day = dt.date(2029, 6, 10)
    advance_days = [day - dt.timedelta(days=d) for d in (1, 2, 3)]
    roles = (
        model.Role(1, "chair", True, 0),
        model.Role(2, "vice_chair", True, 1),
        model.Role(3, "clerk", False, 2),
    )
    hours = {
        "early": (dt.time(7, 30), dt.time(14)),
        "late": (dt.time(13, 30), dt.time(22)),
        "day": (dt.time(9, 30), dt.time(18, 30)),
    }
    stations, shifts, places = [], [], []
    for j in range(6):
        polling = j < 4
        stations.append(
            model.Station(
                id=j + 1,
                name=f"Station {j + 1}",
                district_id=j % 3 + 1 if polling else None,
                latitude=None if rng.random() < 0.15 else 55.6 + rng.random() * 0.1,
                longitude=13.0 + rng.random() * 0.15,
                languages=("ar",) if rng.random() < 0.25 else (),
                last_team=frozenset(rng.sample(range(1, people + 1), rng.choice((0, 3, 5)))),
            )
        )
        for shift_day in [day] if polling else advance_days:
            for name in ("early", "late") if polling else ("day",):
                starts, ends = hours[name]
                kinds = (
                    ("advance",)
                    if not polling
                    else ("election_day", "counting")
                    if name == "late"
                    else ("election_day",)
                )
                shift_id = len(shifts) + 1
                shifts.append(
                    model.Shift(shift_id, j + 1, shift_day, starts, ends, kinds, rng.random() < 0.1)
                )
                for role in roles:
                    if role.code == "vice_chair" and not polling:
                        continue
                    target = rng.choice((1, 2, 3)) if role.code == "clerk" else 1
                    places.append(model.Place(shift_id, role.id, target, rng.randint(0, target)))
    candidates = []
    for person_id in range(1, people + 1):
        days: dict[dt.date, frozenset[str]] = {}
        if rng.random() < 0.8:
            days[day] = frozenset(("election_day", "counting")[: rng.choice((1, 2))])
        for advance_day in advance_days:
            if rng.random() < 0.3:
                days[advance_day] = frozenset(("advance",))
        if not days:
            continue
        located = rng.random() < 0.75
        candidates.append(
            model.Candidate(
                id=person_id,
                latitude=55.6 + rng.random() * 0.1 if located else None,
                longitude=13.0 + rng.random() * 0.15 if located else None,
                languages=frozenset(rng.sample(("sv", "ar", "so", "fi"), 2)),
                wishes=frozenset(rng.sample((1, 2, 3), rng.choice((0, 0, 1, 2)))),
                experienced=rng.random() < 0.35,
                shifts_held=rng.choice((0, 0, 0, 1)),
                days=days,
            )
        )
    return Problem(1, day, roles, tuple(stations), tuple(shifts), tuple(places), tuple(candidates))


def small_instances(count: int = 20) -> None:
    print(f"-- small instances vs exact MILP (SciPy HiGHS), {count} random, no pruning --")
    print("   (the flow alone leaves out the rest and presence rules: the exact model has them)")
    flow_seconds = milp_seconds = 0.0
    equal = 0
    for seed in range(count):
        problem = random_small_problem(seed)
        start = time.perf_counter()
        solution = solve(problem)
        flow_seconds += time.perf_counter() - start
        start = time.perf_counter()
        exact = solve_exact(problem)
        milp_seconds += time.perf_counter() - start
        total = solution.evaluation.breakdown["total"]
        assert total >= exact.total, (seed, total, exact.total)
        assert check(problem, solution.picks) == []
        equal += total == exact.total
        if seed < 3:
            counts = solution.evaluation.counts
            line(
                f"instance {seed}: {len(problem.stations)} stations, "
                f"{len(problem.candidates)} people",
                f"{counts['places']} places, {counts['filled']} filled; "
                f"flow {total:,}, MILP {exact.total:,}",
            )
    line("no courses: flow alone == MILP optimum", f"{equal} of {count}")
    line("time: flow / MILP, all instances", f"{flow_seconds:.2f} s / {milp_seconds:.2f} s")
    print(f"-- the same {count} with a course for chairs and vice chairs (40 % lack it) --")
    equal = 0
    gaps: list[float] = []
    for seed in range(count):
        problem = with_courses(random_small_problem(seed), seed)
        solution = solve(problem)
        exact = solve_exact(problem)
        total = solution.evaluation.breakdown["total"]
        assert check(problem, solution.picks) == [] and total >= exact.total
        equal += total == exact.total
        gaps.append(100 * (total - exact.total) / max(1, exact.total))
    line("flow alone == MILP optimum", f"{equal} of {count}")
    line(
        "flow's excess over the MILP: mean / max", f"{sum(gaps) / count:.2f} % / {max(gaps):.2f} %"
    )
    exact_under_every_rule(count)


#: The rules the small instances switch on one at a time, then all together.
RULE_SETS = ("none", "courses", "rest 14 h", "all: courses + rest + presence")


def rule_set(problem: Problem, seed: int, rules: str) -> Problem:
    """``problem`` under a set of rules (the presence rule is always in the model)."""
    if rules in ("courses", RULE_SETS[-1]):
        problem = with_courses(problem, seed)
    if rules in ("rest 14 h", RULE_SETS[-1]):
        problem = replace(problem, min_rest_minutes=14 * 60)
    return problem


def exact_under_every_rule(count: int) -> None:
    """The optimiser (flow, then the exact model) against the MILP under each rule set."""
    print(f"-- the optimiser (flow + exact CP-SAT) vs the MILP, {count} random per rule set --")
    for rules in RULE_SETS:
        equal = optimal = pruned_equal = 0
        seconds = 0.0
        for seed in range(count):
            problem = rule_set(random_small_problem(seed), seed, rules)
            start = time.perf_counter()
            result = optimise(problem, None)
            seconds += time.perf_counter() - start
            exact = solve_exact(problem)
            assert check(problem, result.solution.picks) == []
            assert result.total >= exact.total
            equal += result.total == exact.total
            optimal += result.optimal
            # Pruned to the one nearest station and priced: still a bound on the MILP.
            bound = presence_bound(problem, 1)[0]
            assert bound <= exact.total, (seed, rules, bound, exact.total)
            pruned_equal += bound == presence_bound(problem, None)[0]
        line(
            f"rules: {rules}",
            f"== MILP {equal} of {count}, proved optimal {optimal}; {seconds / count:.2f} s each",
        )
        line(
            "  bound pruned to 1 station, priced",
            f"<= MILP {count} of {count}, == unpruned bound {pruned_equal} of {count}",
        )


def with_courses(problem: Problem, seed: int) -> Problem:
    """``problem`` with 40 % of the person-days barred from the leading roles."""
    rng = random.Random(f"bench-courses-{seed}")
    lead = frozenset(role.id for role in problem.roles if role.leads_station)
    candidates = tuple(
        replace(c, barred={day: lead for day in c.days if rng.random() < 0.4})
        for c in problem.candidates
    )
    return replace(problem, candidates=candidates)


async def run(database_url: str | None, data_dir: Path, time_limit: float = 60.0) -> None:
    print("== autostaff (large demo municipality) ==")
    print('command: make bench ARGS="--only autostaff"')
    owner = await large_demo(database_url, data_dir)
    app = await as_app_role(owner, database_url, data_dir)
    session_factory = app.extensions["stemma"].session_factory
    actor = Actor.system("bench")
    async with session_factory() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == LARGE_SLUG))
        assert tenant is not None
        with tenant_scope(tenant.id):
            election_id = await session.scalar(
                select(Election.id).where(Election.name == NEXT_ELECTION["name"])
            )
            assert election_id is not None
            start, cpu = time.perf_counter(), time.process_time()
            created = await create_run(session, actor, election_id)
            line(
                "optimiser end to end (load + solve + store)",
                f"{time.perf_counter() - start:7.2f} s (CPU {time.process_time() - cpu:.2f} s, "
                f"{'optimal' if created.costs['optimal'] else 'within'} "
                f"{created.costs['gap_percent']:.4f} % shown)",
            )
            problem, table, solution = await time_the_parts(session, election_id)
            report_exact(problem, table, time_limit)
            report_rerun(problem, table)
            report_proposal(problem, table, solution)
            report_pruning(problem, table, solution)
            await time_apply(session, actor, created.id, election_id)
            await time_rerun_after_decline(session, actor, created.id, election_id)
    await app.extensions["stemma"].engine.dispose()
    if app is not owner:
        await owner.extensions["stemma"].engine.dispose()
    small_instances()


async def as_app_role(owner: Quart, database_url: str | None, data_dir: Path) -> Quart:
    """On PostgreSQL, an app connected as an ordinary role the row policies bind (no
    superuser, no BYPASSRLS, not the tables' owner), as production's; checked, and said.
    On SQLite, the same app."""
    if not database_url or not database_url.startswith("postgresql"):
        line("database role", "SQLite (no row-level security)")
        return owner
    owner_url = make_url(database_url).set(drivername="postgresql+asyncpg")
    await make_app_role(owner_url.render_as_string(hide_password=False))
    settings = load_settings(
        data_dir=data_dir,
        database_url=app_role_url(database_url),
        secret_key="a" * 40,
        run_worker_in_process=False,
    )
    app = create_app(settings)
    engine = app.extensions["stemma"].engine
    found = await privileges_past_row_security(engine)
    assert found == [], found
    async with engine.connect() as connection:
        forced = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_class WHERE relrowsecurity AND relforcerowsecurity"
                " AND relnamespace = current_schema()::regnamespace"
            )
        )
    line("database role", f"{APP_ROLE} (ordinary; row security forced on {forced} tables)")
    return app


async def large_demo(database_url: str | None, data_dir: Path) -> Quart:
    """An app on a migrated database holding the large demo municipality."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'autostaff.db'}"
    await upgrade_async(url)
    settings = load_settings(
        data_dir=data_dir, database_url=url, secret_key="a" * 40, run_worker_in_process=False
    )
    app = create_app(settings)
    start = time.perf_counter()
    await create_demo(app.extensions["stemma"].session_factory, size="large")
    line("make the large demo municipality", f"{time.perf_counter() - start:7.2f} s")
    return app


async def time_the_parts(
    session: AsyncSession, election_id: int
) -> tuple[Problem, CostTable, Solution]:
    """Load, cost table and solve timed one by one; and the gap to the relaxation."""
    start = time.perf_counter()
    problem = await load_problem(session, election_id)
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    table = CostTable(problem)
    tabled = time.perf_counter() - start
    start = time.perf_counter()
    solution = solve(problem, DEFAULT_NEAREST, table)
    solved = time.perf_counter() - start
    line("  of which: load the problem", f"{loaded:7.2f} s")
    line("  of which: cost table (travel matrix)", f"{tabled:7.2f} s")
    line(
        f"  of which: min-cost flow, {DEFAULT_NEAREST} nearest",
        f"{solved:7.2f} s  ({solution.arcs:,} arcs, {solution.rounds} round(s))",
    )
    barred = sum(1 for c in problem.candidates for day in c.days if day in c.barred)
    line(
        "person-days barred from a role (courses)",
        f"{barred:,} of {sum(len(c.days) for c in problem.candidates):,}",
    )
    start = time.perf_counter()
    bound = lower_bound(problem, DEFAULT_NEAREST, table)
    gap = solution.evaluation.breakdown["total"] - bound
    line(
        "relaxation bound (a bonus per class: loose)",
        f"{bound:,}, {gap:,} ({100 * gap / max(1, bound):.4f} %)  "
        f"[{time.perf_counter() - start:.2f} s]",
    )
    start, cpu = time.perf_counter(), time.process_time()
    bound, _found = presence_bound(problem, DEFAULT_NEAREST, table, earned_only=True)
    gap = solution.evaluation.breakdown["total"] - bound
    line(
        "bound with the presence rule, every station",
        f"{bound:,}, {gap:,} ({100 * gap / max(1, bound):.4f} %)  "
        f"[{time.perf_counter() - start:.2f} s, CPU {time.process_time() - cpu:.2f} s]",
    )
    return problem, table, solution


def load_average() -> str:
    """The machine's load over 1, 5 and 15 minutes (it is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} cores"


def report_exact(problem: Problem, table: CostTable, time_limit: float) -> None:
    """The exact model on the large case: the first feasible proposal, then the best in
    ``time_limit`` with its proven gap; again with each rule switched off."""
    print(f"-- exact model (CP-SAT from the flow), time limit {time_limit:.0f} s --")
    line("load average", load_average())
    no_lead = tuple(replace(role, leads_station=False) for role in problem.roles)
    no_courses = tuple(replace(c, barred={}) for c in problem.candidates)
    for rules, variant in (
        ("every rule", problem),
        ("without the rest rule", replace(problem, min_rest_minutes=None)),
        ("without the presence rule", replace(problem, roles=no_lead)),
        ("without required courses", replace(problem, candidates=no_courses)),
        (
            "no rule (rest, presence, courses off)",
            replace(problem, min_rest_minutes=None, roles=no_lead, candidates=no_courses),
        ),
    ):
        start, cpu = time.perf_counter(), time.process_time()
        result = optimise(problem=variant, table=table, time_limit=time_limit)
        cpu = time.process_time() - cpu
        line(f"{rules}: first feasible", f"{result.first_feasible:7.2f} s")
        if result.proven_at is not None:
            line(f"{rules}: first bound (every station)", f"{result.proven_at:7.2f} s")
        quality = "optimal" if result.optimal else f"gap {100 * result.gap:.4f} % at the limit"
        line(
            f"{rules}: best",
            f"{time.perf_counter() - start:7.2f} s (CPU {cpu:.2f} s)  {quality}; "
            f"total {result.total:,}, "
            f"bound {result.bound:,}, start {result.start_total:,}",
        )
    line("load average", load_average())


def report_rerun(problem: Problem, table: CostTable) -> None:
    """A re-run after one person declines: only their place changes."""
    first = solve(problem, DEFAULT_NEAREST, table).picks
    for n in (0, len(first) // 2, len(first) - 1):
        person_id = first[n].person_id
        start, cpu = time.perf_counter(), time.process_time()
        again = rerun(problem, first, {person_id}, table)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        kept = set(first) - {p for p in first if p.person_id == person_id}
        assert kept <= set(again.picks)
        line(
            f"re-run after one decline (pick {n})",
            f"{seconds:7.3f} s, CPU {cpu:.3f} s  ({len(again.changed)} place(s) changed, "
            f"{'optimal' if again.result.optimal else 'not proved'})",
        )


def report_proposal(problem: Problem, table: CostTable, solution: Solution) -> None:
    """The problem's size, what the proposal fills, and its costs beside the greedy
    baseline's."""
    line(
        "problem",
        f"{len(problem.candidates):,} candidates, {len(problem.stations)} stations, "
        f"{len(problem.shifts):,} shifts",
    )
    counts = solution.evaluation.counts
    line("open places", f"{counts['places']:,}")
    line("places supply allows (max flow, no costs)", f"{fillable(problem):,}")
    line("filled by the optimiser", f"{counts['filled']:,}")
    line("unfilled below minimum", f"{counts['unfilled_below_minimum']:,}")
    assert check(problem, solution.picks) == []
    start = time.perf_counter()
    baseline = evaluate(problem, greedy(problem, table), table)
    line("greedy baseline", f"{time.perf_counter() - start:7.2f} s")
    line(
        "greedy: filled / unfilled below minimum",
        f"{baseline.counts['filled']:,} / {baseline.counts['unfilled_below_minimum']:,}",
    )
    breakdown_table({"optimiser": solution.evaluation.breakdown, "greedy": baseline.breakdown})


def report_pruning(problem: Problem, table: CostTable, solution: Solution) -> None:
    """What the nearest-stations pruning costs: solved again wider and without it."""
    print("-- what the nearest-stations pruning costs --")
    columns = {f"nearest {DEFAULT_NEAREST}": solution.evaluation.breakdown}
    for nearest in (DEFAULT_NEAREST * 2, None):
        start = time.perf_counter()
        wider = solve(problem, nearest, table)
        label = "no pruning" if nearest is None else f"nearest {nearest}"
        line(
            f"min-cost flow, {label}",
            f"{time.perf_counter() - start:7.2f} s  ({wider.arcs:,} arcs)",
        )
        columns[label] = wider.evaluation.breakdown
    breakdown_table(columns)
    gap = columns[f"nearest {DEFAULT_NEAREST}"]["total"] - columns["no pruning"]["total"]
    line(
        "pruning's excess over the exact optimum",
        f"{gap:,} ({100 * gap / max(1, columns['no pruning']['total']):.4f} %)",
    )


async def time_apply(session: AsyncSession, actor: Actor, run_id: int, election_id: int) -> None:
    """Apply the whole proposal of the run made end to end, in one transaction."""
    start = time.perf_counter()
    written, skipped = await apply_run(session, actor, run_id, None)
    applied = time.perf_counter() - start
    total = await session.scalar(
        select(func.count(Assignment.id)).where(
            Assignment.election_id == election_id, Assignment.source == "optimiser"
        )
    )
    line(
        "apply the whole proposal (one transaction)",
        f"{applied:7.2f} s  ({written:,} written, {len(skipped)} skipped)",
    )
    assert total == written


async def time_rerun_after_decline(
    session: AsyncSession, actor: Actor, run_id: int, election_id: int
) -> None:
    """One person declines an applied place; the planner's re-run, load included."""
    declined = await session.scalar(
        select(Assignment)
        .where(Assignment.election_id == election_id, Assignment.source == "optimiser")
        .order_by(Assignment.id)
        .offset(1000)
        .limit(1)
    )
    assert declined is not None
    declined.state = "declined"
    await session.commit()
    start, cpu = time.perf_counter(), time.process_time()
    new = await rerun_after_declines(session, actor, run_id)
    line(
        "re-run after one decline (load + solve + store)",
        f"{time.perf_counter() - start:7.2f} s, CPU {time.process_time() - cpu:.2f} s  "
        f"({len(new.items)} place(s) changed, {'optimal' if new.costs['optimal'] else 'not proved'})",
    )
    assert [(i["shift_id"], i["role_type_id"]) for i in new.items] in (
        [],
        [(declined.shift_id, declined.role_type_id)],
    )
