"""RFC 9457 problem details: the one error shape of the JSON API.

In core, not in the API face, because the app's error pages answer a request to the
API with a problem document too (``app.core.error_pages``).
"""

from __future__ import annotations

import json
from typing import Any

from quart import Response

PROBLEM_TYPE_BASE = "https://stemma.invalid/problems/"


class ApiError(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


def problem_response(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/problem+json",
    )
