"""A load-generator process for ``bench.realtime``: real WebSocket clients (``websockets``).

Started by the benchmark as ``python -m bench.realtime_load``, one per slice of the
sockets. It reads its configuration as one JSON line on stdin, then commands, one JSON
line each, and answers each with one JSON line on stdout:

- ``{"cmd": "connect"}``: fetch a one-time ticket per socket and open it; answers when
  every socket is subscribed (or ``connect_seconds`` passed) with the count and time.
- ``{"cmd": "stall", "keys": [...], "seconds": S}``: those sockets stop reading for S s.
- ``{"cmd": "drop", "keys": [...]}``: those sockets lose their connection at once, as a
  phone's network blinks (no close frame); each reconnects with its last event id.
- ``{"cmd": "status"}``: how many sockets are subscribed right now, closes seen.
- ``{"cmd": "dump", "path": P}``: write what every socket received (event id, receipt
  time) to P.
- ``{"cmd": "quit"}``: close every socket and leave.

A socket that closes (its server went away, or it fell behind: 4008) fetches a new
ticket and reconnects, to the next server when its own refuses, asking for everything
after the last event id it saw. Times are ``time.time()``: the benchmark compares them
with the moment it posted each check-in on the same machine.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import websockets
from websockets.asyncio.client import ClientConnection

#: The longest pause between two failed connection attempts.
BACKOFF_CAP_SECONDS = 16.0
EVENT_ID_IN_FRAGMENT = re.compile(rb'data-last-event-id="(\d+)"')
#: A fragment drawn for several events names them all.
EVENT_IDS_IN_FRAGMENT = re.compile(rb'data-event-ids="([\d,]+)"')
#: What a dashboard keeps of a fragment (a socket with ``keep_parts``): each element
#: swapped by id (a station's row, the counters), the last one drawn.
SWAPPED_PART = re.compile(
    rb'<(tr|section|div) id="(ops-station-\d+|ops-summary)".*?</\1>', re.DOTALL
)


def raise_open_files_limit() -> int:
    """As many open files as the hard limit allows (thousands of sockets per process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1_048_576
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class Socket:
    key: str
    user_id: int
    topics: list[str]
    server: int
    #: [event id, receipt time] per event frame, in order of receipt.
    received: list[tuple[int, float]] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    last_event_id: int | None = None
    subscribed: bool = False
    first_subscribed_at: float | None = None
    stall_until: float = 0.0
    snapshots: int = 0
    #: [closed at, close code, subscribed again at or None]
    closes: list[list[Any]] = field(default_factory=list)
    servers_used: list[int] = field(default_factory=list)
    connect_failures: int = 0
    bytes_by_kind: dict[str, list[int]] = field(default_factory=dict)
    extensions: str | None = None
    #: A dashboard's parts as last drawn (``keep_parts``): element id -> HTML.
    keep_parts: bool = False
    parts: dict[str, str] = field(default_factory=dict)
    connection: ClientConnection | None = None
    drops: int = 0
    #: The cursor of the first subscription: every event after it is this socket's.
    first_cursor: int | None = None


class LoadGenerator:
    def __init__(self, config: dict[str, Any]) -> None:
        self.servers: list[str] = config["servers"]
        self.alive: list[bool] = [True] * len(self.servers)
        self.slug: str = config["slug"]
        self.token: str = config["token"]
        self.deflate: bool = config.get("deflate", False)
        self.handshakes = asyncio.Semaphore(config.get("concurrent_handshakes", 48))
        self.sockets = [
            Socket(
                s["key"],
                s["user_id"],
                s["topics"],
                s["server"],
                keep_parts=s.get("keep_parts", False),
            )
            for s in config["sockets"]
        ]
        self.stopping = False
        self.tasks: list[asyncio.Task[None]] = []
        self.http: aiohttp.ClientSession | None = None
        self.subscribed_count = 0

    async def ticket(self, server: int, user_id: int) -> str:
        assert self.http is not None
        async with self.http.post(
            f"{self.servers[server]}/api/v1/realtime/tickets",
            json={"user_id": user_id},
            headers={"Authorization": f"Bearer {self.token}"},
        ) as response:
            if response.status != 201:
                raise ConnectionError(f"ticket: HTTP {response.status}")
            return str((await response.json())["ticket"])

    async def run_socket(self, socket: Socket) -> None:
        server = socket.server
        attempt = 0
        while not self.stopping:
            try:
                async with self.handshakes:
                    ticket = await self.ticket(server, socket.user_id)
                    query: dict[str, Any] = {"ticket": ticket, "topics": ",".join(socket.topics)}
                    if socket.last_event_id is not None:
                        query["last_event_id"] = socket.last_event_id
                    ws_base = self.servers[server].replace("http://", "ws://", 1)
                    connection = await websockets.connect(
                        f"{ws_base}/{self.slug}/ws?{urlencode(query)}",
                        compression="deflate" if self.deflate else None,
                        ping_interval=None,  # browsers send no pings; the server does
                        open_timeout=60,
                        close_timeout=2,
                        max_queue=16,
                        max_size=2**22,
                    )
                socket.servers_used.append(server)
                if connection.response is not None:
                    socket.extensions = connection.response.headers.get("Sec-WebSocket-Extensions")
                attempt = 0
                code = await self.read(socket, connection)
            except asyncio.CancelledError:
                raise
            except Exception:
                socket.connect_failures += 1
                code = -1
            if self.stopping:
                return
            if socket.subscribed:
                socket.subscribed = False
                self.subscribed_count -= 1
                socket.closes.append([time.time(), code, None])
            if code == -1:
                # The server refused or is gone: try the next one, backing off
                # exponentially with full jitter (as the HTMX ws extension does, capped
                # lower), so thousands of failing clients do not keep a busy server busy.
                attempt += 1
                server = (server + 1) % len(self.servers)
                ceiling = min(BACKOFF_CAP_SECONDS, 0.25 * 2**attempt)
                await asyncio.sleep(random.uniform(0.05, ceiling))
            else:
                await asyncio.sleep(random.uniform(0.05, 0.5))

    async def read(self, socket: Socket, connection: ClientConnection) -> int:
        socket.connection = connection
        try:
            while True:
                pause = socket.stall_until - time.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                message = await connection.recv(decode=False)
                now = time.time()
                self.handle(socket, message, now)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else 1006
        finally:
            socket.connection = None
            await connection.close()

    def drop(self, keys: set[str]) -> int:
        """The connections of ``keys`` end without a close frame (a network blink)."""
        dropped = 0
        for socket in self.sockets:
            if socket.key in keys and socket.connection is not None:
                socket.connection.transport.abort()
                socket.drops += 1
                dropped += 1
        return dropped

    def subscribed(self, socket: Socket, parsed: dict[str, Any], now: float) -> None:
        # A socket that has seen no event yet resumes from the subscription's.
        if socket.last_event_id is None and "last_event_id" in parsed:
            socket.last_event_id = int(parsed["last_event_id"])
        if socket.first_cursor is None and "last_event_id" in parsed:
            socket.first_cursor = int(parsed["last_event_id"])
        if not socket.subscribed:
            socket.subscribed = True
            self.subscribed_count += 1
            if socket.first_subscribed_at is None:
                socket.first_subscribed_at = now
            if socket.closes and socket.closes[-1][2] is None:
                socket.closes[-1][2] = now

    def handle(self, socket: Socket, message: bytes | str, now: float) -> None:
        data = message.encode() if isinstance(message, str) else message
        event_ids: list[int] = []
        kind = "html"
        if data[:1] == b"{":
            parsed = json.loads(data)
            kind = str(parsed.get("type", "json"))
            if kind == "ws.subscribed":
                self.subscribed(socket, parsed, now)
                return
            if kind == "ws.snapshot":
                socket.snapshots += 1
                socket.last_event_id = int(parsed["last_event_id"])
                return
            if "id" in parsed and isinstance(parsed["id"], int):
                event_ids = [parsed["id"]]
                kind = "json event"
        else:
            several = EVENT_IDS_IN_FRAGMENT.search(data)
            found = EVENT_ID_IN_FRAGMENT.search(data)
            if several is not None:
                event_ids = [int(i) for i in several.group(1).split(b",")]
                kind = "html event"
            elif found is not None:
                event_ids = [int(found.group(1))]
                kind = "html event"
        if socket.keep_parts and event_ids:
            socket.parts.update(
                (part.group(2).decode(), part.group(0).decode())
                for part in SWAPPED_PART.finditer(data)
            )
        sizes = socket.bytes_by_kind.setdefault(kind, [0, 0])
        sizes[0] += 1
        sizes[1] += len(data)
        if event_ids:
            # A replayed batch may repeat ids this socket has; only a message that
            # brings none it lacks counts as a duplicate.
            new = [i for i in event_ids if i not in socket.seen] or event_ids[:1]
            for event_id in new:
                socket.received.append((event_id, now))
                socket.seen.add(event_id)
            if socket.last_event_id is None or max(event_ids) > socket.last_event_id:
                socket.last_event_id = max(event_ids)

    async def connect(self, wait_seconds: float) -> dict[str, Any]:
        started = time.time()
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        self.tasks = [asyncio.create_task(self.run_socket(s)) for s in self.sockets]
        # Polled, not awaited on an event: the answer also carries the time it took.
        while self.subscribed_count < len(self.sockets) and time.time() - started < wait_seconds:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        return {
            "subscribed": self.subscribed_count,
            "sockets": len(self.sockets),
            "seconds": time.time() - started,
            "failures": sum(s.connect_failures for s in self.sockets),
        }

    def status(self) -> dict[str, Any]:
        return {
            "subscribed": self.subscribed_count,
            "sockets": len(self.sockets),
            "closes": sum(len(s.closes) for s in self.sockets),
            "received": sum(len(s.received) for s in self.sockets),
            "failures": sum(s.connect_failures for s in self.sockets),
            "rss_kib": _rss_kib(),
        }

    def dump(self, path: str) -> dict[str, Any]:
        with open(path, "w") as out:
            json.dump(
                [
                    {
                        "key": s.key,
                        "topics": s.topics,
                        "received": s.received,
                        "first_subscribed_at": s.first_subscribed_at,
                        "snapshots": s.snapshots,
                        "closes": s.closes,
                        "servers_used": s.servers_used,
                        "connect_failures": s.connect_failures,
                        "bytes_by_kind": s.bytes_by_kind,
                        "extensions": s.extensions,
                        "parts": s.parts,
                        "drops": s.drops,
                        "first_cursor": s.first_cursor,
                    }
                    for s in self.sockets
                ],
                out,
            )
        return {"path": path}

    async def quit(self) -> None:
        self.stopping = True
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.http is not None:
            await self.http.close()


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def main() -> None:
    raise_open_files_limit()
    loop = asyncio.get_running_loop()
    # The configuration line lists thousands of sockets: far past the default 64 KiB.
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def answer(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    generator = LoadGenerator(json.loads(await reader.readline()))
    answer({"ready": True})
    while True:
        line = await reader.readline()
        if not line:
            await generator.quit()
            return
        command = json.loads(line)
        name = command["cmd"]
        if name == "connect":
            answer(await generator.connect(command.get("wait_seconds", 120)))
        elif name == "stall":
            until = time.time() + command["seconds"]
            wanted = set(command["keys"])
            for socket in generator.sockets:
                if socket.key in wanted:
                    socket.stall_until = until
            answer({"stalled": len(wanted)})
        elif name == "drop":
            answer({"dropped": generator.drop(set(command["keys"]))})
        elif name == "status":
            answer(generator.status())
        elif name == "dump":
            answer(generator.dump(command["path"]))
        elif name == "quit":
            await generator.quit()
            answer({"bye": True})
            return


if __name__ == "__main__":
    asyncio.run(main())
