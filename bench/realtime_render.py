"""What one election-day event costs the hub to render for the dashboards.

Every check-in, state change or incident on an election's ops topic is rendered once
per process (``app.planning.ops_fragments``) before it fans out, one event after
another, so this CPU time per event bounds how many events a second one process can
carry to the coordinators (at 50 check-ins a second it must stay well under 20 ms).
It fills the same municipality as ``bench/realtime/`` (``--stations`` polling
stations with ``--clerks`` clerks each, election day today) and times, in CPU, the
whole dashboard (a page load, and the live counters' recount every few seconds) and
one live event as the renderer draws it (one station's row; the counters kept station
by station). Quick (under a minute)::

    make bench ARGS="--only render"
    .venv/bin/python -m bench --only render --stations 100
"""

from __future__ import annotations

import gc
import statistics
import time
from pathlib import Path

from app.domain.ops.counters import RECOUNT_SECONDS as RECOUNT
from bench.realtime.municipality import seed
from bench.realtime.scale import Scale

ROUNDS = 20
WARM_UP = 3


async def run(database_url: str | None, data_dir: Path, scale: Scale) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from app.core.db import create_engine
    from app.core.tenancy import tenant_scope
    from app.domain.ops.counters import LiveCounters
    from app.domain.ops.dashboard import dashboard, live_update

    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'render.db'}"
    seeded = await seed(url, data_dir, "render", scale)
    engine = create_engine(url)
    factory = async_sessionmaker(engine, expire_on_commit=False)
    # A recount never falls due inside the run: this times the event-by-event path.
    counters = LiveCounters(recount_seconds=3600)
    whole: list[float] = []
    event: list[float] = []
    try:
        with tenant_scope(seeded.tenant_id):
            for round_ in range(WARM_UP + ROUNDS):
                station_id = seeded.clerks[round_ % len(seeded.clerks)][0].station_id
                for times, read in (
                    (whole, lambda s: dashboard(s, seeded.election_id)),
                    (
                        event,
                        lambda s, at=station_id: live_update(s, seeded.election_id, [at], counters),
                    ),
                ):
                    gc.collect()
                    async with factory() as session:
                        cpu = time.process_time()
                        await read(session)
                        if round_ >= WARM_UP:
                            times.append((time.process_time() - cpu) * 1000)
    finally:
        await engine.dispose()
    per_event = statistics.median(event)
    print(
        f"{scale.stations} stations x {scale.clerks} clerks, CPU per call ({ROUNDS} rounds):"
        f" whole dashboard (page, recount every {RECOUNT:.0f} s) median"
        f" {statistics.median(whole):.0f} ms; one live event median {per_event:.1f} ms,"
        f" max {max(event):.1f} ms -> about {1000 / per_event:.0f} events/s per process"
    )
