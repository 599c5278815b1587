"""What makes the portal installable on a phone: the web app manifest and the service
worker, both served under the portal's path so the worker's scope is the portal."""

from __future__ import annotations

import json

from quart import Response, g, url_for

from app.core.i18n import _
from app.core.push_endpoints import service_worker_response
from app.core.routes import Routes

routes = Routes()


@routes.get("/manifest.webmanifest")
async def manifest() -> Response:
    """Public on purpose (browsers fetch it without cookies); it names only the portal."""
    tenant = g.tenant
    title = _("Poll clerk portal")
    body = {
        "name": f"{tenant.name} · {title}",
        "short_name": tenant.name[:12],
        "start_url": url_for("portal.home"),
        "scope": url_for("portal.home"),
        "display": "standalone",
        "background_color": "#f3f5f8",
        "theme_color": "#1d4e89",
        "lang": tenant.locale,
        "icons": [
            {"src": url_for("static", filename="icons/stemma-192.png"), "sizes": "192x192",
             "type": "image/png"},
            {"src": url_for("static", filename="icons/stemma-512.png"), "sizes": "512x512",
             "type": "image/png"},
            {"src": url_for("static", filename="icons/stemma.svg"), "sizes": "any",
             "type": "image/svg+xml"},
        ],
    }  # fmt: skip
    response = Response(
        json.dumps(body, ensure_ascii=False), content_type="application/manifest+json"
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@routes.get("/sw.js")
async def service_worker() -> Response:
    return service_worker_response()
