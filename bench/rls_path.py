"""Where the check-in path's database time goes under the row policies: ``--only rls``.

Run on a Stockholm-sized election day (PostgreSQL at 127.0.0.1:5432, trust auth)::

    createdb -h 127.0.0.1 -U postgres stemma_rls
    STEMMA_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/stemma_rls \\
        STEMMA_ALLOW_PRIVILEGED_DATABASE_ROLE=1 \\
        sh -c '.venv/bin/stemma migrate && .venv/bin/stemma demo --size large --election-day today'
    make bench ARGS="--only rls --database-url postgresql://postgres@127.0.0.1:5432/stemma_rls"

The URL is the owner's (the role that migrated). The benchmark makes an ordinary role
(``stemma_bench_app``: no superuser, no BYPASSRLS, not the owner; the row policies bind
it, as production's app role) and runs the same work as each: ``--checkins`` check-ins
(``ops.check_in`` by a coordinator, each a different place on today's shifts), a live
dashboard update for each (``ops.live_update``, the counters kept as the hub keeps
them) and a few whole dashboards (``ops.dashboard``). It times each use case (p50 and
p99, wall: on a shared machine mostly its load) and, for every distinct read those ran,
``EXPLAIN (ANALYZE, BUFFERS)`` as the same role, the least of three runs: the reads'
execution time per call of each use case (far less disturbed by load), and the plans,
slowest first, in ``var/bench/rls-<role>.txt``. It ANALYZEs the database first (as
autovacuum would; the demo's bulk load leaves the statistics stale) and checks in
people not yet checked in: a run changes the database, and the demo's places today
last for about 5,000 / (2 x ``--checkins``) runs.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url, text

from app.core.audit import Actor
from app.core.db import create_engine, create_session_factory
from app.core.models import User
from app.core.tenancy import tenant_scope
from app.domain.ops.checkins import check_in
from app.domain.ops.counters import LiveCounters
from app.domain.ops.dashboard import dashboard, live_update

APP_ROLE = "stemma_bench_app"
OUT = Path("var/bench")
GRANTS = (
    f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
    f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
    f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {APP_ROLE}",
)
PLACES = text(
    "SELECT a.person_id, a.shift_id FROM assignments a JOIN shifts s ON s.id = a.shift_id"
    " WHERE a.election_id = :election AND a.state = 'accepted'"
    " AND s.day = (now() AT TIME ZONE :zone)::date"
    " AND (now() AT TIME ZONE :zone)::time BETWEEN s.starts_at - interval '2 hours' AND s.ends_at"
    " AND NOT EXISTS (SELECT 1 FROM check_ins c WHERE c.assignment_id = a.id)"
    " ORDER BY a.id LIMIT :limit"
)
EXECUTION = re.compile(r"Execution Time: ([\d.]+) ms")
#: EXPLAIN ANALYZE runs per statement; the fastest counts.
REPEAT = 3


@dataclass
class Recorded:
    """Every statement run, with its parameters of the first time and its times."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    parameters: dict[str, Any] = field(default_factory=dict)
    #: Use case -> statement -> runs.
    runs: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    label: str = ""

    def attach(self, engine: Any) -> None:
        def before(conn: Any, _c: Any, statement: str, params: Any, context: Any, _m: Any) -> None:
            conn.info["rls_bench_started"] = time.perf_counter()

        def after(conn: Any, _c: Any, statement: str, params: Any, context: Any, _m: Any) -> None:
            if statement.startswith("SELECT set_config"):
                return
            self.seconds[statement].append(time.perf_counter() - conn.info["rls_bench_started"])
            self.parameters.setdefault(statement, params)
            self.runs[self.label][statement] += 1

        event.listen(engine.sync_engine, "before_cursor_execute", before)
        event.listen(engine.sync_engine, "after_cursor_execute", after)


async def run(database_url: str | None, checkins: int = 200) -> dict[str, Any]:
    if not database_url or not database_url.startswith("postgresql"):
        raise SystemExit("--only rls needs --database-url of PostgreSQL (see bench/rls_path.py)")
    print("== rls: the check-in path under the row policies ==")
    owner_url = make_url(database_url).set(drivername="postgresql+asyncpg")
    app_url = owner_url.set(username=APP_ROLE, password=None)
    owner_text = owner_url.render_as_string(hide_password=False)
    await make_app_role(owner_text)
    await _analyze(owner_text)
    tenant_id, election_id, coordinator_id, zone = await _election(owner_text)
    places = await _places(owner_text, election_id, zone, 2 * checkins)
    if len(places) < 2 * checkins:
        raise SystemExit(f"only {len(places)} places left to check in today; use a fresh demo")
    results: dict[str, Any] = {}
    roles = (("app role", app_url.render_as_string(hide_password=False)), ("owner", owner_text))
    for number, (name, url) in enumerate(roles):
        mine = places[number * checkins : (number + 1) * checkins]
        results[name] = await _measure(name, url, tenant_id, election_id, coordinator_id, mine)
    _print(results)
    return results


def app_role_url(owner_url: str) -> str:
    """The same database as ``APP_ROLE`` (trust auth, as the benchmarks' PostgreSQL)."""
    url = make_url(owner_url).set(username=APP_ROLE, password=None)
    return url.render_as_string(hide_password=False)


async def ensure_database(url: str) -> None:
    """Create the database of ``url`` (PostgreSQL) when it is missing."""
    parsed = make_url(url).set(drivername="postgresql+asyncpg")
    name = parsed.database
    engine = create_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not found:
                quoted = await connection.scalar(text("SELECT quote_ident(:n)"), {"n": name})
                await connection.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        await engine.dispose()


async def make_app_role(owner_url: str) -> None:
    """``APP_ROLE``, an ordinary role the row policies bind, with the app's grants on
    every table there is (run it after the migrations)."""
    url = make_url(owner_url).set(drivername="postgresql+asyncpg")
    engine = create_engine(url.render_as_string(hide_password=False))
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}')"
                    f" THEN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$"
                )
            )
            for grant in GRANTS:
                await connection.execute(text(grant))
    finally:
        await engine.dispose()


async def _analyze(owner_url: str) -> None:
    """Fresh planner statistics, as autovacuum keeps them in production (the demo's bulk
    load leaves them stale, and a copied database has none)."""
    engine = create_engine(owner_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


async def _election(owner_url: str) -> tuple[int, int, int, str]:
    """The election with the most places today, a coordinator of it, its time zone."""
    engine = create_engine(owner_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT a.tenant_id, a.election_id, t.timezone FROM assignments a"
                        " JOIN shifts s ON s.id = a.shift_id JOIN tenants t ON t.id = a.tenant_id"
                        " WHERE s.day = (now() AT TIME ZONE t.timezone)::date"
                        " GROUP BY a.tenant_id, a.election_id, t.timezone"
                        " ORDER BY count(*) DESC LIMIT 1"
                    )
                )
            ).one()
            coordinator = await connection.scalar(
                text(
                    "SELECT user_id FROM memberships WHERE tenant_id = :tenant"
                    " AND role IN ('coordinator', 'admin') ORDER BY role DESC, id LIMIT 1"
                ),
                {"tenant": row[0]},
            )
    finally:
        await engine.dispose()
    return int(row[0]), int(row[1]), int(coordinator), str(row[2])


async def _places(owner_url: str, election_id: int, zone: str, limit: int) -> list[Any]:
    engine = create_engine(owner_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                PLACES, {"election": election_id, "zone": zone, "limit": limit}
            )
            return [tuple(row) for row in result]
    finally:
        await engine.dispose()


async def _measure(
    name: str,
    url: str,
    tenant_id: int,
    election_id: int,
    coordinator_id: int,
    places: list[Any],
) -> dict[str, Any]:
    engine = create_engine(url, pool_size=4)
    recorded = Recorded()
    recorded.attach(engine)
    sessions = create_session_factory(engine)
    timings: dict[str, list[float]] = defaultdict(list)
    counters = LiveCounters()
    try:
        with tenant_scope(tenant_id):
            async with sessions() as session:
                actor = Actor.for_user(await session.get_one(User, coordinator_id))
            for number, (person_id, shift_id) in enumerate(places):
                recorded.label = "check-in"
                async with sessions() as session:
                    started = time.perf_counter()
                    checkin, _replayed = await check_in(
                        session,
                        actor,
                        person_id=person_id,
                        shift_id=shift_id,
                        kind="arrived",
                        idempotency_key=f"rls-bench-{name}-{time.time_ns()}-{number}",
                        source="api",
                    )
                    timings["check-in"].append(time.perf_counter() - started)
                recorded.label = "live update"
                async with sessions() as session:
                    started = time.perf_counter()
                    await live_update(session, election_id, [checkin.station_id], counters)
                    timings["live update"].append(time.perf_counter() - started)
                if number % max(1, len(places) // 5) == 0:
                    recorded.label = "whole dashboard"
                    async with sessions() as session:
                        started = time.perf_counter()
                        await dashboard(session, election_id)
                        timings["whole dashboard"].append(time.perf_counter() - started)
            plans, executed = await _explain(url, tenant_id, recorded)
    finally:
        await engine.dispose()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"rls-{name.replace(' ', '-')}.txt"
    path.write_text("\n\n".join(plans))
    return {
        "timings_ms": {key: _percentiles(values) for key, values in timings.items()},
        "statements": _top(recorded),
        "database_ms": _database_time(recorded, executed, timings),
        "plans": str(path),
    }


async def _explain(
    url: str, tenant_id: int, recorded: Recorded
) -> tuple[list[str], dict[str, float]]:
    """EXPLAIN (ANALYZE, BUFFERS) of every distinct read, as the role measured, slowest
    (by total time in the run) first, and each read's execution time: the least of
    ``REPEAT`` runs, which the load of a shared machine disturbs far less than the
    wall times above. Writes are left out (they would write again)."""
    engine = create_engine(url, pool_size=2)
    plans = []
    executed: dict[str, float] = {}
    ranked = sorted(recorded.seconds.items(), key=lambda item: -sum(item[1]))
    try:
        with tenant_scope(tenant_id):
            async with engine.connect() as connection:
                for statement, seconds in ranked:
                    if not statement.lstrip().upper().startswith("SELECT"):
                        continue
                    if "FOR UPDATE" in statement.upper():
                        continue
                    best, plan = float("inf"), ""
                    for _repeat in range(REPEAT):
                        explained = await connection.exec_driver_sql(
                            "EXPLAIN (ANALYZE, BUFFERS) " + statement,
                            recorded.parameters[statement],
                        )
                        lines = [str(row[0]) for row in explained]
                        found = EXECUTION.search(lines[-1])
                        took = float(found.group(1)) if found else float("inf")
                        if took < best:
                            best, plan = took, "\n".join(lines)
                    executed[statement] = best
                    head = f"-- {len(seconds)} runs, {1000 * sum(seconds):.1f} ms in all (wall)"
                    plans.append(f"{head}\n{statement}\n{plan}")
                await connection.rollback()
    finally:
        await engine.dispose()
    return plans, executed


def _database_time(
    recorded: Recorded, executed: dict[str, float], timings: dict[str, list[float]]
) -> dict[str, float]:
    """Per use case, its reads' execution time per call (ms): each statement's least
    EXPLAIN ANALYZE time, times its runs in the use case, over the use case's calls."""
    result = {}
    for label, statements in recorded.runs.items():
        total = sum(executed.get(statement, 0.0) * runs for statement, runs in statements.items())
        result[label] = round(total / max(1, len(timings[label])), 3)
    return result


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {
        "n": len(ordered),
        "p50": round(1000 * statistics.median(ordered), 2),
        "p99": round(1000 * p99, 2),
    }


def _top(recorded: Recorded, count: int = 8) -> list[dict[str, Any]]:
    ranked = sorted(recorded.seconds.items(), key=lambda item: -sum(item[1]))
    return [
        {
            "ms_total": round(1000 * sum(seconds), 1),
            "runs": len(seconds),
            "ms_mean": round(1000 * statistics.mean(seconds), 2),
            "statement": " ".join(statement.split())[:110],
        }
        for statement, seconds in ranked[:count]
    ]


def _print(results: dict[str, Any]) -> None:
    print(f"{'use case':<18}" + "".join(f"{name + ' p50/p99 ms':>26}" for name in results))
    cases = next(iter(results.values()))["timings_ms"]
    for case in cases:
        cells = [
            f"{r['timings_ms'][case]['p50']:>11.2f} / {r['timings_ms'][case]['p99']:<9.2f}"
            for r in results.values()
        ]
        print(f"{case:<18}" + "".join(f"{cell:>26}" for cell in cells))
    print("reads' execution time per call, ms (least of repeated EXPLAIN ANALYZE):")
    for case in cases:
        cells = [f"{r['database_ms'].get(case, 0.0):.3f}" for r in results.values()]
        print(f"{case:<18}" + "".join(f"{cell:>26}" for cell in cells))
    for name, result in results.items():
        print(f"-- {name}: statements by total time")
        for row in result["statements"]:
            print(f"{row['ms_total']:>9.1f} ms {row['runs']:>5}x  {row['statement']}")
        print(f"   plans (EXPLAIN ANALYZE, BUFFERS, as {name}): {result['plans']}")
