"""Pay benchmark: ``make bench ARGS="--only pay"``.

On the Stockholm-scale demo municipality (600 districts, 660 stations, 15,000 people)
its last election has thousands of people with accepted places and the day's
check-ins. It times computing everyone's pay, approving every district one by one
(after settling the demo's two open check-ins), and writing the payroll file of all
approved pay as CSV and as XLSX; "compute + export" is the figure that counts.

With ``--database-url`` (a scratch PostgreSQL database, as the role that owns it) the
tables are migrated as that role, and the app then runs as an ordinary role made here
(``stemma_bench_app``), which the row policies bind as they bind the app in production:
the numbers include row-level security.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from quart import Quart
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.core.audit import Actor
from app.core.crypto import FieldCipher
from app.core.db import create_engine
from app.core.migrations import upgrade_async
from app.core.models import Tenant
from app.core.settings import load_settings
from app.core.tenancy import tenant_scope
from app.demo import LARGE_SLUG, create_demo
from app.domain.models import District, Election, PayExportLayout
from app.domain.pay import PayError
from app.domain.pay.adjustments import settle_hours
from app.domain.pay.approval import approve_district
from app.domain.pay.compute import compute_pay
from app.domain.pay.payroll import default_layout, export_payroll
from app.domain.pay.review import ADVANCE
from bench.common import cpu_seconds

WIDTH = 44
SECRET = "p" * 40
APP_ROLE = "stemma_bench_app"


def line(label: str, value: str) -> None:
    print(f"{label:<{WIDTH}} {value}")


async def _ordinary_role(owner_url: str) -> str:
    """Make (once) a login role with the app's grants and no way past the row policies;
    its URL."""
    engine = create_engine(owner_url)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                f"'{APP_ROLE}') THEN CREATE ROLE {APP_ROLE} LOGIN; END IF; END $$"
            )
        )
        for statement in (
            f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
            f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {APP_ROLE}",
        ):
            await connection.execute(text(statement))
    await engine.dispose()
    return make_url(owner_url).set(username=APP_ROLE, password=None).render_as_string(False)


async def _app(database_url: str | None, data_dir: Path) -> Quart:
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'pay.db'}"
    await upgrade_async(url)
    app_url = await _ordinary_role(url) if url.startswith("postgresql") else url
    settings = load_settings(
        data_dir=data_dir, database_url=app_url, secret_key=SECRET, run_worker_in_process=False
    )
    app = create_app(settings)
    start = time.perf_counter()
    await create_demo(app.extensions["stemma"].session_factory, size="large")
    line("make the large demo municipality", f"{time.perf_counter() - start:7.2f} s")
    if app_url != url:
        # The demo's own ANALYZE is skipped for a role that does not own the tables;
        # in production autovacuum does it after such a load.
        engine = create_engine(url)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
        await engine.dispose()
    return app


async def run(database_url: str | None, data_dir: Path) -> None:
    print("== pay (large demo municipality) ==")
    print('command: make bench ARGS="--only pay"')
    app = await _app(database_url, data_dir)
    factory = app.extensions["stemma"].session_factory
    actor = Actor.system("bench")
    async with factory() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == LARGE_SLUG))
        assert tenant is not None
        tenant_id = tenant.id
    # Each step in a session of its own, as each is a request of its own.
    with tenant_scope(tenant_id):
        async with factory() as session:
            election_id = await session.scalar(
                select(Election.id).order_by(Election.election_day).limit(1)
            )
            assert election_id is not None
            start, cpu = time.perf_counter(), cpu_seconds()
            pay = await compute_pay(session, election_id)
            computed, computed_cpu = time.perf_counter() - start, cpu_seconds() - cpu
        people = len({line.person_id for line in pay.lines})
        line("people paid / pay lines", f"{people:,} / {len(pay.lines):,}")
        line("no-shows / check-ins to settle", f"{len(pay.no_shows)} / {len(pay.conflicts)}")
        line("compute everyone's pay", f"{computed:7.2f} s  (CPU {computed_cpu:.2f} s)")
        await _approve_all(factory, actor, election_id, pay.conflicts)
        exported, exported_cpu = {}, {}
        for file_format in ("csv", "xlsx"):
            async with factory() as session:
                layout = await session.scalar(select(PayExportLayout))
                if layout is None:
                    layout = default_layout()
                    session.add(layout)
                layout.file_format = file_format
                await session.commit()
            async with factory() as session:
                start, cpu = time.perf_counter(), cpu_seconds()
                found = await export_payroll(session, actor, FieldCipher(SECRET), election_id)
                exported[file_format] = time.perf_counter() - start
                exported_cpu[file_format] = cpu_seconds() - cpu
            line(
                f"export the payroll file ({file_format})",
                f"{exported[file_format]:7.2f} s  (CPU {exported_cpu[file_format]:.2f} s; "
                f"{found.lines:,} lines, {len(found.body) / 1e6:.1f} MB)",
            )
    for file_format in ("csv", "xlsx"):
        line(
            f"compute + export ({file_format})",
            f"{computed + exported[file_format]:7.2f} s  (CPU "
            f"{computed_cpu + exported_cpu[file_format]:.2f} s; goal < 5 s)",
        )
    line("load average while measured (1 min)", f"{os.getloadavg()[0]:7.2f}")
    await app.extensions["stemma"].engine.dispose()


async def _approve_all(factory: Any, actor: Actor, election_id: int, conflicts: list[Any]) -> None:
    """Settle the demo's open check-ins, then approve every district, one by one as a
    planner would (each a request of its own)."""
    async with factory() as session:
        for conflict in conflicts:
            await settle_hours(
                session, actor, election_id, conflict.shift_id, conflict.person_id,
                {"worked": "1", "worked_from": "07:30", "worked_until": "14:00",
                 "reason": "bench"},
            )  # fmt: skip
        districts = list(
            await session.scalars(select(District.id).where(District.election_id == election_id))
        )
    refusals: list[str] = []
    start = time.perf_counter()
    for district_id in [*districts, ADVANCE]:
        async with factory() as session:
            try:
                await approve_district(session, actor, election_id, district_id)
            except PayError as refused:  # a district with nothing to approve
                refusals.append(refused.message)
    line(
        f"approve all {len(districts)} districts one by one",
        f"{time.perf_counter() - start:7.2f} s  ({len(refusals)} with nothing to approve)",
    )
