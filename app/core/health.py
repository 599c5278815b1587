"""Health checks for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
import logging

from quart import Blueprint, current_app
from sqlalchemy import text

log = logging.getLogger(__name__)

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
async def healthz() -> tuple[dict[str, str], int]:
    """The process is up and answering."""
    return {"status": "ok"}, 200


@blueprint.get("/readyz")
async def readyz() -> tuple[dict[str, object], int]:
    """The database and the broker answer; 503 with the failing part otherwise."""
    runtime = current_app.extensions["stemma"]
    checks: dict[str, str] = {}
    try:
        async with runtime.engine.connect() as connection:
            await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=3)
        checks["database"] = "ok"
    except Exception as error:
        log.warning("readiness: database unreachable: %s", type(error).__name__)
        checks["database"] = "unreachable"
    checks["broker"] = "ok" if await runtime.broker.ping() else "unreachable"
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503
