"""Turning web pushes on and off for this phone: the JSON the portal's script posts.

Station leads get a push when an incident they reported moves on; the script in
``static/js/push.js`` asks the browser for a subscription with our VAPID key and posts
it here (with the CSRF header, like every HTMX request).
"""

from __future__ import annotations

from typing import Any

from quart import Response, jsonify, request

from app.core.auth import current_user, requires
from app.core.outbox import push
from app.core.web import app_settings, db
from app.portal import blueprint


@blueprint.context_processor
async def _push_context() -> dict[str, Any]:
    # A function, so the key is only read (or made, the first time) by pages showing it.
    return {"push_public_key": lambda: push.application_server_key(app_settings())}


@blueprint.post("/push/subscription")
@requires("portal.use")
async def push_subscribe() -> tuple[Response, int]:
    return await save_posted_subscription()


@blueprint.post("/push/subscription/delete")
@requires("portal.use")
async def push_unsubscribe() -> tuple[Response, int]:
    return await remove_posted_subscription()


async def save_posted_subscription() -> tuple[Response, int]:
    """Keep the posted ``PushSubscription`` JSON for the signed-in user (shared with the
    back office's view)."""
    user = current_user()
    assert user is not None
    data = await request.get_json(silent=True)
    try:
        info = push.parse_subscription(data, allow_loopback=app_settings().push_allow_loopback)
    except push.PushSubscriptionError as error:
        return jsonify({"error": str(error)}), 422
    await push.save_subscription(
        db(), user.id, info, user_agent=request.headers.get("User-Agent", "")
    )
    return jsonify({"subscribed": True}), 201


async def remove_posted_subscription() -> tuple[Response, int]:
    user = current_user()
    assert user is not None
    data = await request.get_json(silent=True)
    endpoint = data.get("endpoint") if isinstance(data, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        return jsonify({"error": "endpoint missing"}), 422
    removed = await push.remove_subscription(db(), user.id, endpoint)
    return jsonify({"subscribed": False, "removed": removed}), 200
