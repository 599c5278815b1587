"""Who is asking: the signed-in user, their membership in this tenant, and ``@requires``."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar, cast

from itsdangerous import BadSignature, URLSafeTimedSerializer
from quart import Response, abort, current_app, g, redirect, request, session, url_for

from app.core.accounts.second_factor import REMEMBER_FOR
from app.core.accounts.sessions import end_session, resume_session, start_session
from app.core.audit import Actor
from app.core.csrf import rotate_csrf_token
from app.core.models import Membership, User
from app.core.permissions import role_has
from app.core.web import client_ip, db, is_htmx

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

SESSION_KEY = "auth"
#: A sign-in that passed its first factor and waits for the second step or enrolment.
#: It grants nothing: no session exists until the second step is done.
PENDING_KEY = "second_step"
PENDING_FOR_SECONDS = 15 * 60
#: The cookie of a browser remembered after a second step (30 days).
DEVICE_COOKIE = "stemma_device"


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


async def begin_second_step(user: User, stage: str, next_path: str | None) -> None:
    """Hold a sign-in between its two steps (``verify``) or until enrolment is done
    (``enrol``): any session of this browser ends, and only the user's id, the stage and
    a deadline are kept in the signed cookie."""
    await logout_user()
    session[PENDING_KEY] = {
        "user": user.id,
        "stage": stage,
        "until": int(time.time()) + PENDING_FOR_SECONDS,
        "next": next_path or "",
    }
    rotate_csrf_token()


def pending_second_step() -> dict[str, Any] | None:
    """The sign-in waiting for its second step or enrolment, unless it ran out."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if int(pending.get("until", 0)) < time.time():
        session.pop(PENDING_KEY, None)
        return None
    return pending


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.extensions["stemma"].settings.secret_key, salt="remembered-device"
    )


def device_cookie_value(user_id: int, token: str) -> str:
    """The remembered browser's cookie: its token signed together with its user."""
    return _device_serializer().dumps({"user": user_id, "token": token})


def remembered_device_token(user_id: int) -> str | None:
    """The token of this browser's remembered-device cookie when it is signed by us,
    younger than 30 days and for this user; else None."""
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return None
    try:
        data = _device_serializer().loads(value, max_age=int(REMEMBER_FOR.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("user") != user_id:
        return None
    token = data.get("token")
    return token if isinstance(token, str) else None


def current_session_token() -> str | None:
    token = session.get(SESSION_KEY)
    return str(token) if token else None


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
    pending = pending_second_step()
    if pending is None:
        target = url_for("accounts.login", next=request.full_path.rstrip("?"))
    elif pending["stage"] == "enrol":
        target = url_for("accounts.enrol_second_factor")
    else:
        target = url_for("accounts.second_step")
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
