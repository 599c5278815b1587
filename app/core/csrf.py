"""CSRF protection for every state-changing form and HTMX request.

The token lives in the signed session cookie and is sent back as the
``csrf_token`` form field or the ``X-CSRF-Token`` header. The JSON API is
exempt: it authenticates with bearer tokens, which browsers never attach.
"""

from __future__ import annotations

import hmac
import secrets

from quart import request, session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


def rotate_csrf_token() -> str:
    session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


async def csrf_is_valid() -> bool:
    if request.method in SAFE_METHODS:
        return True
    expected = session.get("csrf")
    if not expected:
        return False
    sent = request.headers.get("X-CSRF-Token")
    if not sent:
        form = await request.form
        sent = form.get("csrf_token")
    return bool(sent) and hmac.compare_digest(str(sent), str(expected))
