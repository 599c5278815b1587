"""A staffing board page's p95 while a dispatch is being sent (issue 21: within 20% of
its p95 without the send).

The Stockholm-scale demo; on PostgreSQL the app runs as an ordinary role with the row
policies forced (``--database-url`` as the tables' owner: the bench makes the role).
The board of one district (the whole page, as ``--only board`` measures it) is asked
for ``requests`` times with nothing being sent, then again while one outbox worker (its
own process) delivers an SMS dispatch to the whole register (every person of the
register made active first: 15,000 people) to the local gateway (its own process).
Both p95s, their ratio, and the CPU time of each process in each phase are printed.

``python -m bench --only dispatch-board --database-url postgresql://...``
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from app import create_app
from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.audit import Actor
from app.core.migrations import upgrade_async
from app.core.models import OutboxMessage
from app.core.settings import load_settings
from app.core.tenancy import tenant_scope
from app.demo import DEMO_PASSWORD, LARGE_SLUG, create_demo
from app.domain.dispatches.sending import DispatchDraft, create_dispatch, send_dispatch
from app.domain.models import District, Election, Person
from app.realtime.serving import tune_garbage_collector
from bench.common import signed_in_client, summary
from bench.delivery import _start_gateway, _start_worker, _stats, _wait_for
from bench.dispatch import TEXT, app_role_url
from tests.factories import free_port

ACTOR = Actor.system("bench")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class PostgresCpu:
    """CPU seconds of the PostgreSQL server processes serving one database, read from
    /proc while a phase runs (a backend that lives shorter than a poll is missed)."""

    database: str
    seen: dict[int, float] = field(default_factory=dict)
    start: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _poll(self) -> None:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                    title = cmdline.read().decode(errors="replace")
                if not title.startswith("postgres: ") or f" {self.database} " not in title:
                    continue
                with open(f"/proc/{entry.name}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            pid = int(entry.name)
            self.start.setdefault(pid, seconds)
            self.seen[pid] = seconds

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._poll()

    def __enter__(self) -> PostgresCpu:
        self._poll()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._poll()

    @property
    def seconds(self) -> float:
        return sum(self.seen[pid] - self.start[pid] for pid in self.seen)


async def run(database_url: str | None, data_dir: Path, requests: int = 200) -> None:
    print("== staffing board during a dispatch's send (large demo municipality) ==")
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'dispatch-board.db'}"
    await upgrade_async(url)
    settings = load_settings(
        data_dir=data_dir, database_url=url, secret_key="s" * 40, run_worker_in_process=False
    )
    owner_app = create_app(settings)
    owner_factory = owner_app.extensions["stemma"].session_factory
    await create_demo(owner_factory, size="large")
    async with owner_factory() as session:
        tenant = await get_tenant_by_slug(session, LARGE_SLUG)
        assert tenant is not None
        with tenant_scope(tenant.id):
            await session.execute(
                update(Person).where(Person.erased_at.is_(None)).values(status="active")
            )
            await session.commit()
    await owner_app.extensions["stemma"].engine.dispose()
    postgres = make_url(url).get_backend_name() == "postgresql"
    app_url = await app_role_url(url) if postgres else url
    app = create_app(settings.model_copy(update={"database_url": app_url}))
    # The collector as `stemma serve` sets it: without it, the large demo's objects made
    # just before are walked by full collections in the first phase measured only.
    tune_garbage_collector()
    try:
        with tenant_scope(tenant.id):
            await _measure(app, data_dir, app_url, url, requests)
    finally:
        await app.extensions["stemma"].engine.dispose()


async def _districts(factory: Any) -> tuple[int, list[int]]:
    async with factory() as session:
        election_id = await session.scalar(select(Election.id).order_by(Election.id.desc()))
        districts = list(
            await session.scalars(
                select(District.id).where(District.election_id == election_id).limit(50)
            )
        )
    assert election_id is not None and districts
    return election_id, districts


async def _queue_dispatch(factory: Any) -> int:
    async with factory() as session:
        draft = DispatchDraft.from_mapping(
            {
                "title": "Bench during the board",
                "group": "register",
                "channels": ["sms"],
                "sms_sv": TEXT,
                "request_key": secrets.token_urlsafe(16),
            }
        )
        dispatch = await create_dispatch(session, ACTOR, draft)
        dispatch_id = dispatch.id
    async with factory() as session:
        start = time.perf_counter()
        await send_dispatch(session, ACTOR, dispatch_id, "http://bench")
        elapsed = time.perf_counter() - start
        people = await session.scalar(
            select(func.count()).select_from(Person).where(Person.status == "active")
        )
        # Every SMS the worker will send: the dispatch's, and any the demo left pending.
        messages = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.channel == "sms", OutboxMessage.status == "pending")
        )
    print(f"{f'dispatch to {people} people: frozen and queued':<44} {elapsed:7.2f} s")
    return int(messages or 0)


@dataclass
class Phase:
    """One phase's board requests: wall-clock and the serving thread's CPU, in ms."""

    name: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    load: float = 0.0

    def line(self) -> str:
        return (
            summary(f"board, {self.name}", self.wall)
            + f"  CPU p95 {_p95(self.cpu):6.1f} ms  (load {self.load:.1f})"
        )


async def _measure(app: Any, data_dir: Path, app_url: str, owner_url: str, requests: int) -> None:
    factory = app.extensions["stemma"].session_factory
    election_id, districts = await _districts(factory)
    database = make_url(app_url).database or ""
    async with app.test_app() as test_app:
        client = await signed_in_client(
            test_app, f"planner@{LARGE_SLUG}.stemma.test", DEMO_PASSWORD
        )
        base = f"/{LARGE_SLUG}/planning/elections/{election_id}/staffing"

        async def board(index: int, phase: Phase) -> None:
            district = districts[index % len(districts)]
            start, cpu = time.perf_counter(), time.thread_time()
            response = await client.get(f"{base}?district={district}")
            await response.get_data()
            assert response.status_code == 200, response.status_code
            phase.wall.append((time.perf_counter() - start) * 1000)
            phase.cpu.append((time.thread_time() - cpu) * 1000)
            phase.load = os.getloadavg()[0]

        # Warm the caches and the pool on the very districts measured: each district's
        # board compiles statements of its own shape once (IN lists of its size), and a
        # first-time compile in "before" but not in "after" is not what a send changes.
        for index in range(requests):
            await board(index, Phase("warm-up"))
        before, after = Phase("nothing being sent (before)"), Phase("nothing being sent (after)")
        cpu = time.process_time()
        with PostgresCpu(database) as pg_quiet:
            for index in range(requests):
                await board(index, before)
        quiet_cpu = time.process_time() - cpu
        messages = await _queue_dispatch(factory)
        during, sending_cpu, pg_sending, sent_seconds = await _during_send(
            board, data_dir, owner_url, app_url, messages, requests
        )
        for index in range(requests):
            await board(index, after)
    for phase in (before, during, after):
        print(phase.line())
    quiet_p95 = _p95(before.wall + after.wall)
    ratio = _p95(during.wall) / quiet_p95
    verdict = "ok" if ratio <= 1.2 else "MORE THAN 20% SLOWER"
    print(f"{'p95 during the send / p95 without (both)':<44} {ratio:7.2f}    {verdict}")
    cpu_ratio = _p95(during.cpu) / _p95(before.cpu + after.cpu)
    print(f"{'the same for the CPU per request':<44} {cpu_ratio:7.2f}")
    print(
        f"{messages} SMS delivered in {sent_seconds:.1f} s"
        f" ({messages / sent_seconds:.0f} messages/s)"
    )
    print(f"CPU seconds per process (quiet: {requests} requests | sending: the whole send):")
    print(
        f"  {'bench (the app serving the board)':<40} {quiet_cpu:7.2f} | {sending_cpu['bench']:7.2f}"
    )
    print(
        f"  {'PostgreSQL backends of the database':<40} {pg_quiet.seconds:7.2f} | {pg_sending:7.2f}"
    )
    print(f"  {'outbox worker':<40} {'-':>7} | {sending_cpu['worker']:7.2f}")
    print(f"  {'local SMS gateway':<40} {'-':>7} | {sending_cpu['gateway']:7.2f}")


def _niceness(pid: int) -> int:
    """A process's Unix niceness, from /proc (the field after its priority)."""
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[16])


def _print_niceness(board: int, worker: int, idle: bool) -> None:
    """The priorities the send ran at: as ``stemma serve`` and ``stemma worker`` run, the
    worker has ``worker_nice`` (10) more than the pages; a bench started at nice 10 or
    more (on a shared machine) puts the worker and the gateway in the idle scheduling
    class instead, below the board."""
    if idle:
        note = "  (worker and gateway in the idle scheduling class: below the board)"
    elif worker <= board:
        note = "  (NOT LOWER than the board's: not as in production)"
    else:
        note = ""
    print(f"{'niceness: the board | the worker':<44} {board:7} | {worker}{note}")


def _p95(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[max(0, int(len(ordered) * 0.95) - 1)]


async def _during_send(
    board: Any, data_dir: Path, owner_url: str, app_url: str, messages: int, requests: int
) -> tuple[Phase, dict[str, float], float, float]:
    """The board asked for while one worker process sends every queued SMS to the
    gateway process; only requests that started and ended with the send going on count."""
    # `stemma worker` runs worker_nice (10) below the pages. A bench started at nice 10
    # or more (a shared machine) cannot put its worker 10 lower: the worker and the
    # gateway then run in the idle scheduling class, below the board, as in production.
    idle = os.nice(0) >= 10
    port = free_port()
    gateway = _start_gateway(port, idle)
    cpu_file = data_dir / "worker-cpu"
    try:
        gateway_cpu = _stats(port)["cpu_seconds"]
        started = time.perf_counter()
        worker = _start_worker(data_dir, app_url, port, 1000.0, 600, owner_url, cpu_file, idle)
        database = make_url(app_url).database or ""
        during = Phase("while the worker sends")
        cpu = time.process_time()
        with PostgresCpu(database) as pg_sending:
            await asyncio.to_thread(_wait_for, port, 1, 120)
            niceness = (os.nice(0), _niceness(worker.pid), idle)
            index = 0
            while len(during.wall) < requests:
                await board(index, during)
                index += 1
                if _stats(port)["received"] >= messages:
                    # The send ended during this request: not counted.
                    during.wall.pop()
                    during.cpu.pop()
                    break
            bench_cpu = time.process_time() - cpu
            await asyncio.to_thread(_wait_for, port, messages, 600)
            sent_seconds = time.perf_counter() - started
            worker.wait(120)
        gateway_used = _stats(port)["cpu_seconds"] - gateway_cpu
    finally:
        gateway.terminate()
        gateway.wait(10)
    if len(during.wall) < requests:
        print(f"  (the send ended after {len(during.wall)} of {requests} board requests)")
    _print_niceness(*niceness)
    worker_cpu = float(cpu_file.read_text())
    cpu_used = {"bench": bench_cpu, "worker": worker_cpu, "gateway": gateway_used}
    return during, cpu_used, pg_sending.seconds, sent_seconds
