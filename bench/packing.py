"""Packing-lists benchmark: ``make bench ARGS="--only packing"``.

On the Stockholm-scale demo (660 stations, about 20 articles each) the depot downloads
the packing lists of the whole election as one PDF: a page or more per station with
its lines and a QR-coded label for each of its crates (three crates each here, the
most the demo packs). The goal is under 20 s. Timed as the request a planner makes
(sign-in done before), wall clock and this process's CPU: on a loaded machine the CPU
is the figure to read. Also timed: the materials report of the whole election as Excel
and PDF.

With ``--database-url`` (a scratch PostgreSQL database) the app runs as an ordinary
role under the row policies, as in ``bench/pay.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select, update

from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.demo import DEMO_PASSWORD, LARGE_SLUG
from app.domain.models import Election, MaterialDelivery, MaterialDeliveryLine
from bench.common import cpu_seconds, signed_in_client
from bench.pay import _app, line

CRATES = 3


async def run(database_url: str | None, data_dir: Path) -> None:
    print("== packing lists (large demo municipality) ==")
    print('command: make bench ARGS="--only packing"')
    app = await _app(database_url, data_dir)
    factory = app.extensions["stemma"].session_factory
    async with factory() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == LARGE_SLUG))
        assert tenant is not None
        tenant_id = tenant.id
    with tenant_scope(tenant_id):
        async with factory() as session:
            election_id = await session.scalar(
                select(Election.id).where(Election.rolled_over_from_id.is_not(None))
            )
            assert election_id is not None
            await session.execute(
                update(MaterialDelivery)
                .where(MaterialDelivery.election_id == election_id)
                .values(crates=CRATES)
            )
            await session.commit()
            deliveries = await session.scalar(
                select(func.count(MaterialDelivery.id)).where(
                    MaterialDelivery.election_id == election_id
                )
            )
            lines = await session.scalar(
                select(func.count(MaterialDeliveryLine.id))
                .join(MaterialDelivery, MaterialDelivery.id == MaterialDeliveryLine.delivery_id)
                .where(MaterialDelivery.election_id == election_id)
            )
    line("deliveries / lines / crates each", f"{deliveries:,} / {lines:,} / {CRATES}")
    base = f"/{LARGE_SLUG}/planning/materials/elections/{election_id}"
    async with app.test_app() as test_app:
        client = await signed_in_client(
            test_app, f"planner@{LARGE_SLUG}.stemma.test", DEMO_PASSWORD
        )
        for label, path in (
            ("all packing lists, one PDF", f"{base}/packing/lists.pdf"),
            ("materials report, Excel", f"{base}/reports/all.xlsx"),
            ("materials report, PDF", f"{base}/reports/all.pdf"),
        ):
            start, cpu = time.perf_counter(), cpu_seconds()
            response = await client.get(path)
            body = await response.get_data()
            wall, used = time.perf_counter() - start, cpu_seconds() - cpu
            assert response.status_code == 200, (path, response.status_code)
            line(label, f"{wall:7.2f} s wall, {used:6.2f} s CPU, {len(body) / 1e6:5.1f} MB")
