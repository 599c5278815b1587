"""The minimal peer ``bench.realtime`` compares us with: a bare ASGI app on Hypercorn
(the server Stemma runs on, configured the same way) doing the same fan-out without
the database: ``POST /api/v1/checkins`` -> publish -> one render per event and topic ->
bounded per-socket queues -> sockets. It speaks our socket protocol (tickets, topics,
``ws.subscribed``, event ids, close 4008 for a socket that fell behind), so the same
load generators drive it. No replay: nothing is stored but the event list that
``GET /events`` returns for the benchmark's bookkeeping.

Run: ``python -m bench.realtime_peer --port 8765 [--deflate] [--fragment-bytes N]``.
Starlette and Uvicorn are not installed here; a plain ASGI callable on Hypercorn is
the smallest peer that needs no new dependency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from hypercorn.asyncio import serve
from hypercorn.config import Config

from app.realtime.serving import configure_websockets
from bench.realtime_load import raise_open_files_limit

QUEUE_SIZE = 256
FELL_BEHIND = 4008

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Subscriber:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        self.dropped = asyncio.Event()

    def offer(self, text: str) -> bool:
        if self.dropped.is_set():
            return False
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.dropped.set()
            return False
        return True


class Peer:
    def __init__(self, fragment_bytes: int) -> None:
        self.fragment_bytes = fragment_bytes
        self.by_topic: dict[str, set[Subscriber]] = {}
        # The "broker": one in-process queue drained by one dispatcher task.
        self.broker: asyncio.Queue[tuple[str, int, str, dict[str, Any]]] = asyncio.Queue(10_000)
        self.events: list[tuple[int, str, int]] = []
        self.next_id = 0
        self.dispatcher: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.dispatcher = asyncio.create_task(self.dispatch())
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self.websocket(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        answer: dict[str, Any] = {"detail": "not found"}
        status = 404
        if path == "/api/v1/realtime/tickets":
            status, answer = 201, {"ticket": "peer", "expires_in": 60}
        elif path == "/api/v1/checkins":
            data = json.loads(body)
            self.next_id += 1
            check_in_id = self.next_id
            payload = {
                "check_in_id": check_in_id,
                "person_id": data["person_id"],
                "shift_id": data["shift_id"],
                "station_id": data["station_id"],
                "kind": data["kind"],
            }
            for topic in data["topics"]:
                event_id = len(self.events) + 1
                self.events.append((event_id, topic, check_in_id))
                self.broker.put_nowait((topic, event_id, data["kind"], payload))
            status, answer = 201, {"id": check_in_id, **payload}
        elif path == "/events":
            status, answer = 200, {"events": self.events}
        elif path == "/healthz":
            status, answer = 200, {"ok": True}
        raw = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    async def dispatch(self) -> None:
        while True:
            topic, event_id, kind, payload = await self.broker.get()
            listeners = self.by_topic.get(topic)
            if not listeners:
                continue
            # One render per event and topic, as the hub does.
            if topic.endswith(":ops"):
                text = self.fragment(event_id, payload)
            else:
                text = json.dumps(
                    {"id": event_id, "topic": topic, "type": f"checkin.{kind}", "payload": payload},
                    separators=(",", ":"),
                )
            for subscriber in list(listeners):
                if not subscriber.offer(text):
                    listeners.discard(subscriber)

    def fragment(self, event_id: int, payload: dict[str, Any]) -> str:
        row = (
            f'<tr id="station-{payload["station_id"]}" hx-swap-oob="true">'
            f"<td>{payload['station_id']}</td><td>{payload['kind']}</td></tr>"
        )
        cursor = f'<span id="ops-cursor" hidden data-last-event-id="{event_id}"></span>'
        padding = max(0, self.fragment_bytes - len(row) - len(cursor))
        return row + "<!--" + "x" * max(0, padding - 7) + "-->" + cursor

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = parse_qs(scope["query_string"].decode())
        topics = [t for t in query.get("topics", [""])[0].split(",") if t]
        if (await receive())["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        subscriber = Subscriber()
        subscriber.offer(json.dumps({"type": "ws.subscribed", "topics": sorted(topics)}))
        for topic in topics:
            self.by_topic.setdefault(topic, set()).add(subscriber)

        async def sender() -> None:
            while True:
                text = await subscriber.queue.get()
                await send({"type": "websocket.send", "text": text})

        async def receiver() -> None:
            while True:
                if (await receive())["type"] == "websocket.disconnect":
                    return

        tasks = [
            asyncio.create_task(sender()),
            asyncio.create_task(receiver()),
            asyncio.create_task(subscriber.dropped.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if subscriber.dropped.is_set():
                tasks[0].cancel()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(
                        send({"type": "websocket.close", "code": FELL_BEHIND}), 5
                    )
        finally:
            for topic in topics:
                listeners = self.by_topic.get(topic)
                if listeners is not None:
                    listeners.discard(subscriber)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--deflate", action="store_true", help="accept permessage-deflate")
    parser.add_argument("--fragment-bytes", type=int, default=2000)
    arguments = parser.parse_args()
    raise_open_files_limit()
    config = Config()
    config.bind = [f"127.0.0.1:{arguments.port}"]
    # The same socket settings as ``stemma serve`` (pings every 20 s, deflate declined)...
    configure_websockets(config)
    if arguments.deflate:
        # ...unless asked to accept it, to measure what it costs.
        import hypercorn.protocol.ws_stream
        from wsproto.extensions import PerMessageDeflate

        module: Any = hypercorn.protocol.ws_stream
        module.PerMessageDeflate = PerMessageDeflate
    asyncio.run(serve(Peer(arguments.fragment_bytes), config))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
