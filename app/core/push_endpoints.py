"""What a browser needs to receive web pushes, for every face that offers them: the
public key for its pages, the service worker that shows the pushes, and the JSON its
script posts to turn pushes on and off.

Each face routes these under its own path, so the worker's scope is that face, and
behind its own permission. The script in ``static/js/push.js`` asks the browser for a
subscription with our VAPID key and posts it (with the CSRF header, like every HTMX
request).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quart import Response, jsonify, request

from app.core.auth import current_user
from app.core.outbox import push
from app.core.web import app_settings, db

SERVICE_WORKER = Path(__file__).resolve().parents[2] / "static" / "js" / "sw.js"


async def push_context() -> dict[str, Any]:
    """The template context of a face's pages: the key their script subscribes with."""
    # A function, so the key is only read (or made, the first time) by pages showing it.
    return {"push_public_key": lambda: push.application_server_key(app_settings())}


def service_worker_response() -> Response:
    response = Response(SERVICE_WORKER.read_text(), content_type="text/javascript; charset=utf-8")
    # A worker must be checked for updates often; it decides what the phone keeps.
    response.headers["Cache-Control"] = "no-cache"
    return response


async def save_posted_subscription() -> tuple[Response, int]:
    """Keep the posted ``PushSubscription`` JSON for the signed-in user."""
    user = current_user()
    assert user is not None
    data = await request.get_json(silent=True)
    try:
        allow_loopback = app_settings().push_allow_loopback
        info = push.parse_subscription(data, allow_loopback=allow_loopback)
        await push.check_resolved_endpoint(info.endpoint, allow_loopback=allow_loopback)
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
