"""SMS delivery: 15,000 queued SMS sent to the local 46elks-style gateway by one worker
(target 200 messages a second or more on 2 cores), then a worker killed (SIGKILL)
mid-send and restarted: no SMS twice, none lost, counted at the gateway.

The gateway (``tests/sms_gateway.py``) and the worker each run in their own process,
as they would in production. On PostgreSQL the messages are queued and sent as the
app's ordinary role with the row policies forced, as ``stemma worker`` runs
(``--database-url`` as the tables' owner: the bench makes the role; the worker refuses
to start as a role past the policies); only the municipalities are made, and the
outbox counted across them, as the owner.
``python -m bench --only delivery [--database-url ...]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.core.accounts.municipalities import add_tenant
from app.core.db import create_engine, create_session_factory
from app.core.db_role import refuse_privileged_role
from app.core.migrations import upgrade_async
from app.core.models import OutboxMessage
from app.core.outbox.mail import FileMailTransport
from app.core.outbox.sms import HttpSmsTransport, queue_sms
from app.core.settings import Settings, load_settings
from app.core.tenancy import tenant_scope
from app.jobs.outbox import deliver_due, lower_cpu_priority
from bench.dispatch import app_role_url
from tests.factories import free_port

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = 15_000
KILLED_MESSAGES = 6_000
#: The restarted worker takes a dead worker's claims over once they are this old.
RESTART_LEASE = timedelta(seconds=3)


def _settings(data_dir: Path, url: str, gateway_port: int, rate: float) -> Settings:
    return load_settings(
        data_dir=data_dir,
        database_url=url,
        secret_key="s" * 40,
        run_worker_in_process=False,
        sms_api_url=f"http://127.0.0.1:{gateway_port}/a1/sms",
        sms_api_username="u1",
        sms_api_password="p1",  # noqa: S106 - the local gateway's
        sms_rate=rate,
        sms_delivery_reports=False,
    )


def _stats(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats", timeout=5) as answer:
        stats: dict[str, int] = json.loads(answer.read())
    return stats


def _start_gateway(port: int, idle: bool = False) -> subprocess.Popen[bytes]:
    # The gateway stands in for 46elks, which runs on its own machines: at the lowest
    # CPU priority it takes from the app only what the app leaves (``idle``: below
    # even nice 19, for a bench that itself runs at nice 19).
    priority = ["/usr/bin/chrt", "--idle", "0"] if idle else ["/usr/bin/nice", "-n", "19"]
    process = subprocess.Popen(  # noqa: S603
        [
            *priority,
            sys.executable,
            "-m",
            "tests.sms_gateway",
            "--port",
            str(port),
            "--no-reports",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            _stats(port)
            return process
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the local gateway did not start")


def _start_worker(
    data_dir: Path,
    url: str,
    gateway_port: int,
    rate: float,
    lease: float,
    states_url: str | None = None,
    cpu_file: Path | None = None,
    idle: bool = False,
) -> subprocess.Popen[bytes]:
    """One worker process sending as ``url``; it stops when the outbox, read as
    ``states_url`` (the tables' owner, who sees every municipality's rows), has nothing
    left to send, and writes its CPU seconds to ``cpu_file`` if given. ``idle``: it
    runs in Linux's idle scheduling class, below nice 19 (see ``bench.dispatch_board``)."""
    return subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "bench.delivery",
            "worker",
            str(data_dir),
            url,
            str(gateway_port),
            str(rate),
            str(lease),
            states_url or url,
            str(cpu_file or ""),
            "idle" if idle else "",
        ],
        cwd=ROOT,
    )


async def _queue(owner_url: str, url: str, slug: str, count: int) -> float:
    """A municipality made as the owner, and ``count`` SMS queued in it as ``url``."""
    engine = create_engine(owner_url)
    async with create_session_factory(engine)() as session:
        tenant = await add_tenant(session, slug, f"Bench {slug}", "sv", "Europe/Stockholm")
        await session.commit()
    await engine.dispose()
    engine = create_engine(url)
    factory = create_session_factory(engine)
    start = time.perf_counter()
    async with factory() as session:
        with tenant_scope(tenant.id):
            for number in range(count):
                queue_sms(
                    session,
                    to=f"+467{number:08d}",
                    text=f"Hej! Ditt pass i vallokal {number % 660} börjar 07:00 ({slug}).",
                    idempotency_key=f"bench:{slug}:{number}",
                )
                if number % 1000 == 999:
                    await session.commit()
            await session.commit()
    await engine.dispose()
    return time.perf_counter() - start


async def _outbox_states(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
            return {status: count for status, count in rows}
    finally:
        await engine.dispose()


def _wait_for(port: int, count: int, timeout: float) -> float:
    start = time.perf_counter()
    while _stats(port)["received"] < count:
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"the gateway got {_stats(port)['received']} of {count}")
        time.sleep(0.01)
    return time.perf_counter() - start


def _throughput(data_dir: Path, owner_url: str, url: str, port: int, rate: float) -> None:
    asyncio.run(_queue(owner_url, url, "bench-send", MESSAGES))
    worker = _start_worker(data_dir, url, port, rate, lease=600, states_url=owner_url)
    try:
        seconds = _wait_for(port, MESSAGES, 600)
    finally:
        worker.wait(60)
    stats = _stats(port)
    print(
        f"{MESSAGES} SMS to the gateway by one worker            {seconds:7.2f} s"
        f"  {MESSAGES / seconds:7.1f} messages/s  (duplicates {stats['duplicates']},"
        f" load average {os.getloadavg()[0]:.1f})"
    )
    print(f"  (the gateway used {stats['cpu_seconds']:.1f} s of CPU)")


def _kill_and_restart(data_dir: Path, owner_url: str, url: str, port: int, rate: float) -> None:
    before = _stats(port)["received"]
    asyncio.run(_queue(owner_url, url, "bench-kill", KILLED_MESSAGES))
    worker = _start_worker(data_dir, url, port, rate, lease=600, states_url=owner_url)
    # Killed in the middle of a round of sends, not between two.
    _wait_for(port, before + KILLED_MESSAGES // 3 + 77, 600)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    at_kill = _stats(port)["received"] - before
    states = asyncio.run(_outbox_states(owner_url))
    # Accepted by the gateway, but the dead worker never wrote so: only the gateway's
    # list can tell the restarted worker they are sent.
    unrecorded = at_kill - (states.get("sent", 0) - MESSAGES)
    restarted = _start_worker(
        data_dir, url, port, rate, RESTART_LEASE.total_seconds(), states_url=owner_url
    )
    try:
        _wait_for(port, before + KILLED_MESSAGES, 600)
    finally:
        restarted.wait(120)
    stats = _stats(port)
    after = asyncio.run(_outbox_states(owner_url))
    print(
        f"worker killed after {at_kill} of {KILLED_MESSAGES} at the gateway: {unrecorded} of"
        f" them not recorded, {states.get('sending', 0)} rows left claimed; restarted:"
    )
    print(
        f"  at the gateway {stats['received'] - before} SMS, duplicates {stats['duplicates']},"
        f" lost {KILLED_MESSAGES - (stats['distinct'] - before)}; outbox {after}"
    )


def run(database_url: str | None, data_dir: Path, rate: float = 1000.0) -> None:
    print("== SMS delivery (local 46elks-style gateway) ==")
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'delivery.db'}"
    asyncio.run(upgrade_async(url))
    app_url = url
    if make_url(url).get_backend_name() == "postgresql":
        app_url = asyncio.run(app_role_url(url))
        print(f"queued and sent as {make_url(app_url).username} (row-level security forced)")
    port = free_port()
    gateway = _start_gateway(port)
    try:
        _throughput(data_dir, url, app_url, port, rate)
        _kill_and_restart(data_dir, url, app_url, port, rate)
    finally:
        gateway.terminate()
        gateway.wait(10)


async def _work(
    data_dir: Path,
    url: str,
    port: int,
    rate: float,
    lease: float,
    states_url: str,
    cpu_file: str,
    idle: bool = False,
) -> None:
    """One worker: send until nothing is left to send, at the CPU priority of
    ``stemma worker`` (``idle``: lower still)."""
    settings = _settings(data_dir, url, port, rate)
    lower_cpu_priority(settings.worker_nice)
    if idle:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    engine = create_engine(url)
    # As `stemma worker`: never as a role the row policies let past.
    await refuse_privileged_role(engine, allowed=False)
    factory = create_session_factory(engine)
    sms = HttpSmsTransport(settings)
    mail = FileMailTransport(data_dir / "mail", settings.mail_from)
    try:
        while True:
            if await deliver_due(factory, mail, sms=sms, lease=timedelta(seconds=lease)):
                continue
            states = await _outbox_states(states_url)
            if not set(states) & {"pending", "sending", "uncertain"}:
                return
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()
        print(f"  (the worker used {time.process_time():.1f} s of CPU)", flush=True)
        if cpu_file:
            Path(cpu_file).write_text(f"{time.process_time():.3f}")


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    directory, database, gateway_port, send_rate, claim_lease, states, cpu, idle = sys.argv[2:10]
    asyncio.run(
        _work(
            Path(directory),
            database,
            int(gateway_port),
            float(send_rate),
            float(claim_lease),
            states,
            cpu,
            idle == "idle",
        )
    )
