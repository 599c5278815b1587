"""Materials benchmark: ``make bench ARGS="--only materials"``.

On the Stockholm-scale demo (660 stations, about 20 articles) an office changes a rule
(ballot papers for every party: voters × 1.2 → × 1.25) and recomputes every station's
needs; the recompute after a rule change is the figure that counts (under 2 s). Also
timed: a recompute that changes nothing, the needs page's data, the shortfall and
reserving stock for every need.

With ``--database-url`` (a scratch PostgreSQL database) the app runs as an ordinary
role under the row policies, as in ``bench/pay.py``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.demo import LARGE_SLUG
from app.domain.materials import needs, rules, stock
from app.domain.models import Election, MaterialNeed, MaterialNeedRule, Station
from bench.common import cpu_seconds
from bench.pay import _app, line


async def _timed(label: str, factory: Any, step: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run one step in a session of its own (a request of its own); print wall and CPU."""
    async with factory() as session:
        start, cpu = time.perf_counter(), cpu_seconds()
        result = await step(session)
        wall, used = time.perf_counter() - start, cpu_seconds() - cpu
    line(label, f"{wall:7.2f} s wall, {used:6.2f} s CPU")
    return result


async def run(database_url: str | None, data_dir: Path) -> None:
    print("== materials (large demo municipality) ==")
    print('command: make bench ARGS="--only materials"')
    app = await _app(database_url, data_dir)
    factory = app.extensions["stemma"].session_factory
    actor = Actor.system("bench")
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
            stations = await session.scalar(
                select(func.count(Station.id)).where(Station.election_id == election_id)
            )
            stored = await session.scalar(
                select(func.count(MaterialNeed.id)).where(MaterialNeed.election_id == election_id)
            )
            rule = await session.scalar(
                select(MaterialNeedRule).where(
                    MaterialNeedRule.category == "ballot_paper", MaterialNeedRule.basis == "voters"
                )
            )
            assert rule is not None
            values = {**rules.rule_values(rule), "formula": "voters * 1.25"}
            await rules.save_rule(session, actor, values, rule.id)
        line("stations / needs stored", f"{stations:,} / {stored:,}")
        change = await _timed(
            "recompute after a rule change",
            factory,
            lambda s: needs.compute_needs(s, actor, election_id),
        )
        line("  needs changed", f"{change.changed:,} of {change.total:,}")
        again = await _timed(
            "recompute, nothing changed",
            factory,
            lambda s: needs.compute_needs(s, actor, election_id),
        )
        assert again.changed == 0
        await _timed("needs page data", factory, lambda s: needs.needs_overview(s, election_id))
        await _timed("shortfall", factory, lambda s: stock.shortfall(s, election_id))
        result = await _timed(
            "reserve stock for every need", factory, lambda s: stock.reserve(s, actor, election_id)
        )
        line(
            "  covered / partly / not",
            f"{result.covered:,} / {result.partly:,} / {result.uncovered:,}",
        )
