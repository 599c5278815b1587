"""What one election-day event costs the hub to render for the dashboards.

Every check-in, state change or incident on an election's ops topic is rendered once
per process (``app.planning.ops_fragments``) before it fans out, one event after
another, so this CPU time per event bounds how many events a second one process can
carry to the coordinators (at 50 check-ins a second it must stay well under 20 ms).
It fills the same municipality as ``bench/realtime.py`` (``--stations`` polling
stations with ``--clerks`` clerks each, election day today) and times the dashboard
computation for one changed station, as the renderer calls it. Quick (under a minute)::

    make bench ARGS="--only render"
    .venv/bin/python -m bench --only render --stations 100
"""

from __future__ import annotations

import gc
import statistics
import time
from pathlib import Path

from bench.realtime import Scale, seed

ROUNDS = 20
WARM_UP = 3


async def run(database_url: str | None, data_dir: Path, scale: Scale) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app.core.db import create_engine
    from app.core.tenancy import tenant_scope
    from app.domain.ops.dashboard import DashboardFilters, dashboard

    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'render.db'}"
    seeded = await seed(url, data_dir, "render", scale)
    engine = create_engine(url)
    factory = async_sessionmaker(engine, expire_on_commit=False)
    cpu_ms: list[float] = []
    wall_ms: list[float] = []
    try:
        with tenant_scope(seeded.tenant_id):
            for round_ in range(WARM_UP + ROUNDS):
                station_id = seeded.clerks[round_ % len(seeded.clerks)][0].station_id
                only = DashboardFilters(station_ids=frozenset({station_id}))
                gc.collect()
                async with factory() as session:
                    cpu, wall = time.process_time(), time.perf_counter()
                    await dashboard(session, seeded.election_id, only)
                    if round_ >= WARM_UP:
                        cpu_ms.append((time.process_time() - cpu) * 1000)
                        wall_ms.append((time.perf_counter() - wall) * 1000)
    finally:
        await engine.dispose()
    cpu_ms.sort()
    print(
        f"render one dashboard event, {scale.stations} stations x {scale.clerks} clerks"
        f" ({ROUNDS} rounds): CPU median {statistics.median(cpu_ms):.0f} ms,"
        f" max {cpu_ms[-1]:.0f} ms; wall median {statistics.median(wall_ms):.0f} ms"
        f" -> at most {1000 / statistics.median(cpu_ms):.0f} events/s per process"
    )
