"""The hub: one subscription per process, renderers, a broker that breaks, and Redis."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterable

import pytest
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from app.core.db import create_session_factory
from app.core.events import ops_topic, wait_for_publishing
from app.core.models import Event, Tenant, User
from app.core.settings import Settings
from app.realtime import hub as hub_module
from app.realtime import ws as live
from app.realtime.drawing import (
    register_coalescing_renderer,
    register_renderer,
    unregister_renderer,
)
from app.realtime.hub import Hub
from app.realtime.live_event import LiveEvent
from tests.conftest import TEST_REDIS_URL
from tests.factories import free_port, make_election
from tests.realtime.conftest import (
    open_socket,
    receive,
    receive_event,
    record,
    serving,
    session_cookie,
)


class BreakableBroker:
    """An in-process broker whose connection can be cut, as Redis's can: while down,
    publishing fails and the subscription ends with an error."""

    def __init__(self) -> None:
        self.down = False
        self.subscriptions = 0
        self._queues: set[asyncio.Queue[tuple[str, str] | None]] = set()

    async def publish(self, topic: str, message: str) -> None:
        if self.down:
            raise ConnectionError("broker is down")
        for queue in self._queues:
            queue.put_nowait((topic, message))

    async def psubscribe(
        self, pattern: str, on_subscribed: Callable[[], None] | None = None
    ) -> AsyncIterator[tuple[str, str]]:
        if self.down:
            raise ConnectionError("broker is down")
        queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue()
        self._queues.add(queue)
        self.subscriptions += 1
        try:
            if on_subscribed is not None:
                on_subscribed()
            while True:
                item = await queue.get()
                if item is None:
                    raise ConnectionError("connection lost")
                yield item
        finally:
            self._queues.discard(queue)

    def cut(self) -> None:
        self.down = True
        for queue in self._queues:
            queue.put_nowait(None)

    async def ping(self) -> bool:
        return not self.down

    async def close(self) -> None:
        self._queues.clear()


async def test_it_replays_from_the_table_what_a_broker_break_lost(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    broker = BreakableBroker()
    app.extensions["stemma"].broker = broker
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    cookie = await session_cookie(app, coordinator)
    async with (
        open_socket(app, cookie, topics=topic) as first,
        open_socket(app, cookie, topics=topic) as second,
    ):
        await receive(first)
        await receive(second)
        before = await record(db, tenant.id, topic, number=1)
        assert (await receive_event(first))["id"] == before.id
        assert (await receive_event(second))["id"] == before.id
        broker.cut()
        lost = await record(db, tenant.id, topic, number=2)
        await wait_for_publishing()  # publishing gave up: the news is lost, the row is not
        broker.down = False
        for socket in (first, second):
            assert (await receive_event(socket, seconds=10))["id"] == lost.id
        after = await record(db, tenant.id, topic, number=3)
        assert (await receive_event(first))["id"] == after.id
    # One subscription for the whole process, made again once after the break.
    assert broker.subscriptions == 2


async def test_it_replays_after_a_broker_break_only_what_a_resumed_socket_lacks(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    broker = BreakableBroker()
    app.extensions["stemma"].broker = broker
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    # A page rendered after these events resumes after the last; its socket hears nothing
    # more before the broker breaks.
    past = [await record(db, tenant.id, topic, number=n) for n in (1, 2)]
    cookie = await session_cookie(app, coordinator)
    async with open_socket(app, cookie, topics=topic, last_event_id=past[-1].id) as socket:
        await receive(socket)
        broker.cut()
        lost = await record(db, tenant.id, topic, number=3)
        await wait_for_publishing()
        broker.down = False
        # The gap, not the page's past again.
        assert (await receive_event(socket, seconds=10))["id"] == lost.id
        after = await record(db, tenant.id, topic, number=4)
        assert (await receive_event(socket))["id"] == after.id


async def test_it_renders_each_event_once_for_all_its_sockets(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    calls: list[int] = []

    async def render(event: LiveEvent) -> str:
        calls.append(event.id)
        return f'<div id="station-{event.payload["station"]}" data-event-id="{event.id}">open</div>'

    register_renderer("station.opened", render)
    try:
        election = await make_election(db, tenant)
        topic = ops_topic(tenant.id, election.id)
        cookie = await session_cookie(app, coordinator)
        sockets = [open_socket(app, cookie, topics=topic) for _ in range(3)]
        opened = [await socket.__aenter__() for socket in sockets]
        try:
            for socket in opened:
                await receive(socket)
            event = await record(db, tenant.id, topic, "station.opened", station=7)
            expected = f'<div id="station-7" data-event-id="{event.id}">open</div>'
            for socket in opened:
                assert await asyncio.wait_for(socket.recv(), 5) == expected
        finally:
            for socket in sockets:
                await socket.__aexit__(None, None, None)
        assert calls == [event.id]
    finally:
        unregister_renderer("station.opened")


def _event(event_id: int, topic: str, type: str = "station.opened") -> LiveEvent:
    return LiveEvent(event_id, 1, topic, type, {})


def _fragment(events: Iterable[Event | LiveEvent]) -> str:
    """What the tests' coalescing renderers draw: the ids of the events it carries."""
    return f'<div data-event-ids="{",".join(str(e.id) for e in events)}"></div>'


async def test_events_that_wait_while_one_is_drawn_are_drawn_together(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    """A busy election day: check-ins arrive faster than a fragment is drawn. What
    queued up meanwhile is drawn as one message naming every event, in order."""
    calls: list[list[int]] = []
    first_drawn = asyncio.Event()
    go_on = asyncio.Event()

    async def draw(events: list[LiveEvent]) -> str:
        calls.append([e.id for e in events])
        if len(calls) == 1:
            first_drawn.set()
            await go_on.wait()
        return _fragment(events)

    register_coalescing_renderer("station.opened", draw)
    try:
        election = await make_election(db, tenant)
        topic = ops_topic(tenant.id, election.id)
        cookie = await session_cookie(app, coordinator)
        async with open_socket(app, cookie, topics=topic) as socket:
            await receive(socket)
            first = await record(db, tenant.id, topic, "station.opened", station=1)
            await asyncio.wait_for(first_drawn.wait(), 5)
            later = [
                await record(db, tenant.id, topic, "station.opened", station=n) for n in (2, 3, 4)
            ]
            await wait_for_publishing()
            await asyncio.sleep(0.2)  # the hub has read them off the broker
            go_on.set()
            assert await asyncio.wait_for(socket.recv(), 5) == (_fragment([first]))
            assert await asyncio.wait_for(socket.recv(), 5) == _fragment(later)
        assert calls == [[first.id], [e.id for e in later]]
    finally:
        unregister_renderer("station.opened")


async def test_events_it_does_not_draw_go_at_once_unless_their_topic_waits(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    """A station's team never waits on the dashboard's drawing: events no renderer
    draws go as JSON the moment they arrive, except behind one of their own topic that
    is still being drawn (each topic's order is kept)."""
    first_drawn = asyncio.Event()
    go_on = asyncio.Event()

    async def draw(events: list[LiveEvent]) -> str:
        first_drawn.set()
        await go_on.wait()
        return _fragment(events)

    register_coalescing_renderer("station.opened", draw, topics=lambda t: t.endswith(":ops"))
    try:
        election = await make_election(db, tenant)
        topic = ops_topic(tenant.id, election.id)
        station = f"t:{tenant.id}:station:7"
        cookie = await session_cookie(app, coordinator)
        async with open_socket(app, cookie, topics=f"{topic},{station}") as socket:
            await receive(socket)
            drawn = await record(db, tenant.id, topic, "station.opened", station=1)
            await asyncio.wait_for(first_drawn.wait(), 5)
            # The drawing is under way: the station's events pass it, as JSON, even
            # of a type drawn on the ops topic.
            other = await record(db, tenant.id, station, "test.happened")
            assert (await receive(socket))["id"] == other.id
            opened = await record(db, tenant.id, station, "station.opened", station=7)
            assert (await receive(socket))["id"] == opened.id
            # On the topic being drawn, an event that needs no drawing waits its turn.
            behind = await record(db, tenant.id, topic, "test.happened")
            await wait_for_publishing()
            await asyncio.sleep(0.2)
            go_on.set()
            assert await asyncio.wait_for(socket.recv(), 5) == _fragment([drawn])
            assert (await receive(socket))["id"] == behind.id
    finally:
        unregister_renderer("station.opened")


async def test_a_topic_rests_after_a_drawing_in_proportion_and_others_go_meanwhile(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    """Drawing a topic takes at most its share of the time: after a drawing of 0.2 s
    at a share of 1/6 the topic rests 1 s. The first event after a quiet spell goes at
    once; those during the rest go together when it ends; other topics go meanwhile."""
    calls: list[tuple[float, list[int]]] = []

    async def draw(events: list[LiveEvent]) -> str:
        calls.append((time.monotonic(), [e.id for e in events]))
        await asyncio.sleep(0.2)
        return _fragment(events)

    register_coalescing_renderer("station.opened", draw, share=1 / 6, max_rest_seconds=5)
    try:
        election = await make_election(db, tenant)
        topic = ops_topic(tenant.id, election.id)
        other = ops_topic(tenant.id, (await make_election(db, tenant)).id)
        cookie = await session_cookie(app, coordinator)
        async with open_socket(app, cookie, topics=f"{topic},{other}") as socket:
            await receive(socket)
            first = await record(db, tenant.id, topic, "station.opened", station=1)
            assert await asyncio.wait_for(socket.recv(), 5) == (_fragment([first]))
            resting = [
                await record(db, tenant.id, topic, "station.opened", station=n) for n in (2, 3)
            ]
            meanwhile = await record(db, tenant.id, other, "test.happened")
            assert (await receive(socket))["id"] == meanwhile.id
            assert await asyncio.wait_for(socket.recv(), 5) == _fragment(resting)
        assert [ids for _at, ids in calls] == [[first.id], [e.id for e in resting]]
        # 0.2 s drawing, then a rest of 0.2 * (6 - 1) = 1 s.
        assert calls[1][0] - calls[0][0] >= 1.1
    finally:
        unregister_renderer("station.opened")


def test_the_hub_remembers_each_topics_newest_event_for_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a socket subscribing without a cursor asks (``heard_after``): kept at least
    NEWEST_KEPT_SECONDS, then forgotten, so quiet topics do not pile up."""
    clock = [100.0]
    monkeypatch.setattr(hub_module.time, "monotonic", lambda: clock[0])
    hub = Hub(lambda: BreakableBroker())
    station, other = "t:1:station:1", "t:1:station:2"
    hub._dispatch(station, _event(5, station).as_json())
    assert hub.heard_after([station], 4) and not hub.heard_after([station], 5)
    assert not hub.heard_after([other], 0)
    clock[0] += hub_module.NEWEST_KEPT_SECONDS + 1
    hub._dispatch(other, _event(6, other).as_json())
    assert hub.heard_after([station], 4)  # the older generation still holds it
    clock[0] += hub_module.NEWEST_KEPT_SECONDS + 1
    hub._dispatch(other, _event(7, other).as_json())
    assert not hub.heard_after([station], 4)
    assert hub.heard_after([station, other], 6)


async def test_an_event_committed_but_never_published_reaches_the_sockets_by_the_sweep(
    app: Quart,
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    coordinator: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process that dies between its commit and its publish: the broker never carries
    the event, yet the sockets that stay connected get it from the table, once."""
    monkeypatch.setattr(hub_module, "SWEEP_SECONDS", 0.2)
    monkeypatch.setattr(hub_module, "SWEEP_GRACE_SECONDS", 0.1)
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    cookie = await session_cookie(app, coordinator)
    # A session with no publisher: its commits are announced to nobody.
    silent = create_session_factory(session_factory.kw["bind"])
    async with open_socket(app, cookie, topics=topic) as socket:
        await receive(socket)
        await asyncio.sleep(0.6)  # the sweep has taken its starting point
        async with silent() as quiet:
            lost = await record(quiet, tenant.id, topic, number=1)
        assert (await receive_event(socket, seconds=5))["id"] == lost.id
        heard = await record(db, tenant.id, topic, number=2)
        assert (await receive_event(socket, seconds=5))["id"] == heard.id
        with pytest.raises(TimeoutError):
            await receive_event(socket, seconds=1)  # and nothing twice


async def test_a_replay_draws_the_missed_events_together(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    """A dashboard back after a break gets the rows its missed check-ins touched drawn
    once, not once per check-in."""
    calls: list[list[int]] = []

    async def draw(events: list[LiveEvent]) -> str:
        calls.append([e.id for e in events])
        return _fragment(events)

    register_coalescing_renderer("station.opened", draw)
    try:
        election = await make_election(db, tenant)
        topic = ops_topic(tenant.id, election.id)
        before = await record(db, tenant.id, topic, "test.happened")
        missed = [await record(db, tenant.id, topic, "station.opened", station=n) for n in range(5)]
        cookie = await session_cookie(app, coordinator)
        async with open_socket(app, cookie, topics=topic, last_event_id=before.id) as socket:
            await receive(socket)  # ws.subscribed
            assert await asyncio.wait_for(socket.recv(), 5) == _fragment(missed)
        assert calls == [[e.id for e in missed]]
    finally:
        unregister_renderer("station.opened")


@pytest.mark.skipif(not TEST_REDIS_URL, reason="Redis runs when STEMMA_TEST_REDIS_URL is set")
async def test_it_shares_events_between_two_processes_through_redis(
    app: Quart, settings: Settings, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    other = create_app(settings)
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    cookie = await session_cookie(app, coordinator)
    async with serving(other) as other_url:
        other.config["TEST_WS_URL"] = other_url
        async with (
            open_socket(app, cookie, topics=topic) as here,
            open_socket(other, cookie, topics=topic) as there,
        ):
            await receive(here)
            await receive(there)
            # Written through the other process's sessions, so published by its broker.
            async with other.extensions["stemma"].session_factory() as other_db:
                event = await record(other_db, tenant.id, topic, number=1)
            assert (await receive_event(here))["id"] == event.id
            assert (await receive_event(there))["id"] == event.id
        hubs: list[Hub] = [app.extensions[live.HUB], other.extensions[live.HUB]]
        assert hubs[0] is not hubs[1]


@contextlib.asynccontextmanager
async def private_redis(port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    """A Redis of this test's own, so it can be stopped without disturbing anyone."""
    server = await asyncio.create_subprocess_exec(
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            break
        yield server
    finally:
        if server.returncode is None:
            server.terminate()
            await server.wait()


@pytest.mark.skipif(
    not TEST_REDIS_URL or not shutil.which("redis-server"),
    reason="Redis runs when STEMMA_TEST_REDIS_URL is set",
)
async def test_it_resubscribes_after_redis_restarts_and_replays_the_gap(
    settings: Settings, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    port = free_port()
    application = create_app(
        settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
    )
    async with private_redis(port) as redis_server, serving(application) as url:
        application.config["TEST_WS_URL"] = url
        election = await make_election(db, tenant)
        topic = ops_topic(tenant.id, election.id)
        cookie = await session_cookie(application, coordinator)
        async with (
            application.extensions["stemma"].session_factory() as app_db,
            open_socket(application, cookie, topics=topic) as socket,
        ):
            await receive(socket)
            before = await record(app_db, tenant.id, topic, number=1)
            assert (await receive_event(socket))["id"] == before.id
            redis_server.terminate()
            await redis_server.wait()
            lost = await record(app_db, tenant.id, topic, number=2)
            await wait_for_publishing()
            async with private_redis(port):
                assert (await receive_event(socket, seconds=30))["id"] == lost.id
                after = await record(app_db, tenant.id, topic, number=3)
                assert (await receive_event(socket))["id"] == after.id
