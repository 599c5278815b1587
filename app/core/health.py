"""Health checks for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from quart import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

log = logging.getLogger(__name__)

blueprint = Blueprint("health", __name__)

#: How long readiness waits for a pooled connection to come free before it calls the
#: pool exhausted, and for the database's answer.
POOL_WAIT_SECONDS = 1.0
DATABASE_SECONDS = 3.0


@blueprint.get("/healthz")
async def healthz() -> tuple[dict[str, str], int]:
    """The process is up and answering."""
    return {"status": "ok"}, 200


@blueprint.get("/readyz")
async def readyz() -> tuple[dict[str, object], int]:
    """Whether this instance can serve now: 503 with the failing part otherwise, so the
    balancer sends its requests elsewhere. The database is ``exhausted`` when every
    pooled connection stays in use (the instance would only queue the request) and
    ``unreachable`` when it does not answer; the broker is ``failover`` while its
    sentinels replace the master, ``unreachable`` when it does not answer."""
    runtime = current_app.extensions["stemma"]
    checks = {
        "database": await database_state(runtime.engine),
        "broker": await broker_state(runtime.broker),
    }
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503


def pool_exhausted(engine: AsyncEngine) -> bool:
    """Whether every connection the pool may hold is checked out."""
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool):
        return False
    overflow = int(getattr(pool, "_max_overflow", 0))
    return overflow >= 0 and pool.checkedout() >= pool.size() + overflow


async def database_state(engine: AsyncEngine) -> str:
    deadline = time.monotonic() + POOL_WAIT_SECONDS
    while pool_exhausted(engine):
        if time.monotonic() >= deadline:
            log.warning("readiness: every pooled database connection is in use")
            return "exhausted"
        await asyncio.sleep(0.05)
    try:
        async with asyncio.timeout(DATABASE_SECONDS):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:
        log.warning("readiness: database unreachable: %s", type(error).__name__)
        return "unreachable"
    return "ok"


async def broker_state(broker: Any) -> str:
    """The broker's readiness (``app.realtime.broker``: only a Redis one behind
    sentinels has ``failing_over``; core does not import realtime)."""
    failing_over = getattr(broker, "failing_over", None)
    if failing_over is not None and await failing_over():
        log.warning("readiness: the broker's sentinels are failing over")
        return "failover"
    return "ok" if await broker.ping() else "unreachable"
