"""The tenant gate of a request: how a page, an API call or a socket's handshake enters
its municipality, through ``tenant_scope`` as jobs and commands do.

A request is let into a municipality by what it carries: the URL's slug (pages and
sockets), the API token (the JSON API), or the signed-in clerk's own person (a
check-in from the phone). Each calls ``enter_request_tenant`` once it knows which;
the scope is left when the request ends.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager

from quart import g

from app.core.models import Tenant
from app.core.tenancy import tenant_scope

_SCOPES = "_tenant_scopes"


def enter_request_tenant(tenant: Tenant) -> None:
    """Read and write as ``tenant`` for the rest of this request (``g.tenant``)."""
    scope: AbstractContextManager[None] = tenant_scope(tenant.id)
    scope.__enter__()
    g.setdefault(_SCOPES, []).append(scope)
    g.tenant = tenant


def leave_request_tenant() -> None:
    """Called once the request is over (its teardown)."""
    for scope in reversed(g.pop(_SCOPES, [])):
        # The teardown may run in another context than the one entered; that context
        # is gone with the request, and the scope with it.
        with contextlib.suppress(ValueError):
            scope.__exit__(None, None, None)
