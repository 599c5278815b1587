"""Error pages in the layout of the face the visitor was using; problem documents for the API."""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
from quart import (
    Quart,
    Response,
    g,
    has_request_context,
    has_websocket_context,
    render_template,
    request,
    websocket,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from app.core.db import lost_the_database
from app.core.errors import DomainError, NotFound
from app.core.hygiene import UNSTORABLE
from app.core.i18n import lazy_gettext
from app.core.problems import problem_response
from app.core.web import is_api_request, refusal_answer, reload_identity

log = logging.getLogger(__name__)

TITLES = {
    400: lazy_gettext("The request could not be handled"),
    403: lazy_gettext("You do not have access to this page"),
    404: lazy_gettext("The page could not be found"),
    405: lazy_gettext("The request could not be handled"),
    413: lazy_gettext("What you sent is too large"),
    429: lazy_gettext("Too many attempts"),
    500: lazy_gettext("Something went wrong"),
    503: lazy_gettext("Briefly unavailable"),
}
EXPLANATIONS = {
    400: lazy_gettext("Go back, reload the page and try again."),
    403: lazy_gettext("Your role does not allow this. Ask an administrator if you need it."),
    404: lazy_gettext("Check the address, or go back to the start page."),
    405: lazy_gettext("Go back, reload the page and try again."),
    413: lazy_gettext("Send a smaller file or less text."),
    429: lazy_gettext("Wait a while and try again."),
    500: lazy_gettext("The error has been logged. Try again in a moment."),
    503: lazy_gettext(
        "The service is moving to a standby server or is very busy."
        " Wait a few seconds and try again."
    ),
}
#: What a 503 asks the client to wait: a database failover takes about 5-7 s, a Redis
#: one 2-3 s (docs/cluster.md).
RETRY_AFTER_SECONDS = 5
#: Errors of a broker that is away or being replaced (a demoted master answers READONLY).
_BROKER_AWAY = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
)
CSRF_EXPLANATION = lazy_gettext(
    "The form had expired, so nothing was saved. Reload the page and try again."
)
UNSTORABLE_EXPLANATION = lazy_gettext(
    "What you sent contains characters that cannot be saved (such as a null character"
    " or text that is not UTF-8), so nothing was saved. Remove them and try again."
)
SPECIAL_EXPLANATIONS = {"csrf": CSRF_EXPLANATION, UNSTORABLE: UNSTORABLE_EXPLANATION}


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the service is briefly away rather than that the request
    or the code is wrong: the database was lost (a failover), no pooled connection came
    free in time, or the broker is away or being replaced. Such a request is answered
    503 with Retry-After (the client sends it again), not 500."""
    if lost_the_database(error):
        return True
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, (PoolTimeout, *_BROKER_AWAY)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def answer_unavailable(error: Exception) -> Response:
    """503 with Retry-After: a problem document for the API, the error page otherwise
    (drawn without the request's identity when the database cannot give it)."""
    log.warning("unavailable on %s %s: %s", request.method, request.path, type(error).__name__)
    if is_api_request():
        response = problem_response(503, str(TITLES[503]), str(EXPLANATIONS[503]))
    else:
        try:
            await recover_session()
            response = await render_error(503)
        except Exception:
            log.warning("the 503 page failed to render", exc_info=True)
            response = Response(str(TITLES[503]), status=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def face_layout() -> str:
    """The layout of the face the visitor was on, or the public one."""
    membership = g.get("membership")
    if request.blueprint == "planning" and membership is not None and membership.role != "clerk":
        return "planning/layout.html"
    if request.blueprint == "portal" and membership is not None:
        return "portal/layout.html"
    return "public/layout.html"


async def render_error(status: int, description: str | None = None) -> Response:
    explanation = SPECIAL_EXPLANATIONS.get(description or "") or EXPLANATIONS.get(status)
    body = await render_template(
        "errors/error.html",
        layout=face_layout(),
        status=status,
        title=str(TITLES.get(status, TITLES[400])),
        explanation=str(explanation or ""),
    )
    return Response(body, status=status, content_type="text/html; charset=utf-8")


async def answer_refusal(error: DomainError) -> Any:
    """The one handler of an HTML face for a refused action (each face registers it
    on its blueprint). It shows the answer the view gave with ``on_refusal``: the form
    again with the message at its field, a fragment, or a flash and a redirect.

    A service that rolled back before refusing expired the request's tenant and user,
    which every page reads: they are loaded again here, once, for every view. A
    ``NotFound`` is the 404 page; a refusal no view planned for is a bug, logged and
    answered as one, as before there was a handler.
    """
    await reload_identity()
    answer = refusal_answer(error)
    if answer is not None:
        return await answer(error)
    if isinstance(error, NotFound):
        return await render_error(404)
    log.error("unanswered refusal on %s %s", request.method, request.path, exc_info=error)
    return await render_error(500)


async def recover_session() -> None:
    """Make the request's session usable for drawing the error page.

    After a failed write the session must be rolled back before it runs anything
    (else every lazy load raises ``PendingRollbackError``, and the error page with it);
    nothing of the failed request is kept anyway. The request's tenant, user and
    membership, expired by the rollback, are loaded again; if the database cannot do
    even that, the page is drawn without them (the public layout, no names).
    """
    session = g.get("_db")
    if session is None:
        return
    try:
        await session.rollback()
        await reload_identity()
    except Exception:
        log.warning("error page drawn without the request's identity", exc_info=True)
        for name in ("user", "membership"):
            setattr(g, name, None)
        g.tenant = None


def _with_allow(error: HTTPException, response: Response) -> Response:
    """A 405 names the methods the address takes (RFC 9110), as werkzeug's own does."""
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def register_error_pages(app: Quart) -> None:
    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        if is_api_request():
            detail = SPECIAL_EXPLANATIONS.get(error.description or "")
            title = str(TITLES.get(status, error.name))
            return _with_allow(
                error, problem_response(status, title, str(detail) if detail else None)
            )
        try:
            return _with_allow(error, await render_error(status, error.description))
        except Exception:
            log.exception("error page failed to render")
            return Response(error.name, status=status)

    @app.errorhandler(NotFound)
    async def _not_found(_error: NotFound) -> Response:
        # A service's "not found (for this tenant)" is the same 404 page everywhere,
        # so views need not translate it themselves. (The API blueprint's own
        # DomainError handler answers there with a problem document.)
        return await render_error(404)

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        if not has_request_context():
            # A websocket handler's error: there is no request and no page to render.
            path = websocket.path if has_websocket_context() else "?"
            log.exception("unhandled error on websocket %s", path)
            return Response("Internal Server Error", status=500)
        if unavailable(error):
            return await answer_unavailable(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        if is_api_request():
            return problem_response(500, str(TITLES[500]))
        try:
            await recover_session()
            return await render_error(500)
        except Exception:
            log.exception("error page failed to render")
            return Response("Internal Server Error", status=500)
