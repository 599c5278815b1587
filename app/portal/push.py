"""Turning web pushes on and off for this phone: station leads get a push when an
incident they reported moves on. The endpoints themselves are shared with the back
office (``app.core.push_endpoints``)."""

from __future__ import annotations

from quart import Response

from app.core.auth import requires
from app.core.push_endpoints import (
    push_context,
    remove_posted_subscription,
    save_posted_subscription,
)
from app.core.routes import Routes

routes = Routes()

routes.context_processor(push_context)


@routes.post("/push/subscription")
@requires("portal.use")
async def push_subscribe() -> tuple[Response, int]:
    return await save_posted_subscription()


@routes.post("/push/subscription/delete")
@requires("portal.use")
async def push_unsubscribe() -> tuple[Response, int]:
    return await remove_posted_subscription()
