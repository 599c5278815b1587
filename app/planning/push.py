"""Web pushes for coordinators: subscribing this browser, and the service worker that
shows the pushes, served under the back office's path so its scope is the back office."""

from __future__ import annotations

from typing import Any

from quart import Response

from app.core.auth import requires
from app.core.outbox import push
from app.core.web import app_settings
from app.planning import blueprint
from app.portal.install import SERVICE_WORKER
from app.portal.push import remove_posted_subscription, save_posted_subscription


@blueprint.context_processor
async def _push_context() -> dict[str, Any]:
    return {"push_public_key": lambda: push.application_server_key(app_settings())}


@blueprint.post("/push/subscription")
@requires("ops.coordinate")
async def push_subscribe() -> tuple[Response, int]:
    return await save_posted_subscription()


@blueprint.post("/push/subscription/delete")
@requires("ops.coordinate")
async def push_unsubscribe() -> tuple[Response, int]:
    return await remove_posted_subscription()


@blueprint.get("/sw.js")
async def service_worker() -> Response:
    """The same worker as the portal's; under this scope it only shows pushes (it keeps
    no pages offline)."""
    response = Response(SERVICE_WORKER.read_text(), content_type="text/javascript; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"
    return response
