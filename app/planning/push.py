"""Web pushes for coordinators: subscribing this browser, and the service worker that
shows the pushes, served under the back office's path so its scope is the back office.
The endpoints themselves are shared with the portal (``app.core.push_endpoints``)."""

from __future__ import annotations

from quart import Response

from app.core.auth import requires
from app.core.push_endpoints import (
    push_context,
    remove_posted_subscription,
    save_posted_subscription,
    service_worker_response,
)
from app.core.routes import Routes

routes = Routes()

routes.context_processor(push_context)


@routes.post("/push/subscription")
@requires("ops.coordinate")
async def push_subscribe() -> tuple[Response, int]:
    return await save_posted_subscription()


@routes.post("/push/subscription/delete")
@requires("ops.coordinate")
async def push_unsubscribe() -> tuple[Response, int]:
    return await remove_posted_subscription()


@routes.get("/sw.js")
async def service_worker() -> Response:
    """The same worker as the portal's; under this scope it only shows pushes (it keeps
    no pages offline)."""
    return service_worker_response()
