"""The staffing board on the Stockholm-scale demo municipality: one district's board
(the page a planner works in) rendered through the app, p95 target 150 ms; also the
whole-election district summary and a place's candidate panel."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app import create_app
from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.migrations import upgrade_async
from app.core.settings import load_settings
from app.core.tenancy import tenant_scope
from app.demo import DEMO_PASSWORD, LARGE_SLUG, create_demo
from app.domain.models import District, Election, Shift, StaffingNorm, Station
from bench.common import signed_in_client, summary, timed


async def run(database_url: str | None, data_dir: Path, repeat: int = 100) -> None:
    print("== staffing board (large demo municipality) ==")
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'staffing.db'}"
    await upgrade_async(url)
    settings = load_settings(
        data_dir=data_dir, database_url=url, secret_key="s" * 40, run_worker_in_process=False
    )
    app = create_app(settings)
    factory = app.extensions["stemma"].session_factory
    start = time.perf_counter()
    await create_demo(factory, size="large")
    print(f"{'make the large demo municipality':<44} {time.perf_counter() - start:7.2f} s")
    async with factory() as session:
        tenant = await get_tenant_by_slug(session, LARGE_SLUG)
        assert tenant is not None
        with tenant_scope(tenant.id):
            election_id = await session.scalar(select(Election.id).order_by(Election.id.desc()))
            districts = list(
                await session.scalars(
                    select(District.id).where(District.election_id == election_id).limit(50)
                )
            )
            place = (
                await session.execute(
                    select(Shift.id, StaffingNorm.role_type_id)
                    .join(StaffingNorm, StaffingNorm.shift_id == Shift.id)
                    .join(Station, Station.id == Shift.station_id)
                    .where(Station.election_id == election_id)
                    .limit(1)
                )
            ).one()
    async with app.test_app() as test_app:
        client = await signed_in_client(
            test_app, f"planner@{LARGE_SLUG}.stemma.test", DEMO_PASSWORD
        )
        base = f"/{LARGE_SLUG}/planning/elections/{election_id}/staffing"

        async def get(path: str, headers: dict[str, str] | None = None) -> Any:
            response = await client.get(path, headers=headers or {})
            assert response.status_code == 200, (path, response.status_code)
            return await response.get_data()

        latencies: list[float] = []
        for index in range(repeat):
            district = districts[index % len(districts)]
            latencies += await timed(lambda d=district: get(f"{base}?district={d}"), 1)  # type: ignore[misc]
        print(summary("board of one district (whole page)", latencies))
        htmx = {"HX-Request": "true"}
        latencies = []
        for index in range(repeat):
            district = districts[index % len(districts)]
            latencies += await timed(lambda d=district: get(f"{base}?district={d}", htmx), 1)  # type: ignore[misc]
        print(summary("board of one district (HTMX fragment)", latencies))
        print(summary("whole election: district summary page", await timed(lambda: get(base), 20)))
        shift_id, role_id = place
        print(
            summary(
                "candidates for one place (suggestions)",
                await timed(lambda: get(f"{base}/place?shift={shift_id}&role={role_id}", htmx), 30),
            )
        )
