"""One scenario: connect, idle, traffic, stall and (two processes) kill."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import websockets

from app.core.events import ops_topic, station_topic
from bench.realtime.checkins import Posted, Poster
from bench.realtime.measuring import (
    Window,
    analyse,
    back_after_kill,
    drain,
    percentile,
    socket_plan,
)
from bench.realtime.municipality import Seeded
from bench.realtime.processes import Generators, Server, load_average, start_server, stop_server
from bench.realtime.scale import LOGS, Scale

# --- one scenario ---------------------------------------------------------------------


@dataclass
class Target:
    """What is being measured: the app (one or two processes) or the peer."""

    name: str
    commands: list[list[str]]
    env: list[dict[str, str]]
    ports: list[int]
    peer: bool = False
    deflate: bool = False
    kill: bool = False
    stall: bool = True


@dataclass
class _Run:
    """One scenario under way: what every phase reads and adds to."""

    target: Target
    seeded: Seeded
    scale: Scale
    servers: list[Server]
    generators: Generators
    slices: list[list[dict[str, Any]]]
    result: dict[str, Any]
    windows: list[Window] = field(default_factory=list)
    stalled: set[str] = field(default_factory=set)
    rss_before: list[int] = field(default_factory=list)
    rss_after: list[int] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    @property
    def sockets(self) -> int:
        return sum(len(part) for part in self.slices)

    def poster(self) -> Poster:
        seeded = self.seeded
        return Poster(
            self.urls,
            seeded.token,
            seeded.clerks,
            peer=self.target.peer,
            tenant_id=seeded.tenant_id,
            election_id=seeded.election_id,
        )

    def kib_per_socket(self, rss: list[int]) -> float:
        per_server = max(1, self.sockets // len(self.servers))
        return round(
            statistics.mean(
                (after - before) / per_server
                for after, before in zip(rss, self.rss_before, strict=True)
            ),
            1,
        )


async def run_scenario(
    target: Target,
    seeded: Seeded,
    scale: Scale,
    work: Path,
    events_source: Any,
) -> dict[str, Any]:
    """Connect, idle, traffic, stall and (two processes) kill, one after another."""
    print(f"-- {target.name}: starting ({time.strftime('%H:%M:%S')}, load {load_average()})")
    servers = [
        await start_server(command, env, port, LOGS / f"{target.name}-server-{n}.log")
        for n, (command, env, port) in enumerate(
            zip(target.commands, target.env, target.ports, strict=True)
        )
    ]
    run = _Run(
        target,
        seeded,
        scale,
        servers,
        Generators(),
        socket_plan(seeded, len(servers), scale.generators),
        {"name": target.name, "load_average": {}},
    )
    try:
        warm = await _warm_up(run)
        await _connect(run)
        await _idle(run)
        poster = run.poster()
        poster.count = warm.count
        poster.last_kind = warm.last_kind
        await _traffic(run, poster)
        if target.stall and scale.stall_seconds > 0:
            await _stall(run, poster)
        if target.kill and len(servers) > 1:
            await _kill(run, poster)
        await _count_messages(run, work, events_source, warm.posted + poster.posted, poster)
    finally:
        await run.generators.quit()
        for server in servers:
            await stop_server(server)
    return run.result


async def _warm_up(run: _Run) -> Poster:
    """The first requests, sockets and renders import and compile what the later ones
    use; that should not count as memory per socket. Then the load generators start."""
    seeded = run.seeded
    warm = run.poster()
    async with contextlib.AsyncExitStack() as stack:
        for url in run.urls:
            for user_id, topic in (
                (seeded.coordinators[0], ops_topic(seeded.tenant_id, seeded.election_id)),
                (
                    seeded.clerks[0][0].user_id,
                    station_topic(seeded.tenant_id, seeded.clerks[0][0].station_id),
                ),
            ):
                await stack.enter_async_context(
                    listening_socket(url, seeded.slug, seeded.token, user_id, topic)
                )
        await warm.run(rate=10, seconds=2)
        await asyncio.sleep(1)
    await asyncio.sleep(1)
    run.rss_before = [s.stats.rss_kib() for s in run.servers]
    run.result["rss_before_kib"] = run.rss_before
    await run.generators.start(
        [
            {
                "servers": run.urls,
                "slug": seeded.slug,
                "token": seeded.token,
                "sockets": part,
                "deflate": run.target.deflate,
            }
            for part in run.slices
        ],
        LOGS / run.target.name,
    )
    return warm


async def _connect(run: _Run) -> None:
    """1. Every socket opened and subscribed."""
    answers = await run.generators.command(
        cmd="connect", wait_seconds=run.scale.connect_wait_seconds
    )
    connected = sum(a["subscribed"] for a in answers)
    connect_seconds = max(a["seconds"] for a in answers)
    run.result["connect"] = {
        "sockets": run.sockets,
        "subscribed": connected,
        "seconds": round(connect_seconds, 1),
        "failed_attempts": sum(a["failures"] for a in answers),
        "per_server": [],
    }
    run.result["load_average"]["connect"] = load_average()
    print(f"   connect: {connected}/{run.sockets} in {connect_seconds:.1f} s")


async def _idle(run: _Run) -> None:
    """2. The servers' CPU with every socket open and nothing happening."""
    servers = run.servers
    await asyncio.sleep(3)
    cpu_start = [s.stats.cpu_seconds() for s in servers]
    idle_started = time.monotonic()
    await asyncio.sleep(run.scale.idle_seconds)
    idle_elapsed = time.monotonic() - idle_started
    run.result["idle_cpu_percent"] = [
        round((s.stats.cpu_seconds() - c) / idle_elapsed * 100, 2)
        for s, c in zip(servers, cpu_start, strict=True)
    ]
    rss_connected = [s.stats.rss_kib() for s in servers]
    run.result["rss_connected_kib"] = rss_connected
    run.result["kib_per_socket_connected"] = run.kib_per_socket(rss_connected)
    run.result["load_average"]["idle"] = load_average()
    print(f"   idle CPU: {run.result['idle_cpu_percent']} %")


async def _traffic(run: _Run, poster: Poster) -> None:
    """3. Check-ins at the rate asked for; CPU, and memory per socket after."""
    servers, result = run.servers, run.result
    cpu_start = [s.stats.cpu_seconds() for s in servers]
    started = time.time()
    await poster.run(run.scale.rate, run.scale.traffic_seconds)
    run.windows.append(Window("traffic", started, time.time()))
    result["traffic_cpu_percent"] = [
        round((s.stats.cpu_seconds() - c) / (time.time() - started) * 100, 1)
        for s, c in zip(servers, cpu_start, strict=True)
    ]
    result["load_average"]["traffic"] = load_average()
    result["drain_after_traffic_seconds"] = await drain(
        run.generators, servers, run.scale.drain_seconds
    )
    run.rss_after = [s.stats.rss_kib() for s in servers]
    result["rss_after_traffic_kib"] = run.rss_after
    result["kib_per_socket"] = run.kib_per_socket(run.rss_after)
    print(
        f"   traffic: {len(poster.posted)} check-ins, CPU {result['traffic_cpu_percent']} %,"
        f" {result['kib_per_socket']} KiB per socket"
    )


async def _stall(run: _Run, poster: Poster) -> None:
    """4. A share of the sockets stop reading while traffic goes on."""
    scale, servers = run.scale, run.servers
    every = max(1, round(1 / scale.stall_share))
    ordered = sorted(
        (socket["key"] for part in run.slices for socket in part),
        key=lambda key: (key[0], int(key[1:])),
    )
    run.stalled = set(ordered[::every])
    await run.generators.command(cmd="stall", keys=sorted(run.stalled), seconds=scale.stall_seconds)
    rss_samples: list[int] = []

    async def sample() -> None:
        while True:
            rss_samples.append(max(s.stats.rss_kib() for s in servers))
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample())
    started = time.time()
    await poster.run(scale.rate, scale.stall_seconds)
    run.windows.append(Window("stall", started, time.time()))
    # The stalled ones read again and catch up.
    drained = await drain(run.generators, servers, scale.drain_seconds)
    sampler.cancel()
    run.result["stall"] = {
        "sockets": len(run.stalled),
        "seconds": scale.stall_seconds,
        "rss_max_kib": max(rss_samples),
        "rss_growth_kib": max(rss_samples) - max(run.rss_after),
        "drain_seconds": drained,
    }
    run.result["load_average"]["stall"] = load_average()
    print(f"   stall: {len(run.stalled)} sockets, RSS max {max(rss_samples)} KiB")


async def _kill(run: _Run, poster: Poster) -> None:
    """5. One of two processes killed mid-traffic; its sockets come back to the other."""
    scale, servers = run.scale, run.servers
    victim = servers[-1]
    on_victim = sum(1 for part in run.slices for s in part if s["server"] == len(servers) - 1)
    traffic = asyncio.create_task(poster.run(scale.rate, scale.traffic_seconds + 10))
    started = time.time()
    await asyncio.sleep(5)
    killed_at = time.time()
    survivor_cpu = servers[0].stats.cpu_seconds()
    victim.process.send_signal(signal.SIGKILL)
    await victim.process.wait()
    poster.servers = run.urls[:-1]
    back_at = None
    while time.time() - killed_at < 120:
        status = await run.generators.command(cmd="status")
        if sum(a["subscribed"] for a in status) == run.sockets:
            back_at = time.time()
            survivor_cpu = servers[0].stats.cpu_seconds() - survivor_cpu
            break
        await asyncio.sleep(0.25)
    await traffic
    run.windows.append(Window("kill", started, time.time()))
    drained = await drain(run.generators, servers, scale.drain_seconds)
    run.result["kill"] = {
        "sockets_on_killed_process": on_victim,
        "all_back_seconds": round(back_at - killed_at, 1) if back_at else None,
        "killed_at": killed_at,
        # How busy the survivor was until all were back: a CPU-bound recovery
        # is near 100 %, one waiting on clients' backoff well below.
        "survivor_cpu_percent": (
            round(100 * survivor_cpu / (back_at - killed_at), 1) if back_at else None
        ),
        "drain_seconds": drained,
        "load_average": load_average(),
    }
    print(
        f"   kill: {on_victim} sockets back in {run.result['kill']['all_back_seconds']} s,"
        f" survivor CPU {run.result['kill']['survivor_cpu_percent']} %"
    )


async def _count_messages(
    run: _Run, work: Path, events_source: Any, posted: list[Posted], poster: Poster
) -> None:
    """What every socket received against what it should have had."""
    result = run.result
    latencies = [(p.answered_at - p.sent_at) * 1000 for p in poster.posted]
    result["post"] = {
        "posted": len(poster.posted),
        "errors": poster.errors,
        "retried": poster.retried,
        "http_p50_ms": percentile(latencies, 0.5),
        "http_p99_ms": percentile(latencies, 0.99),
    }
    dumps: list[dict[str, Any]] = []
    paths = [str(work / f"{run.target.name}-dump-{n}.json") for n in range(run.scale.generators)]
    await run.generators.each([{"cmd": "dump", "path": p} for p in paths])
    for path in paths:
        dumps += json.loads(Path(path).read_text())
    extensions = {d["extensions"] for d in dumps}
    result["extensions_answered"] = sorted(str(e) for e in extensions)
    events = await events_source()
    result["messages"] = analyse(dumps, events, posted, run.windows, run.stalled)
    result["closes"] = sum(len(d["closes"]) for d in dumps)
    if "kill" in result:
        result["kill"]["back_after_seconds"] = back_after_kill(
            dumps, result["kill"].pop("killed_at")
        )


@contextlib.asynccontextmanager
async def listening_socket(
    url: str, slug: str, token: str, user_id: int, topic: str
) -> AsyncIterator[None]:
    """A socket on ``topic`` that reads (and forgets) everything while the block runs."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/api/v1/realtime/tickets",
            json={"user_id": user_id},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        ticket = (await response.json())["ticket"]
    ws_url = url.replace("http://", "ws://") + f"/{slug}/ws?ticket={ticket}&topics={topic}"
    async with websockets.connect(ws_url, compression=None) as connection:

        async def drain() -> None:
            async for _message in connection:
                pass

        reader = asyncio.create_task(drain())
        try:
            yield
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


async def deflate_probe(url: str, slug: str, token: str, user_id: int, topic: str) -> str:
    """Offer permessage-deflate as browsers do; what the server answers."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/api/v1/realtime/tickets",
            json={"user_id": user_id},
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        ticket = (await response.json())["ticket"]
    ws_url = url.replace("http://", "ws://") + f"/{slug}/ws?ticket={ticket}&topics={topic}"
    async with websockets.connect(ws_url, compression="deflate") as connection:
        offered = (
            connection.request.headers.get("Sec-WebSocket-Extensions")
            if connection.request
            else None
        )
        handshake = connection.response
        answered = handshake.headers.get("Sec-WebSocket-Extensions") if handshake else None
    return f"offered {offered!r}; server answered {answered or 'no extension'}"
