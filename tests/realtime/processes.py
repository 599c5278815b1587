"""Real processes for the realtime fault tests: ``stemma serve`` subprocesses that share
one PostgreSQL and one Redis, a private ``redis-server`` a test may stop and restart, and
the clients of an election day (a kiosk posting check-ins with an API token, and a
coordinators' dashboard on a socket opened with a one-time ticket).

Every process started here is ended by the fixture that started it, on success or
failure; a test that runs one must use those fixtures (see ``test_processes.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.events import ops_topic
from app.core.models import Event, Tenant
from app.core.tenancy import tenant_scope
from app.domain.elections.districts import save_district
from app.domain.elections.norms import set_norms
from app.domain.elections.shifts import save_shift
from app.domain.models import CheckIn
from app.domain.staffing import assignments
from tests.factories import free_port, make_clerk, make_election, make_staffed_station

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "process-test-secret-key-that-is-long-enough-0123456789"
#: How long a process may take to answer its health check after being started.
START_SECONDS = 60.0
#: How long a process may take to stop after SIGTERM before it is killed.
STOP_SECONDS = 2.0
#: The cursor every dashboard fragment carries (``planning/ops/_live_update.html``).
CURSOR = re.compile(r'id="ops-cursor"[^>]*data-event-ids="([\d,]+)"')


# --- app processes ----------------------------------------------------------------------


#: prctl(2) on Linux, looked up here: a child between fork and exec must not import.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1
_SIGKILL = int(signal.SIGKILL)


def _die_with_the_tests() -> None:
    """Run in the child before it executes: have the kernel kill it when the test process
    dies, so not even a killed test run leaves a server behind."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, _SIGKILL)


@dataclass
class AppProcess:
    """One ``stemma serve`` on a port of its own, its output in a log file."""

    name: str
    port: int
    log_path: Path
    popen: subprocess.Popen[bytes]

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process ends at once, its sockets and connections with it."""
        if self.running:
            self.popen.kill()
        self.popen.wait(STOP_SECONDS)

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def problems(self) -> list[str]:
        """Log lines at ERROR or worse, and tracebacks: a process's own failing test."""
        return [
            line
            for line in self.log().splitlines()
            if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback")
        ]


@dataclass
class ProcessGroup:
    """The app processes of one test, all configured alike; ``close()`` ends them all."""

    directory: Path
    database_url: str
    redis_url: str
    #: One channel prefix for the group: its processes hear each other and no one else.
    channel_prefix: str = field(default_factory=lambda: f"test-{uuid.uuid4().hex}:")
    processes: list[AppProcess] = field(default_factory=list)

    def environment(self, data_dir: Path) -> dict[str, str]:
        # The test run's own STEMMA_* variables (STEMMA_TEST_...) stay out of the server.
        env = {key: value for key, value in os.environ.items() if not key.startswith("STEMMA_")}
        env.update(
            PYTHONUNBUFFERED="1",
            STEMMA_DATA_DIR=str(data_dir),
            STEMMA_DATABASE_URL=self.database_url,
            STEMMA_REDIS_URL=self.redis_url,
            STEMMA_REDIS_CHANNEL_PREFIX=self.channel_prefix,
            STEMMA_SECRET_KEY=SECRET_KEY,
            STEMMA_BASE_URL="http://localhost",
            # Web processes of a scaled-out deployment leave the outbox to `stemma worker`.
            STEMMA_RUN_WORKER_IN_PROCESS="false",
            STEMMA_LOG_LEVEL="INFO",
        )
        return env

    def start(self, name: str, workers: int = 1) -> AppProcess:
        """Start ``stemma serve`` on a free port (call ``wait_ready`` before using it);
        with ``workers`` above one, a supervisor and that many worker processes."""
        port = free_port()
        data_dir = self.directory / name
        data_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.directory / f"{name}.log"
        with log_path.open("wb") as log_file:
            popen = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
                + (["--workers", str(workers)] if workers > 1 else []),
                cwd=ROOT,
                env=self.environment(data_dir),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_the_tests,
            )
        process = AppProcess(name, port, log_path, popen)
        self.processes.append(process)
        return process

    async def wait_ready(self) -> None:
        """Wait until every started process answers (they start side by side)."""
        await asyncio.gather(*(wait_ready(process) for process in self.processes))

    def close(self) -> None:
        """SIGTERM to every process at once; SIGKILL for any still up after a moment
        (Hypercorn may wait for a closed socket's ping task before it stops)."""
        running = [process for process in self.processes if process.running]
        for process in running:
            process.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            try:
                process.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.popen.kill()
        for process in running:
            process.popen.wait()

    def problems(self) -> dict[str, list[str]]:
        found = {process.name: process.problems() for process in self.processes}
        return {name: lines for name, lines in found.items() if lines}


async def wait_ready(process: AppProcess) -> None:
    """Wait until the process answers ``/healthz``; fail with its log if it exits."""
    deadline = asyncio.get_running_loop().time() + START_SECONDS
    async with aiohttp.ClientSession() as http:
        while True:
            if not process.running:
                raise AssertionError(f"{process.name} exited at start:\n{process.log()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(f"{process.http}/healthz") as answer:
                    if answer.status == 200:
                        return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{process.name} did not come up:\n{process.log()}")
            await asyncio.sleep(0.05)


# --- a private Redis --------------------------------------------------------------------


class PrivateRedis:
    """A ``redis-server`` of the test's own on a free port, so it can be stopped and
    started again without disturbing anyone else's Redis."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def spawn(self) -> subprocess.Popen[bytes]:
        """Start redis-server without persistence (use ``start`` to wait for it too)."""
        assert self.popen is None or self.popen.poll() is not None, "already running"
        self.popen = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_the_tests,
        )  # fmt: skip
        return self.popen

    async def start(self) -> None:
        """Start redis-server (again, on the same port) and wait until it listens."""
        popen = self.spawn()
        for _ in range(200):
            if popen.poll() is not None:
                raise AssertionError(f"redis-server exited with {popen.returncode}")
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.025)
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise AssertionError("redis-server did not come up")

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(STOP_SECONDS)


# --- election day in the database -------------------------------------------------------


@dataclass(frozen=True)
class LiveDay:
    """Today's election with one station whose all-day shift has ``clerks`` clerks placed,
    an API token for the kiosk, and the coordinator the dashboards act for."""

    tenant_id: int
    tenant_slug: str
    election_id: int
    station_id: int
    shift_id: int
    clerk_ids: list[int]
    token: str
    coordinator_id: int

    @property
    def topic(self) -> str:
        return ops_topic(self.tenant_id, self.election_id)

    def check_in(self, number: int) -> dict[str, Any]:
        """The ``number``-th check-in of the day: clerks arrive in turn, then leave in
        turn, then arrive again, so every one of them is allowed."""
        count = len(self.clerk_ids)
        kind = "arrived" if (number // count) % 2 == 0 else "left"
        return {
            "person_id": self.clerk_ids[number % count],
            "shift_id": self.shift_id,
            "kind": kind,
        }


async def live_day(db: AsyncSession, tenant: Tenant, coordinator_id: int, clerks: int) -> LiveDay:
    """Set up an election held today in the municipality's time zone: the servers check
    check-ins against the real clock, so the shift spans the whole local day."""
    actor = Actor.system("test")
    today = dt.datetime.now(ZoneInfo(tenant.timezone)).date()
    election = await make_election(
        db,
        tenant,
        name=f"Val {today.isoformat()}",
        kind="municipal",
        election_day=today.isoformat(),
        advance_start=(today - dt.timedelta(days=18)).isoformat(),
        advance_end=today.isoformat(),
    )
    with tenant_scope(tenant.id):
        await save_district(db, actor, election.id, {"code": "D1", "name": "Distrikt 1"})
    staffed = await make_staffed_station(db, tenant, election)
    people = [await make_clerk(db, tenant, election) for _ in range(clerks)]
    with tenant_scope(tenant.id):
        station_id = staffed["station"].id
        clerk_role = staffed["roles"]["clerk"]
        shift = await save_shift(
            db, actor, election.id, station_id,
            {"name": "Hela dagen", "day": today.isoformat(), "starts_at": "00:00",
             "ends_at": "23:59"},
        )  # fmt: skip
        await set_norms(
            db, actor, election.id, station_id, shift.id,
            {"min_clerk": "1", "target_clerk": str(clerks)},
        )  # fmt: skip
        for person in people:
            placed = await assignments.assign_person(db, actor, shift.id, clerk_role.id, person.id)
            placed.state = "accepted"
        await db.commit()
        _row, secret = await create_api_token(db, actor, "Kiosk")
        return LiveDay(
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            election_id=election.id,
            station_id=station_id,
            shift_id=shift.id,
            clerk_ids=[person.id for person in people],
            token=secret,
            coordinator_id=coordinator_id,
        )


async def ops_event_ids(db: AsyncSession, day: LiveDay) -> list[int]:
    """The ids of every event on the day's ops topic, oldest first: what a dashboard
    that missed nothing has received."""
    with tenant_scope(day.tenant_id):
        rows = await db.scalars(select(Event.id).where(Event.topic == day.topic).order_by(Event.id))
        return list(rows)


async def check_in_rows(db: AsyncSession, day: LiveDay) -> list[CheckIn]:
    with tenant_scope(day.tenant_id):
        rows = await db.scalars(
            select(CheckIn)
            .where(CheckIn.shift_id == day.shift_id)
            .order_by(CheckIn.id)
            .execution_options(populate_existing=True)
        )
        return list(rows)


# --- clients ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


async def post_json(
    http: aiohttp.ClientSession,
    process: AppProcess,
    path: str,
    body: dict[str, Any],
    token: str,
    **headers: str,
) -> Answer:
    async with http.post(
        f"{process.http}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}", **headers},
        timeout=aiohttp.ClientTimeout(total=15),
    ) as answer:
        data = await answer.json(content_type=None)
        # Header names as lowercase: HTTP/1.1 servers may send them in any case.
        headers = {name.lower(): value for name, value in answer.headers.items()}
        return Answer(answer.status, data, headers)


async def post_check_in(
    http: aiohttp.ClientSession, process: AppProcess, day: LiveDay, body: dict[str, Any], key: str
) -> Answer:
    return await post_json(
        http, process, "/api/v1/checkins", body, day.token, **{"Idempotency-Key": key}
    )


class Dashboard:
    """A coordinators' dashboard as ``static/js/dashboard.js`` keeps it: one socket on
    the election's ops topic, the id of every event applied (from each fragment's
    cursor), and a reconnect with the last of them."""

    def __init__(self, name: str, day: LiveDay, cursor: int) -> None:
        self.name = name
        self.day = day
        #: Where the page was rendered: the first socket asks for what came after it.
        self.start_cursor = cursor
        self.received: list[int] = []
        #: Every event as the socket sent it (the fragments the page would swap in).
        self.messages: list[str] = []
        self.notices: list[dict[str, Any]] = []
        self.socket: ClientConnection | None = None
        self.process: AppProcess | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def last_event_id(self) -> int:
        return max(self.received, default=self.start_cursor)

    async def connect(self, http: aiohttp.ClientSession, process: AppProcess) -> None:
        """Open the socket on ``process`` with a fresh ticket and the last event id seen,
        and wait until it is subscribed."""
        ticket = await post_json(
            http,
            process,
            "/api/v1/realtime/tickets",
            {"user_id": self.day.coordinator_id},
            self.day.token,
        )
        assert ticket.status == 201, ticket
        query = (
            f"ticket={ticket.body['ticket']}&topics={self.day.topic}"
            f"&last_event_id={self.last_event_id}"
        )
        socket = await connect(
            f"{process.ws}/{self.day.tenant_slug}/ws?{query}",
            proxy=None,
            open_timeout=10,
            max_size=None,
        )
        first = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert first["type"] == "ws.subscribed", first
        assert first["topics"] == [self.day.topic], first
        self.socket, self.process = socket, process
        self._reader = asyncio.create_task(self._read(socket), name=f"dashboard-{self.name}")

    async def _read(self, socket: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in socket:
                assert isinstance(message, str)
                if message.startswith("{"):
                    data = json.loads(message)
                    if str(data.get("type", "")).startswith("ws."):
                        self.notices.append(data)
                    else:
                        self.messages.append(message)
                        self.received.append(int(data["id"]))
                    continue
                found = CURSOR.search(message)
                assert found is not None, message
                self.messages.append(message)
                # A fragment drawn for several events names them all. One that brings
                # none this socket lacks is a duplicate, and is counted as one.
                ids = [int(i) for i in found.group(1).split(",")]
                new = [i for i in ids if i not in self.received]
                self.received.extend(new or ids)

    async def wait_closed(self, seconds: float = 10) -> None:
        """Wait until the server side is gone (the client notices the dead connection)."""
        assert self._reader is not None
        await asyncio.wait_for(asyncio.shield(self._reader), seconds)

    async def wait_for(self, wanted: list[int], seconds: float = 10) -> None:
        """Wait until every id of ``wanted`` was received."""
        deadline = asyncio.get_running_loop().time() + seconds
        while not set(wanted) <= set(self.received):
            if self._reader is not None and self._reader.done():
                self._reader.result()  # an assertion in the reader fails here
            if asyncio.get_running_loop().time() > deadline:
                missing = sorted(set(wanted) - set(self.received))
                raise AssertionError(
                    f"dashboard {self.name} misses events {missing} "
                    f"(received {self.received}, notices {self.notices})"
                )
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.socket.close(), 5)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
