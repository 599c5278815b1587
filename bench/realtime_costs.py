"""What one socket and one check-in cost the server: ``bench --only costs``.

The live-socket benchmark (``bench/realtime/``) measures a whole election day; this
one isolates the unit costs that decide how fast sockets connect and how fast they
all come back after a process dies: the server's CPU time per socket opened (a ticket,
the socket, its topics checked and its first answer), per socket opened again with a
cursor (the same, plus its replay), and per check-in with its fan-out to the station's
sockets; then the server's memory per socket: its resident size grown by opening
``EXTRA_SOCKETS`` more (four a clerk, idle) beside the 500 that had the traffic. On
PostgreSQL the server connects as an ordinary role the row policies bind (as
production). One server process, 50 stations of 10 clerks (500 sockets on their station
and own topics), 400 check-ins at 40 a second; a minute or so.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import websockets

from app.core.events import station_topic, user_topic
from bench.realtime.checkins import Poster
from bench.realtime.municipality import Clerk, Seeded, seed
from bench.realtime.processes import (
    app_env,
    free_ports,
    start_server,
    stemma_command,
    stop_server,
)
from bench.realtime.scale import Scale
from bench.rls_path import app_role_url, ensure_database, make_app_role

#: Sockets opened at once, as several phones would.
CONCURRENT = 16
#: Sockets opened beside the others to weigh one: enough that the allocator's slack
#: (memory kept from sockets closed earlier, arenas half full) is small beside them.
EXTRA_SOCKETS = 2000


async def _open(
    http: aiohttp.ClientSession, url: str, seeded: Seeded, clerk: Clerk, cursor: int | None
) -> tuple[Any, int]:
    async with http.post(
        f"{url}/api/v1/realtime/tickets",
        json={"user_id": clerk.user_id},
        headers={"Authorization": f"Bearer {seeded.token}"},
    ) as response:
        ticket = (await response.json())["ticket"]
    topics = [
        station_topic(seeded.tenant_id, clerk.station_id),
        user_topic(seeded.tenant_id, clerk.user_id),
    ]
    query: dict[str, Any] = {"ticket": ticket, "topics": ",".join(topics)}
    if cursor is not None:
        query["last_event_id"] = cursor
    socket = await websockets.connect(
        f"{url.replace('http://', 'ws://', 1)}/{seeded.slug}/ws?{urlencode(query)}",
        compression=None,
        ping_interval=None,
    )
    answer = json.loads(await socket.recv())
    if answer.get("type") != "ws.subscribed":
        raise RuntimeError(f"not subscribed: {answer}")
    return socket, int(answer["last_event_id"])


async def run(database_url: str | None, data_dir: Path) -> dict[str, float]:
    print("== realtime costs: CPU per socket and per check-in, one process ==")
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'costs.db'}"
    postgresql = url.startswith("postgresql")
    if postgresql:
        await ensure_database(url)
    small = Scale(stations=50, clerks=10, coordinators=1)
    seeded = await seed(url, data_dir, f"costs-{int(time.time()) % 100000}", small)
    if postgresql:
        # As production: an ordinary role that the row policies bind.
        await make_app_role(url)
        url = app_role_url(url)
    # A free port, not a fixed one: with another run's server on a fixed port, this
    # one's would fail to listen and the run would measure the other.
    [port] = free_ports(1)
    server = await start_server(
        stemma_command(port),
        app_env(url, data_dir, port, None, "costs:"),
        port,
        data_dir / "costs-server.log",
    )
    clerks = [clerk for team in seeded.clerks for clerk in team]
    gate = asyncio.Semaphore(CONCURRENT)
    results: dict[str, float] = {}
    try:
        async with aiohttp.ClientSession() as http:

            async def one(clerk: Clerk, cursor: int | None = None) -> tuple[Any, int]:
                async with gate:
                    return await _open(http, server.url, seeded, clerk, cursor)

            async def close_all(opened: list[tuple[Any, int]]) -> None:
                await asyncio.gather(*(socket.close() for socket, _cursor in opened))
                await asyncio.sleep(1)

            # Warm up: the first sockets import and compile what the others use.
            await close_all([await one(clerk) for clerk in clerks[:20]])
            before = server.stats.cpu_seconds()
            opened = await asyncio.gather(*(one(clerk) for clerk in clerks))
            results["open_ms"] = (server.stats.cpu_seconds() - before) * 1000 / len(clerks)
            await close_all(opened)
            poster = Poster([server.url], seeded.token, seeded.clerks)
            await poster.run(rate=40, seconds=2)  # events to replay
            before = server.stats.cpu_seconds()
            opened = await asyncio.gather(
                *(one(clerk, cursor) for clerk, (_s, cursor) in zip(clerks, opened, strict=True))
            )
            results["reopen_ms"] = (server.stats.cpu_seconds() - before) * 1000 / len(clerks)
            await asyncio.sleep(1)
            posted = len(poster.posted)
            idle = server.stats.cpu_seconds()
            await asyncio.sleep(2)
            idle_per_second = (server.stats.cpu_seconds() - idle) / 2
            before = server.stats.cpu_seconds()
            started = time.monotonic()
            await poster.run(rate=40, seconds=10)
            await asyncio.sleep(1)
            spent = server.stats.cpu_seconds() - before
            spent -= idle_per_second * (time.monotonic() - started)
            checked_in = len(poster.posted) - posted
            results["check_in_ms"] = spent * 1000 / max(1, checked_in)
            rss = server.stats.rss_kib()
            extra = await asyncio.gather(
                *(one(clerks[number % len(clerks)]) for number in range(EXTRA_SOCKETS))
            )
            await asyncio.sleep(2)  # their opening's garbage gone, the sockets idle
            results["kib_per_socket"] = (server.stats.rss_kib() - rss) / EXTRA_SOCKETS
            await close_all(extra)
            await close_all(opened)
    finally:
        await stop_server(server)
    print(
        f"   per socket opened: {results['open_ms']:.1f} ms CPU;"
        f" opened again with a cursor: {results['reopen_ms']:.1f} ms;"
        f" per check-in (500 clerk sockets): {results['check_in_ms']:.1f} ms;"
        f" memory per socket: {results['kib_per_socket']:.1f} KiB"
    )
    return results
