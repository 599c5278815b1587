"""What every API request is checked for after its token and before its view: ids in
the path that no 32-bit column can hold, and a body that is not UTF-8 text or holds a
lone surrogate escape (``"\\ud800"``), which no database column can store.

Each is answered as its OpenAPI document says: a path id out of range is an object
that does not exist (404); a body that is not text a 400 problem document.
"""

from __future__ import annotations

import json

from quart import Response, request

from app.core.i18n import _
from app.core.problems import problem_response
from app.core.routes import Routes
from app.core.validation import MAX_ID

routes = Routes()

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@routes.before_request
async def _check_request() -> Response | None:
    view_args = request.view_args or {}
    if any(isinstance(value, int) and not 0 < value <= MAX_ID for value in view_args.values()):
        return problem_response(404, _("Not found."))
    if request.method in BODY_METHODS and not await _body_is_text():
        return problem_response(
            400, _("The request is not valid."), _("The body must be JSON in UTF-8.")
        )
    return None


async def _body_is_text() -> bool:
    body = await request.get_data(cache=True, as_text=False)
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        return False
    if "\\u" not in text:
        return True
    # Escapes only: parse once more to find a surrogate that pairs with nothing.
    try:
        json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    except ValueError:
        return True  # not JSON at all: the view's own check answers that
    return True
