"""Who is asking: the signed-in user, their membership in this tenant, and ``@requires``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar, cast

from quart import Response, abort, current_app, g, redirect, request, session, url_for

from app.core.accounts.sessions import end_session, resume_session, start_session
from app.core.audit import Actor
from app.core.csrf import rotate_csrf_token
from app.core.models import Membership, User
from app.core.permissions import role_has
from app.core.web import client_ip, db, is_htmx

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

SESSION_KEY = "auth"


async def load_user() -> None:
    """Set ``g.user`` from the session cookie (called before every request)."""
    g.user = None
    token = session.get(SESSION_KEY)
    if token:
        user = await resume_session(db(), str(token), current_app.extensions["stemma"].settings)
        if user is None:
            session.pop(SESSION_KEY, None)
        g.user = user


async def login_user(user: User) -> None:
    """Sign in with a fresh session: the old cookie's contents and CSRF token are dropped,
    so a session id planted before sign-in is worthless after it."""
    previous = session.get(SESSION_KEY)
    if previous:
        await end_session(db(), str(previous))
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session[SESSION_KEY] = await start_session(
        db(), user, current_app.extensions["stemma"].settings
    )
    rotate_csrf_token()
    g.user = user


async def logout_user() -> None:
    token = session.get(SESSION_KEY)
    if token:
        await end_session(db(), str(token))
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    g.user = None


def current_user() -> User | None:
    return cast(User | None, g.get("user"))


def current_membership() -> Membership | None:
    return cast(Membership | None, g.get("membership"))


def current_actor() -> Actor:
    user = current_user()
    if user is None:
        return Actor(label="anonymous", ip_address=client_ip())
    return Actor.for_user(user, client_ip())


def can(permission: str) -> bool:
    membership = current_membership()
    return membership is not None and role_has(membership.role, permission)


def _login_redirect() -> Response:
    target = url_for("accounts.login", next=request.full_path.rstrip("?"))
    if is_htmx():
        response = Response("", status=401)
        response.headers["HX-Redirect"] = target
        return response
    return cast(Response, redirect(target))


def requires(permission: str) -> Callable[[F], F]:
    """Refuse a view unless the user holds ``permission`` in the URL's tenant.

    Anonymous: sent to sign in. Not a member of this tenant: 404, exactly as if
    the tenant's objects did not exist. A member without the permission: 403.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user() is None:
                return _login_redirect()
            membership = current_membership()
            if g.get("tenant") is None or membership is None:
                abort(404)
            if not role_has(membership.role, permission):
                abort(403)
            return await view(*args, **kwargs)

        wrapper.required_permission = permission  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorator


def requires_login[F: Callable[..., Awaitable[Any]]](view: F) -> F:
    """For pages outside any tenant that need a signed-in user (the tenant chooser)."""

    @wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return _login_redirect()
        return await view(*args, **kwargs)

    return cast(F, wrapper)
