"""The access line of ``stemma serve``: the same fields as Hypercorn's own atoms give."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypercorn.config import Config
from hypercorn.logging import AccessLogAtoms

from app.core.access_log import ACCESS_LOG_FORMAT, AccessLogger


def _scope(kind: str = "http") -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": kind,
        "http_version": "1.1",
        "scheme": "http" if kind == "http" else "ws",
        "path": "/demo/ws" if kind == "websocket" else "/api/v1/checkins",
        "query_string": b"ticket=secret-ticket&q=Anna",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"phone")],
        "client": ("10.1.2.3", 51234),
    }
    if kind == "http":
        scope["method"] = "POST"
    return scope


@pytest.mark.parametrize("kind", ["http", "websocket"])
def test_the_line_is_what_hypercorns_atoms_make_of_the_format(kind: str) -> None:
    response = {"status": 201, "headers": [(b"Content-Length", b"57"), (b"x-other", b"1")]}
    config = Config()
    ours = ACCESS_LOG_FORMAT % AccessLogger(config).atoms(_scope(kind), response, 0.012345)
    theirs = ACCESS_LOG_FORMAT % AccessLogAtoms(_scope(kind), response, 0.012345)  # type: ignore[arg-type]
    assert ours == theirs
    assert "secret-ticket" not in ours and "Anna" not in ours
    expected_path = "/demo/ws" if kind == "websocket" else "/api/v1/checkins"
    expected_method = "GET" if kind == "websocket" else "POST"
    assert ours == f'10.1.2.3:51234 "{expected_method} {expected_path}" 201 57 0.012345s'


def test_no_response_and_no_size_are_dashes() -> None:
    atoms = AccessLogger(Config()).atoms(_scope(), None, 1.5)
    assert ACCESS_LOG_FORMAT % atoms == '10.1.2.3:51234 "POST /api/v1/checkins" - - 1.500000s'
    atoms = AccessLogger(Config()).atoms(_scope(), {"status": 204, "headers": []}, 0.0)
    assert ACCESS_LOG_FORMAT % atoms == '10.1.2.3:51234 "POST /api/v1/checkins" 204 - 0.000000s'


async def test_requests_are_logged_through_the_access_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = Config()
    config.accesslog = logging.getLogger("test.access")
    config.access_log_format = ACCESS_LOG_FORMAT
    config.logger_class = AccessLogger
    with caplog.at_level(logging.INFO, logger="test.access"):
        await config.log.access(_scope(), {"status": 200, "headers": []}, 0.25)  # type: ignore[arg-type]
    assert caplog.messages == ['10.1.2.3:51234 "POST /api/v1/checkins" 200 - 0.250000s']
