"""The statistics page of an election on the Stockholm-scale demo municipality, rendered
through the app (every chart and table), p95 target 300 ms; also one chart's Excel file.

On PostgreSQL the page is timed as production runs it: the migrations and the demo are
made by the database URL's role (the tables' owner), and the app then connects as an
ordinary role of its own, with row-level security forced on every table.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.db import create_engine
from app.core.migrations import upgrade_async
from app.core.settings import load_settings
from app.core.tenancy import tenant_scope
from app.demo import DEMO_PASSWORD, LARGE_SLUG, create_demo
from app.domain.models import Assignment
from bench.common import cpu_seconds, signed_in_client, summary, timed

#: The ordinary role the app connects as on PostgreSQL (no password: a local trusted
#: connection, as the tests' role).
APP_ROLE = "stemma_bench_app"


async def _ordinary_role(owner_url: str) -> str:
    """Make the app's role (once) with the rights the app needs and no more, and return
    the URL that connects as it."""
    engine = create_engine(owner_url)
    try:
        async with engine.begin() as connection:
            exists = await connection.scalar(
                text("SELECT true FROM pg_roles WHERE rolname = :name"), {"name": APP_ROLE}
            )
            if not exists:
                await connection.execute(text(f"CREATE ROLE {APP_ROLE} LOGIN"))
            for statement in (
                f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
            ):
                await connection.execute(text(statement))
    finally:
        await engine.dispose()
    return make_url(owner_url).set(username=APP_ROLE, password=None).render_as_string(False)


async def run(database_url: str | None, data_dir: Path, repeat: int = 60) -> None:
    print("== statistics page (large demo municipality) ==")
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'statistics.db'}"
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    await upgrade_async(url)
    owner = create_app(
        load_settings(
            data_dir=data_dir, database_url=url, secret_key="s" * 40, run_worker_in_process=False
        )
    )
    factory = owner.extensions["stemma"].session_factory
    start = time.perf_counter()
    await create_demo(factory, size="large")
    print(f"{'make the large demo municipality':<44} {time.perf_counter() - start:7.2f} s")
    if url.startswith("postgresql"):
        # The planner's statistics as autovacuum leaves them after such a load in
        # production (the demo analyses a few tables midway; a scratch server may run
        # without autovacuum): stale, the training read chose nested loops over a
        # "1 row" and took more than twice as long.
        async with owner.extensions["stemma"].engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
    async with factory() as session:
        tenant = await get_tenant_by_slug(session, LARGE_SLUG)
        assert tenant is not None
        with tenant_scope(tenant.id):
            # The election most places are held in: the one whose page has most to count.
            election_id, places = (
                await session.execute(
                    select(Assignment.election_id, func.count(Assignment.id))
                    .group_by(Assignment.election_id)
                    .order_by(func.count(Assignment.id).desc())
                    .limit(1)
                )
            ).one()
    await owner.extensions["stemma"].engine.dispose()
    app_url = url
    if url.startswith("postgresql"):
        app_url = await _ordinary_role(url)
        print(f"{'app connects as':<44} {APP_ROLE} (row-level security forced)")
    app = create_app(
        load_settings(
            data_dir=data_dir,
            database_url=app_url,
            secret_key="s" * 40,
            run_worker_in_process=False,
        )
    )
    print(f"{'places in the election':<44} {places}")
    async with app.test_app() as test_app:
        client = await signed_in_client(
            test_app, f"planner@{LARGE_SLUG}.stemma.test", DEMO_PASSWORD
        )
        base = f"/{LARGE_SLUG}/planning/elections/{election_id}/statistics"

        async def get(path: str) -> Any:
            response = await client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return await response.get_data()

        await get(base)  # warm: templates compiled, caches filled
        cpu = cpu_seconds()
        print(summary("statistics page (whole page)", await timed(lambda: get(base), repeat)))
        per_page = (cpu_seconds() - cpu) / repeat * 1000
        print(f"{'  CPU of this process per page':<44} {per_page:7.1f} ms")
        print(
            summary("one chart's Excel file", await timed(lambda: get(f"{base}/funnel.xlsx"), 10))
        )
        print(f"{'load average while measured (1 min)':<44} {os.getloadavg()[0]:7.2f}")
