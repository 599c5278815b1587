"""The back office's start page and the live dashboard with turnout on the Stockholm-scale
demo municipality on its election day (660 stations, every reporting time reported),
rendered through the app.

On PostgreSQL (``--database-url``, as a role that may create roles) the pages are read
as an ordinary role under row-level security, as in production: the demo is made as
the given role, then the app connects as ``stemma_app_bench``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.migrations import upgrade_async
from app.core.settings import load_settings
from app.core.tenancy import tenant_scope
from app.demo import DEMO_PASSWORD, LARGE_SLUG, create_demo
from app.demo.election_day import move_election_day
from app.demo.turnout import fill_turnout
from app.domain.models import Election, TurnoutReport
from bench.common import signed_in_client, summary, timed

APP_ROLE = "stemma_app_bench"


async def _ordinary_role(app: Any, url: str) -> str:
    """The database's address as an ordinary role that may read and write its rows."""
    async with app.extensions["stemma"].engine.begin() as connection:
        await connection.execute(
            text(
                f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}')"
                f" THEN CREATE ROLE {APP_ROLE} LOGIN; END IF; END $$"
            )
        )
        for statement in (
            f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
        ):
            await connection.execute(text(statement))
    return make_url(url).set(username=APP_ROLE, password=None).render_as_string(False)


async def _election_day(app: Any) -> int:
    """Move the demo's staffed election to today, with every reporting time reported
    (the evening's dashboard: the most turnout to draw); its id."""
    factory = app.extensions["stemma"].session_factory
    async with factory() as session:
        moved = await move_election_day(session, LARGE_SLUG, staffed=True)
        assert moved is not None
    async with factory() as session:
        tenant = await get_tenant_by_slug(session, LARGE_SLUG)
        assert tenant is not None
        with tenant_scope(tenant.id):
            election_id = await session.scalar(
                select(Election.id).where(Election.election_day == moved.new_day)
            )
            assert election_id is not None
            await session.execute(
                delete(TurnoutReport).where(TurnoutReport.election_id == election_id)
            )
            zone = ZoneInfo(tenant.timezone)
            await fill_turnout(session, tenant.id, election_id, moved.new_day, zone)
            await session.commit()
    return int(election_id)


async def run(database_url: str | None, data_dir: Path, repeat: int = 100) -> None:
    print("== start page and live dashboard (large demo) ==")
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'start.db'}"
    await upgrade_async(url)

    def settings_for(address: str, owner: bool) -> Any:
        return load_settings(
            data_dir=data_dir,
            database_url=address,
            secret_key="s" * 40,
            run_worker_in_process=False,
            allow_privileged_database_role=owner,
        )

    maker = create_app(settings_for(url, owner=True))
    start = time.perf_counter()
    await create_demo(maker.extensions["stemma"].session_factory, size="large")
    print(f"{'make the large demo municipality':<44} {time.perf_counter() - start:7.2f} s")
    reader_url = url
    if make_url(url).get_backend_name() == "postgresql":
        reader_url = await _ordinary_role(maker, url)
        print(f"reading as the ordinary role {APP_ROLE} (row-level security)")
    app = create_app(settings_for(reader_url, owner=False))
    async with app.test_app() as test_app:

        async def get(client: Any, path: str) -> Any:
            response = await client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return await response.get_data()

        home = f"/{LARGE_SLUG}/planning/"
        clients = {}
        for role in ("planner", "coordinator"):
            clients[role] = await signed_in_client(
                test_app, f"{role}@{LARGE_SLUG}.stemma.test", DEMO_PASSWORD
            )
            await get(clients[role], home)  # the first request fills the app's caches
        planner, coordinator = clients["planner"], clients["coordinator"]
        print(
            summary(
                "start page, months ahead (planner)",
                await timed(lambda: get(planner, home), repeat),
            )
        )
        election_id = await _election_day(maker)
        await get(planner, home)
        print(
            summary(
                "start page, election day (planner)",
                await timed(lambda: get(planner, home), repeat),
            )
        )
        print(
            summary(
                "start page, election day (coordinator)",
                await timed(lambda: get(coordinator, home), repeat),
            )
        )
        live = f"/{LARGE_SLUG}/planning/elections/{election_id}/live"
        print(
            summary(
                "live dashboard with turnout (coordinator)",
                await timed(lambda: get(coordinator, live), 30),
            )
        )
    await maker.extensions["stemma"].engine.dispose()
