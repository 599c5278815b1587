"""Helpers every face uses to read a request and answer it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from jinja2_fragments.quart import render_block
from quart import current_app, g, render_template, request
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DomainError, NotFound
from app.core.settings import Settings

#: What a view shows when a service refuses its action: called with the refusal.
RefusalAnswer = Callable[[DomainError], Awaitable[Any]]


def db() -> AsyncSession:
    """This request's database session, opened on first use and closed after the response."""
    session: AsyncSession | None = g.get("_db")
    if session is None:
        session = current_app.extensions["stemma"].session_factory()
        g._db = session
    return session


def app_settings() -> Settings:
    """This app's settings (the base URL for mailed links, the secret key...)."""
    settings: Settings = current_app.extensions["stemma"].settings
    return settings


def client_ip() -> str:
    # Behind a proxy, Hypercorn's ProxyFixMiddleware (``--proxy``) rewrites remote_addr.
    return request.remote_addr or "unknown"


def is_api_request() -> bool:
    """Anything under /api/ speaks JSON and authenticates with bearer tokens."""
    return request.path.startswith("/api/")


def is_htmx() -> bool:
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


async def render(template: str, block: str | None = None, **context: Any) -> str:
    """Render a page, or only ``block`` of it when HTMX asks for a fragment."""
    if block is not None and is_htmx():
        return await render_block(template, block, **context)
    return await render_template(template, **context)


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after sign-in, or None for anything else."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


async def reload_identity() -> None:
    """Load the request's tenant, user and membership again if a service rolled the
    session back (a rollback expires every loaded object, and templates read them)."""
    session = db()
    for name in ("tenant", "user", "membership"):
        obj = g.get(name)
        if obj is not None and obj in session and inspect(obj).expired_attributes:
            await session.refresh(obj)


def on_refusal(answer: RefusalAnswer, *, not_found: bool = False) -> None:
    """Say what this request shows if a service refuses the action.

    A view calls it before the service; when the service raises a ``DomainError``, the
    face's one handler (``app.core.error_pages.answer_refusal``) calls ``answer`` with
    it: typically the same form again with the message at its field, a fragment for
    HTMX, or a flash and a redirect. A ``NotFound`` stays the 404 page unless
    ``not_found`` says the answer handles it too.
    """
    g.refusal_answer = answer
    g.refusal_answers_not_found = not_found


def refusal_answer(error: DomainError) -> RefusalAnswer | None:
    """The answer a view gave for ``error``, or None (a 404, or a refusal not planned)."""
    answer: RefusalAnswer | None = g.get("refusal_answer")
    if isinstance(error, NotFound) and not g.get("refusal_answers_not_found", False):
        return None
    return answer
