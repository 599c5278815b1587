"""From what the sockets received to latencies, losses and recovery times."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from app.core.events import ops_topic, station_topic, user_topic
from bench.realtime.checkins import Posted
from bench.realtime.municipality import Seeded
from bench.realtime.processes import Generators, Server

# --- measuring ------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def latency_figures(values_ms: list[float]) -> dict[str, Any]:
    return {
        "n": len(values_ms),
        "p50_ms": percentile(values_ms, 0.50),
        "p99_ms": percentile(values_ms, 0.99),
        "max_ms": max(values_ms) if values_ms else None,
    }


@dataclass
class Window:
    name: str
    start: float
    end: float


def analyse(
    dumps: list[dict[str, Any]],
    events: dict[int, tuple[str, int]],
    posted: list[Posted],
    windows: list[Window],
    excluded: set[str],
) -> dict[str, Any]:
    """Latency per phase and kind of socket, and lost or duplicated events."""
    sent_at = {p.check_in_id: p.sent_at for p in posted}
    by_topic: dict[str, list[int]] = {}
    for event_id, (topic, _check_in) in events.items():
        by_topic.setdefault(topic, []).append(event_id)
    latencies: dict[str, dict[str, list[float]]] = {w.name: {} for w in windows}
    lost = duplicated = expected_total = received_total = 0
    snapshot_sockets = 0
    lost_examples: list[Any] = []
    lost_by = {"never closed": 0, "reconnected": 0}
    started = min((p.sent_at for p in posted), default=0.0)
    sizes: dict[str, list[int]] = {}
    for socket in dumps:
        kind = "dashboard" if socket["key"].startswith("d") else "station"
        for name, (count, size) in socket["bytes_by_kind"].items():
            total = sizes.setdefault(f"{kind}: {name}", [0, 0])
            total[0] += count
            total[1] += size
        received_ids = [event_id for event_id, _t in socket["received"]]
        unique = set(received_ids)
        duplicated += len(received_ids) - len(unique)
        received_total += len(received_ids)
        subscribed_at = socket["first_subscribed_at"] or float("inf")
        expected = {
            event_id
            for topic in socket["topics"]
            for event_id in by_topic.get(topic, ())
            if sent_at.get(events[event_id][1], 0.0) >= subscribed_at
        }
        if socket["snapshots"]:
            snapshot_sockets += 1
        else:
            missing = expected - unique
            lost += len(missing)
            lost_by["reconnected" if socket["closes"] else "never closed"] += len(missing)
            if missing and len(lost_examples) < 10:
                # When each was posted and when the socket closed and came back, in
                # seconds of the bench's clock: where in a reconnect the loss sits.
                lost_examples.append(
                    {
                        "socket": socket["key"],
                        "servers": socket["servers_used"],
                        "missing": [
                            [event_id, round(sent_at[events[event_id][1]] - started, 2)]
                            for event_id in sorted(missing)[:5]
                        ],
                        "closes": [
                            [round(at - started, 2), code, round((back or 0) - started, 2)]
                            for at, code, back in socket["closes"]
                        ],
                    }
                )
        expected_total += len(expected)
        if socket["key"] in excluded:
            continue
        for event_id, received_at in socket["received"]:
            found = events.get(event_id)
            if found is None or found[1] not in sent_at:
                continue
            posted_at = sent_at[found[1]]
            for window in windows:
                if window.start <= posted_at < window.end:
                    latencies[window.name].setdefault(kind, []).append(
                        (received_at - posted_at) * 1000
                    )
                    break
    return {
        "latency": {
            name: {kind: latency_figures(values) for kind, values in kinds.items()}
            for name, kinds in latencies.items()
        },
        "expected_messages": expected_total,
        "received_messages": received_total,
        "lost_messages": lost,
        "duplicated_messages": duplicated,
        "sockets_resynced_by_snapshot": snapshot_sockets,
        "lost_by_socket": lost_by,
        "lost_examples": lost_examples,
        "mean_bytes": {k: round(v[1] / v[0]) for k, v in sizes.items() if v[0]},
    }


def socket_plan(seeded: Seeded, servers: int, generators: int) -> list[list[dict[str, Any]]]:
    """Every socket (clerks on their station's and own topic, coordinators on the
    dashboard), spread round-robin over servers and load generators."""
    sockets: list[dict[str, Any]] = []
    for number, user_id in enumerate(seeded.coordinators):
        sockets.append(
            {
                "key": f"d{number}",
                "user_id": user_id,
                "topics": [ops_topic(seeded.tenant_id, seeded.election_id)],
            }
        )
    for team in seeded.clerks:
        for clerk in team:
            sockets.append(
                {
                    "key": f"c{clerk.person_id}",
                    "user_id": clerk.user_id,
                    "topics": [
                        station_topic(seeded.tenant_id, clerk.station_id),
                        user_topic(seeded.tenant_id, clerk.user_id),
                    ],
                }
            )
    slices: list[list[dict[str, Any]]] = [[] for _ in range(generators)]
    for number, socket in enumerate(sockets):
        socket["server"] = number % servers
        slices[number % generators].append(socket)
    return slices


async def drain(generators: Generators, servers: list[Server], cap: float) -> float:
    """Wait until the sockets stop receiving (3 s without a new message) while the
    servers idle (a busy server may still be working through a backlog), or ``cap``
    seconds passed; returns how long it took."""
    started = time.monotonic()
    last_total, last_change = -1, started
    while time.monotonic() - started < cap:
        alive = [s for s in servers if s.process.returncode is None]
        cpu = [s.stats.cpu_seconds() for s in alive]
        await asyncio.sleep(0.5)
        busy = any(
            s.stats.cpu_seconds() - before > 0.1 for s, before in zip(alive, cpu, strict=True)
        )
        total = sum(a["received"] for a in await generators.command(cmd="status"))
        if total != last_total or busy:
            last_total, last_change = total, time.monotonic()
        elif time.monotonic() - last_change >= 3:
            break
    return round(time.monotonic() - started, 1)


def back_after_kill(dumps: list[dict[str, Any]], killed_at: float) -> dict[str, Any]:
    """When the killed process's sockets were subscribed again, in seconds after the
    kill (quantiles of the sockets), and how many connection attempts failed: a long
    tail after a quick bulk is clients backing off, an even spread a busy survivor."""
    back = sorted(
        closed[2] - killed_at
        for socket in dumps
        for closed in socket["closes"]
        if closed[0] >= killed_at - 1 and closed[2] is not None
    )
    if not back:
        return {}
    return {
        **{
            f"p{q}": round(back[min(len(back) - 1, int(len(back) * q / 100))], 1)
            for q in (10, 50, 90, 99)
        },
        "last": round(back[-1], 1),
        "failed_attempts": sum(socket["connect_failures"] for socket in dumps),
    }
