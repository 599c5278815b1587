"""``stemma serve --workers N`` keeps serving when a worker dies: a worker killed while
check-ins pour in is replaced (the log says which one died, how, and that another was
started), no check-in answered 201 is lost or doubled, and the server still stops
cleanly afterwards. When it cannot serve (the port is taken, workers die before they
serve), it exits non-zero with the reason in the log.

The process test needs PostgreSQL and Redis (several workers do); the supervisor's own
tests run anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from hypercorn.config import Config
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.realtime import supervisor
from app.realtime.supervisor import Supervisor, exit_reason
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.factories import free_port
from tests.realtime.dying_worker import die_at_once
from tests.realtime.processes import (
    AppProcess,
    ProcessGroup,
    check_in_rows,
    live_day,
    post_check_in,
)

needs_processes = pytest.mark.skipif(
    not (TEST_DATABASE_URL and TEST_REDIS_URL),
    reason="real processes run when STEMMA_TEST_DATABASE_URL and STEMMA_TEST_REDIS_URL are set",
)

#: How long a replaced worker may take to serve (a fresh process loads the whole app).
RESTART_SECONDS = 90.0
STOP_SECONDS = 20.0


@pytest.fixture
def processes(database_url: str, tmp_path: Path) -> Iterator[ProcessGroup]:
    assert TEST_REDIS_URL is not None
    group = ProcessGroup(tmp_path / "processes", database_url, TEST_REDIS_URL)
    try:
        yield group
    finally:
        group.close()
        for process in group.processes:
            print(f"--- {process.name} (port {process.port}) ---\n{process.log()[-8000:]}")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _worker_pids(process: AppProcess) -> list[int]:
    """The server's worker processes (its children but multiprocessing's resource
    tracker), oldest first."""
    pid = process.popen.pid
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    workers = []
    for child in sorted(set(children)):
        with contextlib.suppress(FileNotFoundError):
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"resource_tracker" not in command:
                workers.append(child)
    return workers


async def _wait_for_workers(process: AppProcess, count: int, seconds: float) -> list[int]:
    deadline = asyncio.get_running_loop().time() + seconds
    while len(pids := _worker_pids(process)) < count:
        assert process.running, process.log()
        assert asyncio.get_running_loop().time() < deadline, process.log()
        await asyncio.sleep(0.1)
    return pids


async def _wait_for_log(process: AppProcess, pattern: str, seconds: float) -> re.Match[str]:
    deadline = asyncio.get_running_loop().time() + seconds
    while (found := re.search(pattern, process.log())) is None:
        assert process.running, process.log()
        assert asyncio.get_running_loop().time() < deadline, f"no {pattern!r}:\n{process.log()}"
        await asyncio.sleep(0.1)
    return found


@needs_processes
@pytest.mark.drill
async def test_a_killed_worker_is_replaced_while_check_ins_go_on_and_none_is_lost(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    processes: ProcessGroup,
    http: aiohttp.ClientSession,
) -> None:
    server = processes.start("server", workers=2)
    day = await live_day(db, tenant, coordinator.id, clerks=8)
    await processes.wait_ready()
    victim, survivor = await _wait_for_workers(server, 2, RESTART_SECONDS)
    for pid in (victim, survivor):
        await _wait_for_log(server, rf"worker \d \(pid {pid}\) is serving", RESTART_SECONDS)
    answers: dict[str, int | str] = {}
    stop = asyncio.Event()
    counter = iter(range(1_000_000))

    async def kiosk(name: str) -> None:
        """Check-ins one after another, each with a key of its own, until told to stop."""
        while not stop.is_set():
            number = next(counter)
            key = f"{name}-{number}"
            try:
                answer = await post_check_in(http, server, day, day.check_in(number), key)
                answers[key] = answer.status
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                answers[key] = type(error).__name__  # cut with the killed worker
            await asyncio.sleep(0.01)

    async def answered_201(count: int, seconds: float) -> None:
        target = sum(1 for status in answers.values() if status == 201) + count
        deadline = asyncio.get_running_loop().time() + seconds
        while sum(1 for status in answers.values() if status == 201) < target:
            assert asyncio.get_running_loop().time() < deadline, answers
            await asyncio.sleep(0.05)

    kiosks = [asyncio.create_task(kiosk(name)) for name in ("a", "b", "c")]
    try:
        await answered_201(10, 60)
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
        # The other worker goes on taking check-ins while the dead one is replaced.
        await answered_201(10, 60)
        died = await _wait_for_log(
            server,
            rf"WARNING app\.realtime\.supervisor: worker (\d) \(pid {victim}\) was killed by"
            r" SIGKILL after [\d.]+ s; starting another",
            10,
        )
        replacement = await _wait_for_log(
            server,
            rf"pid {victim}\) was killed[^\n]*\n(?:.*\n)*?.*worker {died[1]} started \(pid (\d+)\)",
            10,
        )
        new = int(replacement[1])
        await _wait_for_log(server, rf"worker {died[1]} \(pid {new}\) is serving", RESTART_SECONDS)
        assert sorted(_worker_pids(server)) == sorted([survivor, new])
        before = len(answers)
        await answered_201(20, 60)
    finally:
        stop.set()
        await asyncio.gather(*kiosks)
    assert server.running
    # Everything asked after the replacement served was answered.
    later = list(answers.values())[before:]
    assert later and all(status == 201 for status in later), later
    # Every check-in answered 201 is in the database, once; nothing else is.
    rows = await check_in_rows(db, day)
    keys = [row.idempotency_key for row in rows]
    assert len(keys) == len(set(keys))
    taken = {key for key, status in answers.items() if status == 201}
    assert taken <= set(keys)
    assert set(keys) <= set(answers)
    # ... and the server still stops cleanly, with every worker.
    server.popen.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(server.popen.wait, STOP_SECONDS) == 0
    problems = [line for line in server.log().splitlines() if "ERROR" in line]
    assert problems == [], server.log()
    assert "Traceback" not in server.log()


# --- the supervisor on its own -----------------------------------------------------------


def _config(port: int) -> Config:
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.graceful_timeout = 1
    return config


@pytest.mark.allow_error_logs
def test_it_exits_non_zero_when_the_port_is_taken(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.INFO, logger="app.realtime.supervisor"):
            assert Supervisor(_config(port), 2, target=die_at_once).run() == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in caplog.text


@pytest.mark.allow_error_logs
def test_it_gives_up_with_the_reason_when_workers_die_before_they_serve(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(supervisor, "FIRST_PAUSE_SECONDS", 0.05)
    with caplog.at_level(logging.INFO, logger="app.realtime.supervisor"):
        status = Supervisor(_config(free_port()), 2, target=die_at_once).run()
    assert status == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    # Each death is said, with its reason, and the place is filled again after a pause.
    assert len(warnings) == supervisor.FAILED_STARTS - 1
    assert "exited with status 3" in warnings[0].getMessage()
    assert "before it served; starting another in" in warnings[0].getMessage()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith(
        f"the server stops: workers die before they serve ({supervisor.FAILED_STARTS} in a row"
    )
    assert errors[0].endswith("exited with status 3)")


def test_it_names_how_a_process_ended() -> None:
    assert exit_reason(-9) == "was killed by SIGKILL"
    assert exit_reason(-15) == "was killed by SIGTERM"
    assert exit_reason(3) == "exited with status 3"
    assert exit_reason(0) == "exited with status 0"


@pytest.mark.drill
def test_serve_exits_non_zero_with_the_reason_when_the_database_cannot_be_reached(
    tmp_path: Path,
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STEMMA_")}
    environment.update(
        STEMMA_DATABASE_URL=f"postgresql://stemma@127.0.0.1:{free_port()}/nothing",
        STEMMA_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        STEMMA_SECRET_KEY="serve-test-secret-key-that-is-long-enough-0123456789",
        STEMMA_DATA_DIR=str(tmp_path),
    )
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(free_port())]
    result = subprocess.run(
        [*command, "--workers", "2"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result
    assert "ERROR app.cli: cannot reach the database: " in result.stderr
    assert "Traceback" not in result.stderr
