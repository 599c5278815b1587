"""The fault drill (``make drill``) against the cluster on one machine (``make cluster``).

Clerks' phones check in at ``--rate`` (50) a second through HAProxy, each phone sending
the same Idempotency-Key again until it is answered, while coordinators' dashboards hold
sockets on the election's operations topic. Meanwhile the drill kills (SIGKILL) the
PostgreSQL primary's postmaster, then the Redis master, then one Stemma instance, each
after the cluster is whole again. At the end:

- every check-in answered 201 (or 200, the same key again) is in the database exactly
  once, and nothing else the drill sent is;
- per fault, how long writes were refused (the first to the last refused attempt) and
  the longest a phone waited for its answer;
- every dashboard socket has seen every event of the topic since it first subscribed
  (after reconnecting with its last event id, the server replays what it missed).

Exit status 0 when all holds and every refused-writes window is under ``--goal`` seconds.
The cluster is started when it is not running, and then stopped again at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp
import websockets

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, text  # noqa: E402

from app.core.accounts.api_tokens import create_api_token  # noqa: E402
from app.core.audit import Actor  # noqa: E402
from app.core.db import create_engine, create_session_factory  # noqa: E402
from app.core.events import ops_topic  # noqa: E402
from app.core.models import Tenant, User, utcnow  # noqa: E402
from app.core.tenancy import tenant_scope  # noqa: E402
from app.demo import DEMO_SLUG  # noqa: E402
from app.demo.election_day import _clear_election_day, move_election_day  # noqa: E402
from app.domain.models import Assignment, Election, Shift  # noqa: E402
from app.domain.ops.checkins import check_in_window  # noqa: E402
from deploy.cluster.members import (  # noqa: E402
    cluster,
    cluster_env,
    primary_number,
    run_drill,
)

EVENT_IDS = re.compile(rb'data-event-ids="([\d,]+)"')
EVENT_ID = re.compile(rb'data-last-event-id="(\d+)"')
ANSWER_SECONDS = 40.0
#: A phone sends again after 0.25 s, doubling up to 4 s, with jitter.
RESEND_SECONDS = (0.25, 4.0)


def run(command: list[str], check: bool = False) -> str:
    """The output of one of the cluster's tools (sh, curl, redis-cli, pgrep)."""
    return subprocess.run(  # noqa: S603 - our own commands, no shell
        command, check=check, capture_output=True, text=True, timeout=120
    ).stdout


def pid_of(env: dict[str, str], name: str) -> int:
    return int((Path(env["RUN"]) / f"{name}.pid").read_text())


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} drill: {message}", flush=True)


# --- the municipality, its places and the dashboard's user ----------------------------


@dataclass
class Place:
    person_id: int
    shift_id: int
    kind: str = "arrived"


@dataclass
class Prepared:
    tenant_id: int
    election_id: int
    token: str
    coordinator_id: int
    places: list[Place]


async def prepare(owner_url: str, seconds: float) -> Prepared:
    """The demo's most staffed election moved to election day now (check-in open for two
    hours at least, whatever the hour), its election-day records cleared, a token, and
    the places whose check-in stays open for the drill's ``seconds``."""
    engine = create_engine(owner_url, pool_size=2)
    try:
        async with create_session_factory(engine)() as session:
            moved = await move_election_day(session, DEMO_SLUG, staffed=True)
            assert moved is not None, "no demo municipality: run `make cluster` first"
            tenant = await session.scalar(select(Tenant).where(Tenant.slug == DEMO_SLUG))
            coordinator = await session.scalar(
                select(User.id).where(User.email == "coordinator@demo.stemma.test")
            )
            assert tenant is not None and coordinator is not None
            with tenant_scope(tenant.id):
                election = await session.scalar(
                    select(Election)
                    .where(Election.election_day == moved.new_day, Election.name == moved.name)
                    .order_by(Election.id)
                    .limit(1)
                )
                assert election is not None
                await _clear_election_day(session, election.id)
                rows = (
                    await session.execute(
                        select(Assignment.person_id, Shift)
                        .join(Shift, Shift.id == Assignment.shift_id)
                        .where(
                            Assignment.election_id == election.id,
                            Assignment.state == "accepted",
                            Shift.day == moved.new_day,
                        )
                        .order_by(Assignment.id)
                    )
                ).all()
                _row, token = await create_api_token(session, Actor.system("drill"), "Drill")
                await session.commit()
            # Only the places whose check-in is open for the whole drill: from 22:00 the
            # demo's election day is tomorrow, and its later shifts open in the morning.
            zone = ZoneInfo(tenant.timezone)
            now, end = utcnow(), utcnow() + dt.timedelta(seconds=seconds)
            places = [
                Place(person, shift.id)
                for person, shift in rows
                if check_in_window(shift, zone)[0] <= now and end < check_in_window(shift, zone)[1]
            ]
            assert places, "no place of the election day is open for check-in"
            return Prepared(tenant.id, election.id, token, coordinator, places)
    finally:
        await engine.dispose()


# --- phones ---------------------------------------------------------------------------


@dataclass
class Attempt:
    key: str
    started: float
    ended: float
    status: int


@dataclass
class Phones:
    url: str
    token: str
    run: str
    attempts: list[Attempt] = field(default_factory=list)
    answered: dict[str, tuple[int, int, float, float]] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)
    sent = 0

    async def run_load(self, places: list[Place], rate: float, until: float) -> None:
        idle = list(places)
        busy: set[asyncio.Task[None]] = set()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=400)) as http:
            next_at = time.monotonic()
            while time.monotonic() < until:
                if idle:
                    place = idle.pop(0)
                    task = asyncio.create_task(self.check_in(http, place, idle))
                    busy.add(task)
                    task.add_done_callback(busy.discard)
                next_at += 1 / rate
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if busy:
                await asyncio.wait(busy, timeout=ANSWER_SECONDS * 2)

    async def check_in(self, http: aiohttp.ClientSession, place: Place, idle: list[Place]) -> None:
        """One phone's check-in, sent again with its key until it is answered."""
        self.sent += 1
        key = f"drill-{self.run}-{self.sent}"
        body = {"person_id": place.person_id, "shift_id": place.shift_id, "kind": place.kind}
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
        first = time.monotonic()
        pause = RESEND_SECONDS[0]
        while time.monotonic() - first < 180:
            started = time.monotonic()
            status, data = 0, None
            try:
                async with http.post(
                    f"{self.url}/api/v1/checkins",
                    json=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=ANSWER_SECONDS),
                ) as response:
                    status = response.status
                    data = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            except json.JSONDecodeError:
                pass  # the balancer's own error page
            self.attempts.append(Attempt(key, started, time.monotonic(), status))
            if status in (200, 201):
                self.answered[key] = (status, int(data["id"]), first, time.monotonic())
                place.kind = "left" if place.kind == "arrived" else "arrived"
                break
            if 400 <= status < 500:
                self.refusals.append(f"{key} {status} {data}")
                break
            await asyncio.sleep(random.uniform(pause / 2, pause))  # noqa: S311 - jitter
            pause = min(pause * 2, RESEND_SECONDS[1])
        idle.append(place)


# --- dashboards -----------------------------------------------------------------------


@dataclass
class Dashboard:
    number: int
    first_cursor: int | None = None
    last_event_id: int | None = None
    seen: set[int] = field(default_factory=set)
    reconnects: int = 0
    #: The cursors of the snapshots it was sent instead of a long replay: it reloads its
    #: state then, which holds every event up to the cursor.
    snapshots: list[int] = field(default_factory=list)


async def watch(
    dashboard: Dashboard,
    url: str,
    slug: str,
    token: str,
    user_id: int,
    topic: str,
    stop: asyncio.Event,
) -> None:
    """A coordinator's dashboard: reconnects with its last event id whenever it drops."""
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            try:
                async with http.post(
                    f"{url}/api/v1/realtime/tickets",
                    json={"user_id": user_id},
                    headers={"Authorization": f"Bearer {token}"},
                ) as response:
                    if response.status != 201:
                        raise ConnectionError(f"ticket: {response.status}")
                    ticket = (await response.json())["ticket"]
                query: dict[str, Any] = {"ticket": ticket, "topics": topic}
                if dashboard.last_event_id is not None:
                    query["last_event_id"] = dashboard.last_event_id
                ws_url = url.replace("http://", "ws://", 1) + f"/{slug}/ws?{urlencode(query)}"
                async with websockets.connect(ws_url, open_timeout=20, max_size=2**22) as socket:
                    reading = asyncio.create_task(_read(dashboard, socket))
                    stopping = asyncio.create_task(stop.wait())
                    await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    for task in (reading, stopping):
                        task.cancel()
            except Exception:  # noqa: S110 - a dashboard reconnects on any failure
                pass
            if not stop.is_set():
                dashboard.reconnects += 1
                await asyncio.sleep(0.5)


async def _read(dashboard: Dashboard, socket: Any) -> None:
    async for message in socket:
        data = message.encode() if isinstance(message, str) else message
        ids: list[int] = []
        if data[:1] == b"{":
            parsed = json.loads(data)
            if parsed.get("type") in ("ws.subscribed", "ws.snapshot"):
                cursor = int(parsed["last_event_id"])
                if dashboard.first_cursor is None:
                    dashboard.first_cursor = cursor
                if dashboard.last_event_id is None or parsed["type"] == "ws.snapshot":
                    dashboard.last_event_id = cursor
                if parsed["type"] == "ws.snapshot":
                    dashboard.snapshots.append(cursor)
                continue
            if isinstance(parsed.get("id"), int):
                ids = [parsed["id"]]
        else:
            several, one = EVENT_IDS.search(data), EVENT_ID.search(data)
            if several is not None:
                ids = [int(i) for i in several.group(1).split(b",")]
            elif one is not None:
                ids = [int(one.group(1))]
        dashboard.seen.update(ids)
        if ids and (dashboard.last_event_id is None or max(ids) > dashboard.last_event_id):
            dashboard.last_event_id = max(ids)


# --- faults ---------------------------------------------------------------------------


def kill_postgres_primary(env: dict[str, str]) -> str:
    member = primary_number(env)
    assert member is not None, "no PostgreSQL primary"
    data = Path(env["CLUSTER_DIR"]) / f"pg{member}" / "data" / "postmaster.pid"
    pid = int(data.read_text().split()[0])
    os.kill(pid, signal.SIGKILL)
    return f"pg{member} (postmaster {pid})"


def redis_master_port(env: dict[str, str]) -> int | None:
    for port in env["SENTINEL_PORTS"].split():
        answer = run(
            ["redis-cli", "-p", port, "sentinel", "get-master-addr-by-name", "stemma"]
        ).split()
        if len(answer) == 2:
            return int(answer[1])
    return None


def kill_redis_master(env: dict[str, str]) -> str:
    port = redis_master_port(env)
    name = "redis-master" if port == int(env["REDIS_MASTER_PORT"]) else "redis-replica"
    os.kill(pid_of(env, name), signal.SIGKILL)
    return f"{name} on {port}"


def kill_stemma_instance(env: dict[str, str]) -> str:
    loop = pid_of(env, "web0")
    children = run(["pgrep", "-P", str(loop)]).split()
    assert children, "web0 is not serving"
    os.kill(int(children[0]), signal.SIGKILL)
    return f"web0 (process {children[0]})"


FAULTS: list[tuple[str, Callable[[dict[str, str]], str]]] = [
    ("PostgreSQL primary", kill_postgres_primary),
    ("Redis master", kill_redis_master),
    ("Stemma instance", kill_stemma_instance),
]


# --- the drill ------------------------------------------------------------------------


async def drill(options: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    prepared = await prepare(
        env["OWNER_URL"], options.warmup + len(FAULTS) * options.between + 3 * ANSWER_SECONDS
    )
    log(f"{len(prepared.places)} places, election {prepared.election_id}")
    run = time.strftime("%H%M%S")
    phones = Phones(env["WEB_URL"], prepared.token, run)
    topic = ops_topic(prepared.tenant_id, prepared.election_id)
    stop = asyncio.Event()
    dashboards = [Dashboard(n) for n in range(options.dashboards)]
    watchers = [
        asyncio.create_task(
            watch(
                d, env["WEB_URL"], DEMO_SLUG, prepared.token, prepared.coordinator_id, topic, stop
            )
        )
        for d in dashboards
    ]
    started = time.monotonic()
    until = started + options.warmup + len(FAULTS) * options.between
    load = asyncio.create_task(phones.run_load(prepared.places, options.rate, until))
    faults: list[dict[str, Any]] = []
    for number, (name, fault) in enumerate(FAULTS):
        await asyncio.sleep(
            max(0.0, started + options.warmup + number * options.between - time.monotonic())
        )
        killed_at = time.monotonic()
        what = fault(env)
        log(f"killed the {name}: {what}")
        faults.append({"fault": name, "killed": what, "at": killed_at})
        await asyncio.sleep(options.between / 2)
        cluster("revive", timeout=120)
    await load
    await asyncio.sleep(5)  # the last events reach the sockets
    stop.set()
    await asyncio.gather(*watchers, return_exceptions=True)
    return await audit(env, prepared, phones, dashboards, faults, topic, started, options)


def windows(phones: Phones, at: float, span: float) -> dict[str, Any]:
    """After a fault at ``at``: how long no write was answered (from the last answer
    before the fault, or the fault, to the first after it), which attempts were refused,
    and the longest a phone waited for its answer."""
    refused = [
        a for a in phones.attempts if at <= a.ended <= at + span and a.status not in (200, 201)
    ]
    statuses: dict[str, int] = {}
    for attempt in refused:
        statuses[str(attempt.status)] = statuses.get(str(attempt.status), 0) + 1
    answers = sorted(a.ended for a in phones.attempts if a.status in (200, 201))
    before = max((t for t in answers if t <= at), default=at)
    after = [t for t in answers if t > at]
    longest_gap, last = 0.0, before
    for moment in after:
        if moment > at + span:
            break
        longest_gap = max(longest_gap, moment - last)
        last = moment
    waits = [
        ended - first
        for _status, _id, first, ended in phones.answered.values()
        if at - 1 <= first <= at + span
    ]
    return {
        "writes_refused_seconds": round(longest_gap, 2),
        "refused_attempts": statuses,
        "longest_wait_seconds": round(max(waits), 2) if waits else 0.0,
    }


def timeline(phones: Phones, started: float, step: float = 5.0) -> list[int]:
    """Check-ins answered in each ``step`` seconds of the drill."""
    counts: dict[int, int] = {}
    for _status, _id, _first, ended in phones.answered.values():
        slot = int((ended - started) // step)
        counts[slot] = counts.get(slot, 0) + 1
    return [counts.get(slot, 0) for slot in range(max(counts, default=-1) + 1)]


async def audit(
    env: dict[str, str],
    prepared: Prepared,
    phones: Phones,
    dashboards: list[Dashboard],
    faults: list[dict[str, Any]],
    topic: str,
    started: float,
    options: argparse.Namespace,
) -> dict[str, Any]:
    engine = create_engine(env["OWNER_URL"], pool_size=1)
    try:
        async with engine.connect() as connection:
            stored = dict(
                (
                    await connection.execute(
                        text(
                            "SELECT idempotency_key, count(*) FROM check_ins"
                            " WHERE tenant_id = :tenant AND idempotency_key LIKE :keys"
                            " GROUP BY idempotency_key"
                        ),
                        {"tenant": prepared.tenant_id, "keys": f"drill-{phones.run}-%"},
                    )
                ).all()
            )
            events = list(
                (
                    await connection.execute(
                        text(
                            "SELECT id FROM events"
                            " WHERE tenant_id = :tenant AND topic = :topic ORDER BY id"
                        ),
                        {"tenant": prepared.tenant_id, "topic": topic},
                    )
                ).scalars()
            )
    finally:
        await engine.dispose()
    answered_201 = [k for k, (status, *_rest) in phones.answered.items() if status == 201]
    missing = [k for k in phones.answered if stored.get(k) != 1]
    unanswered_stored = [k for k in stored if k not in phones.answered]
    behind = {}
    for dashboard in dashboards:
        # A snapshot brings the dashboard's state up to its cursor.
        floor = max([dashboard.first_cursor or 0, *dashboard.snapshots])
        lacking = sorted(i for i in events if i > floor and i not in dashboard.seen)
        if dashboard.first_cursor is None:
            behind[dashboard.number] = "never subscribed"
        elif lacking:
            behind[dashboard.number] = f"{len(lacking)} missing, from {lacking[:5]}"
    figures = [
        {"fault": f["fault"], "killed": f["killed"], **windows(phones, f["at"], options.between)}
        for f in faults
    ]
    elapsed = time.monotonic() - started
    report = {
        "seconds": round(elapsed, 1),
        "check_ins_sent": phones.sent,
        "answered_201": len(answered_201),
        "answered_200": len(phones.answered) - len(answered_201),
        "rate_per_second": round(len(phones.answered) / elapsed, 1),
        "not_stored_exactly_once": missing[:10],
        "stored_but_never_answered": unanswered_stored[:10],
        "refusals": phones.refusals[:10],
        "faults": figures,
        "answered_per_5_seconds": timeline(phones, started),
        "dashboards": len(dashboards),
        "dashboard_reconnects": sum(d.reconnects for d in dashboards),
        "dashboard_snapshots": sum(len(d.snapshots) for d in dashboards),
        "dashboard_events_expected": len(events),
        "dashboards_behind": behind,
    }
    report["passed"] = (
        not missing
        and not unanswered_stored
        and not phones.refusals
        and not behind
        and len(phones.answered) == phones.sent
        and all(f["writes_refused_seconds"] < options.goal for f in figures)
    )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="check-ins a second")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before the first fault")
    parser.add_argument("--between", type=float, default=40.0, help="seconds between faults")
    parser.add_argument("--dashboards", type=int, default=4)
    parser.add_argument("--goal", type=float, default=15.0, help="refused-writes seconds allowed")
    parser.add_argument("--keep", action="store_true", help="leave a cluster started here running")
    options = parser.parse_args()
    env = cluster_env()
    return run_drill(
        "drill", env, options.keep, lambda: asyncio.run(drill(options, env)), log, stop_seconds=120
    )


if __name__ == "__main__":
    sys.exit(main())
