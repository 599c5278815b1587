"""Which scope each API endpoint asks of a token, and the answer when it is missing.

An endpoint's area is its module's (``app/api/applications.py`` is ``applications``);
a GET asks ``<area>:read`` and anything else ``<area>:write``. The few exceptions are
named here. ``/tenant`` asks nothing: every valid token may see whose it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart import Response

from app.core.accounts.api_tokens import SCOPES
from app.core.i18n import _
from app.core.problems import problem_response

#: Endpoints of ``app/api/__init__.py`` (no area module of their own).
OWN_ENDPOINTS: dict[str, str | None] = {
    "api.get_tenant": None,
    "api.list_audit_entries": "audit:read",
}
#: Endpoints whose method does not say what they do: a ticket onto the live socket is
#: asked for with a POST, and lets its holder listen.
EXCEPTIONS: dict[str, str] = {"api.api_create_realtime_ticket": "realtime:read"}


def required_scope(endpoint: str, view: Callable[..., Any], method: str) -> str | None:
    """The scope a token needs to call ``view`` (registered as ``endpoint``) with
    ``method``, or None when any valid token may."""
    if endpoint in EXCEPTIONS:
        return EXCEPTIONS[endpoint]
    if endpoint in OWN_ENDPOINTS:
        return OWN_ENDPOINTS[endpoint]
    area = view.__module__.rsplit(".", 1)[-1]
    access = "read" if method in ("GET", "HEAD", "OPTIONS") else "write"
    return f"{area}:{access}"


def missing_scope(scope: str) -> Response:
    """403 with a problem document naming the scope the token lacks."""
    return problem_response(
        403,
        _("The API token may not do this."),
        _("It lacks the scope %(scope)s.", scope=scope),
        missing_scope=scope,
    )


def expired_token() -> Response:
    response = problem_response(401, _("The API token has expired."))
    response.headers["WWW-Authenticate"] = 'Bearer realm="stemma", error="invalid_token"'
    return response


def known(scope: str | None) -> bool:
    return scope is None or scope in SCOPES


#: The problem document of a 401 or 403, for the OpenAPI document.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "missing_scope": {"type": "string"},
    },
}


def document_access(operation: dict[str, Any], scope: str | None) -> None:
    """Add the 401 (no, an unknown or an expired token) and, when a scope is asked,
    the 403 (the token lacks it) to an OpenAPI operation, and name the scope."""
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    responses = dict(operation.get("responses", {}))
    responses.setdefault(
        401,
        {"description": "No valid token: missing, unknown, revoked or expired", "content": content},
    )
    if scope is not None:
        responses.setdefault(
            403, {"description": f"The token lacks the scope {scope}", "content": content}
        )
        operation["security"] = [{"bearer": [scope]}]
    operation["responses"] = responses
