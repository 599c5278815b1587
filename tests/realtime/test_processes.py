"""The live path across real processes: two ``stemma serve`` subprocesses sharing one
PostgreSQL and one Redis, one of them killed, Redis stopped and started again, and the
same check-in sent at once through both. PostgreSQL is the truth and Redis only carries
the news, so no event may be missed or sent twice, and no check-in lost or doubled.

They need PostgreSQL and Redis, and run whenever STEMMA_TEST_DATABASE_URL and
STEMMA_TEST_REDIS_URL are set (in CI they must be).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import create_engine, create_session_factory
from app.core.events import latest_event_id
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from tests.conftest import IN_CI, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.realtime.processes import (
    Answer,
    AppProcess,
    Dashboard,
    LiveDay,
    PrivateRedis,
    ProcessGroup,
    check_in_rows,
    live_day,
    ops_event_ids,
    post_check_in,
)

pytestmark = [
    pytest.mark.skipif(
        not (TEST_DATABASE_URL and TEST_REDIS_URL),
        reason="real processes run when STEMMA_TEST_DATABASE_URL and STEMMA_TEST_REDIS_URL are set",
    ),
    # A drill: server processes started, killed, Redis stopped (`make drills`).
    pytest.mark.drill,
]

#: How long a socket may wait for an event that reaches it live or by replay.
DELIVERY_SECONDS = 20.0
#: What a hub logs when its broker subscription is back after a break (``app.realtime.hub``).
RESUBSCRIBED = "live events: subscribed again; every socket replays what it missed"
#: How long to keep listening after the last expected event, to catch a late duplicate.
SETTLE_SECONDS = 0.5


@pytest.fixture
async def session_factory(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    # The test only prepares rows and reads them back; the servers are the subprocesses,
    # so no app is built in the test's own process.
    engine = create_engine(database_url)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def processes(database_url: str, tmp_path: Path) -> Iterator[ProcessGroup]:
    """App processes on the test's database (as the app role) and the test Redis; each is
    stopped afterwards, also when the test fails, and an ERROR in any log fails the test."""
    assert TEST_REDIS_URL is not None
    group = ProcessGroup(tmp_path / "processes", database_url, TEST_REDIS_URL)
    try:
        yield group
    finally:
        group.close()
        for process in group.processes:
            print(f"--- {process.name} (port {process.port}) ---\n{process.log()[-5000:]}")
    problems = group.problems()
    if problems:
        pytest.fail(f"errors logged by the app processes: {problems}")


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server is needed to stop and restart a Redis of the test's own")
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    try:
        yield server
    finally:
        server.stop()


async def _cursor(db: AsyncSession, day: LiveDay) -> int:
    """The cursor a dashboard page is rendered with."""
    with tenant_scope(day.tenant_id):
        return await latest_event_id(db, [day.topic])


async def _expect_exactly(dashboards: list[Dashboard], expected: list[int]) -> None:
    """Every dashboard got every expected event, and none twice (listening a moment
    longer for a late copy)."""
    for dashboard in dashboards:
        await dashboard.wait_for(expected, DELIVERY_SECONDS)
    await asyncio.sleep(SETTLE_SECONDS)
    for dashboard in dashboards:
        assert sorted(dashboard.received) == expected, dashboard.name
        assert not [n for n in dashboard.notices if n.get("type") == "ws.snapshot"]


async def test_it_carries_a_check_in_posted_to_one_process_to_a_dashboard_on_the_other(
    db: AsyncSession, tenant: Tenant, coordinator: User, processes: ProcessGroup
) -> None:
    a, b = processes.start("a"), processes.start("b")
    day = await live_day(db, tenant, coordinator.id, clerks=2)
    await processes.wait_ready()
    async with aiohttp.ClientSession() as http:
        dashboard = Dashboard("on-b", day, await _cursor(db, day))
        await dashboard.connect(http, b)
        try:
            loop = asyncio.get_running_loop()
            # The first check-in warms both fresh processes up (connections, templates);
            # the next ones are timed from the moment they are posted.
            for number in range(4):
                started = loop.time()
                answer = await post_check_in(http, a, day, day.check_in(number), f"kiosk-{number}")
                assert answer.status == 201, answer
                expected = await ops_event_ids(db, day)
                await dashboard.wait_for(expected, DELIVERY_SECONDS if number == 0 else 1.0)
                assert number == 0 or loop.time() - started < 1.0
        finally:
            await dashboard.close()
    assert dashboard.received == expected
    assert len(expected) == 4
    # The dashboard's fragment: the station's row, redrawn in place.
    assert f'<tr id="ops-station-{day.station_id}"' in dashboard.messages[-1]


async def test_it_replays_to_sockets_of_a_killed_process_on_the_other_every_event_once(
    db: AsyncSession, tenant: Tenant, coordinator: User, processes: ProcessGroup
) -> None:
    a, b = processes.start("a"), processes.start("b")
    day = await live_day(db, tenant, coordinator.id, clerks=4)
    await processes.wait_ready()
    cursor = await _cursor(db, day)
    on_a = [Dashboard("first-on-a", day, cursor), Dashboard("second-on-a", day, cursor)]
    on_b = Dashboard("on-b", day, cursor)
    posted = 0

    async def post(http: aiohttp.ClientSession, process: AppProcess) -> None:
        nonlocal posted
        answer = await post_check_in(http, process, day, day.check_in(posted), f"kiosk-{posted}")
        assert answer.status == 201, answer
        posted += 1

    async with aiohttp.ClientSession() as http:
        try:
            for dashboard in on_a:
                await dashboard.connect(http, a)
            await on_b.connect(http, b)
            await post(http, a)
            await post(http, b)
            seen = await ops_event_ids(db, day)
            for dashboard in [*on_a, on_b]:
                await dashboard.wait_for(seen)

            a.kill()
            for dashboard in on_a:
                await dashboard.wait_closed()
            # Committed through the survivor while the killed process's sockets are away.
            for _ in range(6):
                await post(http, b)
            for dashboard in on_a:
                assert dashboard.last_event_id == seen[-1]
                await dashboard.connect(http, b)
            await post(http, b)

            expected = await ops_event_ids(db, day)
            assert len(expected) == 9
            await _expect_exactly([*on_a, on_b], expected)
        finally:
            for dashboard in [*on_a, on_b]:
                await dashboard.close()


async def test_it_loses_no_check_in_and_no_event_while_redis_restarts(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    processes: ProcessGroup,
    private_redis: PrivateRedis,
) -> None:
    await private_redis.start()
    processes.redis_url = private_redis.url
    a, b = processes.start("a"), processes.start("b")
    day = await live_day(db, tenant, coordinator.id, clerks=6)
    await processes.wait_ready()
    # Dashboards opened before the kiosk starts, which hear events live before the break...
    early = [Dashboard(f"early-on-{p.name}", day, await _cursor(db, day)) for p in (a, b)]
    # ...and pages rendered just before Redis stops, whose sockets have heard nothing yet.
    late: list[Dashboard] = []
    answers: list[tuple[str, bool, Answer]] = []
    redis_down = False
    posting = asyncio.Event()
    in_flight = asyncio.Lock()
    stop_posting = asyncio.Event()

    async def keep_posting(http: aiohttp.ClientSession) -> None:
        """A kiosk posting check-ins one after another, to each process in turn."""
        number = 0
        while not stop_posting.is_set():
            await posting.wait()
            async with in_flight:
                if not posting.is_set():
                    continue
                process = (a, b)[number % 2]
                down = redis_down
                key = f"k-{number}"
                answer = await post_check_in(http, process, day, day.check_in(number), key)
                # Counted as sent while Redis was down only when it was down all along.
                answers.append((key, down and redis_down, answer))
                number += 1
            await asyncio.sleep(0.02)

    async def posted(count: int, poster: asyncio.Task[None], seconds: float = 0) -> None:
        """Wait for ``count`` more answers, and at least ``seconds``."""
        target = len(answers) + count
        until = asyncio.get_running_loop().time() + seconds
        while len(answers) < target or asyncio.get_running_loop().time() < until:
            if poster.done():
                poster.result()
                raise AssertionError("the kiosk stopped posting")
            await asyncio.sleep(0.01)

    async with aiohttp.ClientSession() as http:
        poster: asyncio.Task[None] | None = None
        try:
            for dashboard, process in zip(early, (a, b), strict=True):
                await dashboard.connect(http, process)
            poster = asyncio.create_task(keep_posting(http))
            posting.set()
            await asyncio.wait_for(posted(4, poster), 15)
            posting.clear()
            async with in_flight:  # the kiosk pauses once its check-in under way is done
                pass
            # Rendered once every hub has had the news so far: a hub may still deliver
            # live an event it hears after a socket subscribed, even one the page shows.
            cursor = await _cursor(db, day)
            assert cursor > 0
            for dashboard in early:
                await dashboard.wait_for(await ops_event_ids(db, day))
            late = [Dashboard(f"late-on-{p.name}", day, cursor) for p in (a, b)]
            for dashboard, process in zip(late, (a, b), strict=True):
                await dashboard.connect(http, process)
            await asyncio.to_thread(private_redis.stop)
            redis_down = True
            posting.set()
            await asyncio.wait_for(posted(8, poster, seconds=1.0), 15)
            redis_down = False
            await private_redis.start()
            await asyncio.wait_for(posted(4, poster), 15)
            stop_posting.set()
            await asyncio.wait_for(poster, 15)

            statuses = {key: answer.status for key, _down, answer in answers}
            # The database write never waits on Redis: every check-in was taken, once.
            assert set(statuses.values()) == {201}, answers
            assert sum(1 for _key, down, _answer in answers if down) >= 8
            rows = await check_in_rows(db, day)
            assert sorted(row.idempotency_key for row in rows) == sorted(statuses)
            expected = await ops_event_ids(db, day)
            assert len(expected) == len(answers)
            await _expect_exactly(early, expected)
            await _expect_exactly(late, [id for id in expected if id > cursor])
            # Each hub noticed the break and had its sockets replay the gap.
            for process in (a, b):
                assert RESUBSCRIBED in process.log(), process.name
        finally:
            stop_posting.set()
            posting.set()
            if poster is not None:
                poster.cancel()
                with contextlib.suppress(BaseException):
                    await poster
            for dashboard in [*early, *late]:
                await dashboard.close()


async def test_it_makes_one_check_in_of_copies_sent_at_once_through_both_processes(
    db: AsyncSession, tenant: Tenant, coordinator: User, processes: ProcessGroup
) -> None:
    a, b = processes.start("a"), processes.start("b")
    day = await live_day(db, tenant, coordinator.id, clerks=3)
    await processes.wait_ready()
    async with aiohttp.ClientSession() as http:
        for number in range(4):
            body, key = day.check_in(number), f"phone-{number}"
            answers = await asyncio.gather(
                *(post_check_in(http, process, day, body, key) for process in (a, b, a))
            )
            assert sorted(answer.status for answer in answers) == [200, 200, 201], answers
            assert all(answer.body == answers[0].body for answer in answers)
            for answer in answers:
                replayed = answer.headers.get("idempotent-replayed")
                assert replayed == ("true" if answer.status == 200 else None)
            rows = [row for row in await check_in_rows(db, day) if row.idempotency_key == key]
            assert [row.id for row in rows] == [answers[0].body["id"]]
            # The same key with another body is refused, whichever process hears it.
            other = {**body, "person_id": day.clerk_ids[(number + 1) % 3]}
            refused = await post_check_in(http, (b, a)[number % 2], day, other, key)
            assert refused.status == 422, refused
    assert len(await check_in_rows(db, day)) == 4
    assert len(await ops_event_ids(db, day)) == 4
