"""A local 46elks-style SMS gateway, for the tests, the bench and development.

It speaks the part of the API Stemma uses (REFERENCES.md §1):

- ``POST /a1/sms`` (Basic auth, form ``from``, ``to``, ``message``, ``whendelivered``)
  answers ``{"id", "status": "created", "parts", "cost", ...}`` and, after ``dlr_delay``,
  posts delivery reports (``id``, ``status`` sent then delivered or failed,
  ``delivered``) to ``whendelivered``, Basic auth taken from the address; a report not
  answered 2xx is posted again a few times, as the real gateway does for hours.
- ``GET /a1/sms`` the history, newest first, with ``to``, ``start`` (before),
  ``end`` (after), ``limit`` and ``next``.
- ``incoming(url, ...)`` posts an SMS to a number's ``sms_url``, as a clerk's reply.

And it misbehaves on request: ``fail_next`` answers errors, ``timeout_after_accept``
keeps the SMS and never answers, ``slow`` answers late, ``fail_numbers`` reports
failed delivery. ``received`` is what it holds, so duplicates can be counted.

Standalone: ``python -m tests.sms_gateway --port 8999`` (user ``u1``, password ``p1``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web

GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€")


def parts_of(text: str) -> int:
    """How many SMS the text takes: GSM-7 160/153 characters, else UCS-2 70/67."""
    if all(char in GSM7 or char in GSM7_EXTENDED for char in text):
        length = sum(2 if char in GSM7_EXTENDED else 1 for char in text)
        return 1 if length <= 160 else -(-length // 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


@dataclass
class Sms:
    id: str
    sender: str
    to: str
    message: str
    created: str
    parts: int
    whendelivered: str | None
    status: str = "created"
    delivered: str | None = None
    direction: str = "outgoing"

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": self.id,
            "from": self.sender,
            "to": self.to,
            "message": self.message,
            "direction": self.direction,
            "created": self.created,
            "status": self.status,
            "parts": self.parts,
            "cost": 3500 * self.parts,
        }
        if self.delivered:
            answer["delivered"] = self.delivered
        return answer


@dataclass
class LocalGateway:
    username: str = "u1"
    password: str = "p1"
    #: Seconds before the delivery reports are posted (None: no reports).
    dlr_delay: float | None = 0.05
    #: Answer this many sends with ``fail_status`` before accepting again.
    fail_next: int = 0
    fail_status: int = 503
    #: Keep this many SMS and never answer their requests (the sender times out).
    timeout_after_accept: int = 0
    #: Seconds to wait before answering each send.
    slow: float = 0.0
    #: Numbers whose SMS are reported failed instead of delivered.
    fail_numbers: set[str] = field(default_factory=set)
    received: list[Sms] = field(default_factory=list)
    #: Delivery reports posted: (id, status, the answer's HTTP status).
    reports: list[tuple[str, str, int]] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _client: aiohttp.ClientSession | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/a1/sms"

    def duplicates(self) -> int:
        """SMS held more than once: the same text to the same number."""
        counts = Counter((sms.to, sms.message) for sms in self.received)
        return sum(count - 1 for count in counts.values())

    async def start(self, port: int = 0) -> LocalGateway:
        app = web.Application()
        app.router.add_post("/a1/sms", self._send)
        app.router.add_get("/a1/sms", self._history)
        app.router.add_get("/_stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        self._release.set()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Wait until ``condition()`` holds, asked again whenever an SMS comes or a
        delivery report is done (bound it with ``asyncio.timeout``)."""
        while not condition():
            self._changed.clear()
            await self._changed.wait()

    async def settle(self) -> None:
        """Wait (5 s at most) until every delivery report is posted."""
        async with asyncio.timeout(5):
            await self.wait_until(lambda: not self._tasks)

    def _authorized(self, request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode(
            "ascii"
        )
        return secrets.compare_digest(request.headers.get("Authorization", ""), expected)

    async def _send(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return web.Response(status=401, text="Unauthorized")
        form = await request.post()
        if self.slow:
            await asyncio.sleep(self.slow)
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=self.fail_status, text="Service unavailable")
        to, message = str(form.get("to", "")), str(form.get("message", ""))
        if not to.startswith("+") or not message:
            return web.Response(status=400, text="Invalid to number")
        sms = Sms(
            id="s" + secrets.token_hex(16),
            sender=str(form.get("from", "")),
            to=to,
            message=message,
            created=_now(),
            parts=parts_of(message),
            whendelivered=str(form["whendelivered"]) if form.get("whendelivered") else None,
        )
        self.received.append(sms)
        self._changed.set()
        if sms.whendelivered and self.dlr_delay is not None:
            self._later(self._report(sms))
        if self.timeout_after_accept > 0:
            self.timeout_after_accept -= 1
            await self._release.wait()  # held until the sender gives up, or we stop
        return web.json_response(sms.as_json())

    async def _history(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return web.Response(status=401, text="Unauthorized")
        to = request.query.get("to")
        before = request.query.get("start")
        after = request.query.get("end")
        limit = min(int(request.query.get("limit", "100")), 100)
        found = [
            sms
            for sms in reversed(self.received)
            if (to is None or sms.to == to)
            and (before is None or sms.created < before)
            and (after is None or sms.created > after)
        ]
        page = found[:limit]
        answer: dict[str, Any] = {"data": [sms.as_json() for sms in page]}
        if len(found) > limit:
            answer["next"] = page[-1].created
        return web.json_response(answer)

    async def _stats(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "received": len(self.received),
                "distinct": len({(sms.to, sms.message) for sms in self.received}),
                "duplicates": self.duplicates(),
                "reports": len(self.reports),
                "cpu_seconds": round(time.process_time(), 2),
            }
        )

    def _later(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            self._changed.set()

        task.add_done_callback(done)

    def _session(self) -> aiohttp.ClientSession:
        if self._client is None or self._client.closed:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._client

    async def _report(self, sms: Sms) -> None:
        assert self.dlr_delay is not None
        await asyncio.sleep(self.dlr_delay)
        sms.status = "sent"
        await self.post_report(sms, "sent")
        final = "failed" if sms.to in self.fail_numbers else "delivered"
        sms.status = final
        if final == "delivered":
            sms.delivered = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        await self.post_report(sms, final)

    async def post_report(
        self, sms: Sms, status: str, attempts: int = 5, url: str | None = None
    ) -> int:
        """Post one delivery report, again after a pause while it is not answered
        2xx (up to ``attempts`` times); returns the last answer's status."""
        form = {"id": sms.id, "status": status}
        if status == "delivered" and sms.delivered:
            form["delivered"] = sms.delivered
        answer = 0
        for attempt in range(attempts):
            answer = await post_form(self._session(), url or sms.whendelivered or "", form)
            self.reports.append((sms.id, status, answer))
            if 200 <= answer <= 204:
                break
            await asyncio.sleep(0.05 * (attempt + 1))
        return answer

    async def post(self, url: str, form: dict[str, str]) -> int:
        """POST a form to one of our callback addresses; the HTTP status (0: none)."""
        return await post_form(self._session(), url, form)

    async def incoming(self, url: str, sender: str, to: str, message: str) -> tuple[int, str]:
        """An SMS to one of our numbers, posted to its ``sms_url`` as 46elks does."""
        sms = Sms(
            id="s" + secrets.token_hex(16),
            sender=sender,
            to=to,
            message=message,
            created=_now(),
            parts=parts_of(message),
            whendelivered=None,
            direction="incoming",
        )
        form = {
            "id": sms.id,
            "from": sender,
            "to": to,
            "message": message,
            "direction": "incoming",
            "created": sms.created,
        }
        return await post_form(self._session(), url, form), sms.id


async def post_form(client: aiohttp.ClientSession, url: str, form: dict[str, str]) -> int:
    """POST a form to ``url``, Basic auth from its user and password as a browser
    would take them; returns the HTTP status (0: no answer)."""
    parts = urlsplit(url)
    headers = {}
    if parts.username is not None:
        credentials = f"{parts.username}:{parts.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode("ascii")
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    try:
        async with client.post(url, data=form, headers=headers) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def _serve(port: int, dlr_delay: float | None) -> None:
    gateway = await LocalGateway(dlr_delay=dlr_delay).start(port)
    print(f"46elks-style gateway at {gateway.url} (user u1, password p1)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await gateway.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="A local 46elks-style SMS gateway.")
    parser.add_argument("--port", type=int, default=8999)
    parser.add_argument("--no-reports", action="store_true", help="post no delivery reports")
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(arguments.port, None if arguments.no_reports else 0.05))


if __name__ == "__main__":
    main()
