"""A clean stop of ``stemma serve`` (one process, or a supervisor and its workers): live
sockets are told to reconnect elsewhere (close code 1012, "service restart"), a request
under way is answered, the exit status is 0 and nothing is logged at ERROR.

The process tests need PostgreSQL and Redis (several workers do), as
``test_processes.py``; the hub's part runs anywhere.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.exceptions import ConnectionClosed

from app.core.events import latest_event_id, ops_topic
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.realtime import ws as live
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL
from tests.factories import make_election
from tests.realtime.conftest import open_socket, receive, session_cookie
from tests.realtime.processes import (
    AppProcess,
    Dashboard,
    ProcessGroup,
    check_in_rows,
    live_day,
    ops_event_ids,
    post_check_in,
)

needs_processes = pytest.mark.skipif(
    not (TEST_DATABASE_URL and TEST_REDIS_URL),
    reason="real processes run when STEMMA_TEST_DATABASE_URL and STEMMA_TEST_REDIS_URL are set",
)

#: How long a clean stop may take (its graceful timeout is 10 s; sockets close at once).
STOP_SECONDS = 15.0
#: A live socket's access-log line names the process that serves it.
SOCKET_LINE = re.compile(r"\[(\d+)\] \[INFO\] [\d.:]+ \"GET /[^ \"]+/ws\" 101 ")


@pytest.fixture
def processes(database_url: str, tmp_path: Path) -> Iterator[ProcessGroup]:
    """App processes this test stops itself; their logs are printed afterwards."""
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


def _stop(process: AppProcess) -> int:
    process.popen.send_signal(signal.SIGTERM)
    try:
        return process.popen.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"no clean stop in {STOP_SECONDS} s:\n{process.log()}") from None


def _errors(log: str) -> list[str]:
    return [
        line
        for line in log.splitlines()
        if "ERROR" in line or "CRITICAL" in line or "Traceback" in line
    ]


@needs_processes
@pytest.mark.drill
@pytest.mark.parametrize("workers", [1, 2])
async def test_a_stop_closes_live_sockets_with_service_restart_and_logs_no_error(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    processes: ProcessGroup,
    http: aiohttp.ClientSession,
    workers: int,
) -> None:
    server = processes.start("server", workers=workers)
    day = await live_day(db, tenant, coordinator.id, clerks=2)
    await processes.wait_ready()
    with tenant_scope(day.tenant_id):
        cursor = await latest_event_id(db, [day.topic])
    dashboards: list[Dashboard] = []
    try:
        # Sockets on every worker (the kernel hands each connection to one of them).
        for number in range(40):
            dashboard = Dashboard(f"d{number}", day, cursor)
            await dashboard.connect(http, server)
            dashboards.append(dashboard)
            serving = set(SOCKET_LINE.findall(server.log()))
            if len(dashboards) >= 4 and len(serving) >= workers:
                break
        assert len(set(SOCKET_LINE.findall(server.log()))) == workers, server.log()
        answer = await post_check_in(http, server, day, day.check_in(0), "before-stop")
        assert answer.status == 201, answer
        expected = await ops_event_ids(db, day)
        for dashboard in dashboards:
            await dashboard.wait_for(expected)

        status = await asyncio.to_thread(_stop, server)

        for dashboard in dashboards:
            await dashboard.wait_closed()
            assert dashboard.socket is not None
            assert dashboard.socket.close_code == 1012, dashboard.name
            assert dashboard.socket.close_reason == "service restart"
    finally:
        for dashboard in dashboards:
            await dashboard.close()
    assert status == 0, server.log()
    assert _errors(server.log()) == [], server.log()


@needs_processes
@pytest.mark.drill
@pytest.mark.parametrize("workers", [1, 2])
async def test_a_stop_answers_the_request_under_way(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    processes: ProcessGroup,
    http: aiohttp.ClientSession,
    workers: int,
) -> None:
    server = processes.start("server", workers=workers)
    day = await live_day(db, tenant, coordinator.id, clerks=2)
    await processes.wait_ready()
    half_sent = asyncio.Event()
    go_on = asyncio.Event()
    body = (
        f'{{"person_id": {day.clerk_ids[0]}, "shift_id": {day.shift_id}, "kind": "arrived"}}'
    ).encode()

    async def slowly() -> AsyncIterator[bytes]:
        yield body[:10]
        half_sent.set()
        await go_on.wait()
        yield body[10:]

    async def post() -> tuple[int, str]:
        async with http.post(
            f"{server.http}/api/v1/checkins",
            data=slowly(),
            headers={
                "Authorization": f"Bearer {day.token}",
                "Content-Type": "application/json",
                "Idempotency-Key": "in-flight",
            },
            timeout=aiohttp.ClientTimeout(total=STOP_SECONDS),
        ) as answer:
            return answer.status, await answer.text()

    posting = asyncio.create_task(post())
    await asyncio.wait_for(half_sent.wait(), 10)
    await asyncio.sleep(0.5)  # the server reads the start of the body
    server.popen.send_signal(signal.SIGTERM)
    await asyncio.sleep(1.0)  # the stop is under way
    assert server.running
    go_on.set()
    status, text = await asyncio.wait_for(posting, STOP_SECONDS)
    assert status == 201, text
    assert [row.idempotency_key for row in await check_in_rows(db, day)] == ["in-flight"]
    assert await asyncio.to_thread(server.popen.wait, STOP_SECONDS) == 0
    assert _errors(server.log()) == [], server.log()


async def _closed(socket: object) -> tuple[int, str]:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), 10)  # type: ignore[attr-defined]
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_the_hub_closes_its_sockets_and_any_new_one_with_service_restart(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    cookie = await session_cookie(app, coordinator)
    async with open_socket(app, cookie, topics=topic) as socket:
        assert (await receive(socket))["type"] == "ws.subscribed"
        app.extensions[live.HUB].close_for_restart()
        assert await _closed(socket) == (1012, "service restart")
    # One that opens while the server stops is sent on at once.
    async with open_socket(app, cookie, topics=topic) as socket:
        assert await _closed(socket) == (1012, "service restart")
