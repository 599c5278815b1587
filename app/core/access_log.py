"""The access log of ``stemma serve``: one short line per request, cheaply made."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypercorn.logging import Logger

#: Who asked, what, the answer and its size, and how long it took. Query strings are
#: left out: they can carry search terms about people, and the live socket's ticket.
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'


class AccessLogger(Logger):
    """Hypercorn's logger, with the access line's values made from only what the
    format names.

    Hypercorn's own atoms copy every request and response header and every
    environment variable into a dictionary for each request, whatever the format
    uses: some 5 % of the CPU of opening a live socket (a ticket request and the
    handshake), which counts when thousands of phones reconnect at once.
    """

    def atoms(self, request: Any, response: Any, request_time: float) -> Mapping[str, str]:
        client = request.get("client")
        size = "-"
        status = "-"
        if response is not None:
            status = str(response["status"])
            for name, value in response.get("headers", ()):
                if name.lower() == b"content-length":
                    size = value.decode("latin1")
                    break
        return {
            "h": f"{client[0]}:{client[1]}" if client and len(client) == 2 else "-",
            "m": request["method"] if request["type"] == "http" else "GET",
            "U": request["path"],
            "s": status,
            "b": size,
            "L": f"{request_time:.6f}",
        }
