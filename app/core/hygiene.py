"""Request hygiene: what every request of every face (the API too) must be before
anything reads it.

Runs first in the app's ``before_request``, before the CSRF check reads the form:

- **The body limit holds before anything reads the body.** A view with a smaller
  limit than the app's says so with ``@body_limit(bytes)``; the limit is put on the
  request's body at once, so neither the CSRF check nor the form parser can read past
  it, whether the body declared its length or came in chunks. A body past the limit is
  not read further: the view asks ``body_too_large()`` and answers with its own page
  (413), and anything that reads the body anyway gets the 413 page.
- **Text that cannot be stored is refused.** A NUL byte (PostgreSQL refuses it in
  text), a lone surrogate (not encodable as UTF-8) in the query string, a form field,
  an uploaded file's name or a JSON string or key; a text body (forms, JSON, text/*)
  that is not valid UTF-8; JSON nested deeper than any request needs. The answer is
  400: the 400 page in the HTML faces, a problem document in the API; a NUL in a
  well-formed API request (which its OpenAPI document allows) is 422, as a rule's
  refusal is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from quart import current_app, g, request
from quart.wrappers.request import Body, Request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnprocessableEntity

F = TypeVar("F", bound=Callable[..., Any])

#: The description the error pages recognise (their explanation for it).
UNSTORABLE = "unstorable"

#: What no stored text may hold: NUL, and the halves of a surrogate pair alone.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")

#: Content types whose body is text, and so must be UTF-8.
_TEXT_TYPES = ("application/x-www-form-urlencoded", "application/json", "text/")

#: Deeper than any form or API body needs, far below the parser's recursion limit.
MAX_JSON_DEPTH = 32


class LimitedBody(Body):
    """The request body, with a limit that can be lowered once the route is known
    (Quart makes the body before routing, with the app-wide maximum)."""

    def limit(self, max_bytes: int, declared_length: int | None) -> None:
        # Quart's Body keeps its maximum in ``_max_content_length`` and checks it on
        # every chunk appended; what was declared or already arrived is checked here.
        if self._max_content_length is None or max_bytes < self._max_content_length:
            self._max_content_length = max_bytes
        too_long = (declared_length or 0) > max_bytes or len(self._data) > max_bytes
        if too_long and self._must_raise is None:
            self._must_raise = RequestEntityTooLarge()
            self.set_complete()


class StemmaRequest(Request):
    body_class = LimitedBody


class UnstorableInput(BadRequest):
    """Text that cannot be stored: answered 400 with its own explanation."""

    description = UNSTORABLE


class UnstorableApiText(UnprocessableEntity):
    """A NUL character in a well-formed API request (a JSON string or key, a query
    value): the request matches the API's document, whose strings may hold any
    character, but the text cannot be stored. Answered 422 like any other content the
    municipality's rules refuse, with the same explanation."""

    description = UNSTORABLE


def _refuse_text(text: str) -> None:
    """Refuse unstorable ``text``: 422 for a NUL in an API request (see
    ``UnstorableApiText``), 400 otherwise (a lone surrogate is no Unicode text at all,
    and the HTML faces answer their 400 page)."""
    if "\x00" in text and request.path.startswith("/api/") and not _SURROGATE.search(text):
        raise UnstorableApiText()
    raise UnstorableInput()


def body_limit(max_bytes: int) -> Callable[[F], F]:
    """Limit a view's request body to ``max_bytes`` (below the app's maximum)."""

    def mark(view: F) -> F:
        view.max_body_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return mark


def body_too_large() -> bool:
    """Whether this request's body was past its view's ``@body_limit`` (so it was not
    read, nor its CSRF token checked: the view must answer without reading it)."""
    return bool(g.get("body_too_large", False))


def has_unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


async def check_request() -> None:
    """Apply the route's body limit and refuse text that cannot be stored
    (``UnstorableInput``). Sets ``g.body_too_large`` for a body past the limit."""
    g.body_too_large = False
    if await _past_body_limit():
        g.body_too_large = True
        return
    _check_strings(_multidict_strings(request.args))
    if request.method in ("GET", "HEAD", "OPTIONS") and not request.content_length:
        return
    mimetype = request.mimetype
    if mimetype.startswith(_TEXT_TYPES) or mimetype.endswith("+json"):
        data = await request.get_data(cache=True, as_text=False, parse_form_data=False)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UnstorableInput() from None
        if mimetype == "application/json" or mimetype.endswith("+json"):
            _check_json(text)
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _check_strings(_multidict_strings(await request.form))
        files = await request.files
        _check_strings(storage.filename or "" for storage in files.values())


async def _past_body_limit() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "max_body_bytes", None)
    if limit is None:
        return False
    body = request.body
    if isinstance(body, LimitedBody):
        body.limit(limit, request.content_length)
    if request.content_length is not None:
        return request.content_length > limit
    try:
        await request.get_data(cache=True)
    except RequestEntityTooLarge:
        return True
    return False


def _multidict_strings(values: MultiDict[str, Any]) -> Iterable[str]:
    for key, value in values.items(multi=True):
        yield key
        if isinstance(value, str):
            yield value


def _check_strings(strings: Iterable[str]) -> None:
    for text in strings:
        if has_unstorable(text):
            _refuse_text(text)


def _check_json(text: str) -> None:
    """Refuse unstorable strings anywhere in a JSON body, and nesting past
    ``MAX_JSON_DEPTH``. JSON that does not parse is left to the view's parser."""
    if has_unstorable(text):  # a raw NUL (not allowed in JSON strings anyway)
        raise UnstorableInput()
    try:
        data = json.loads(text)
    except RecursionError:
        raise UnstorableInput() from None
    except ValueError:
        return
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise UnstorableInput()
        if isinstance(value, str):
            _check_strings((value,))
        elif isinstance(value, dict):
            _check_strings(value.keys())
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
