"""The hub's fan-out under load: several topics drawn at once, each in order; a burst
of one topic's events drawn as one message; and a reconnect in the middle of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.events import ops_topic, wait_for_publishing
from app.core.models import Tenant, User
from app.realtime.drawing import register_coalescing_renderer, unregister_renderer
from app.realtime.hub import Hub
from app.realtime.live_event import LiveEvent
from app.realtime.subscribers import Delivery, Subscriber
from tests.factories import make_election
from tests.realtime.conftest import open_socket, receive, record, session_cookie
from tests.realtime.test_hub import BreakableBroker

DRAWN = "test.drawn"


def _fragment(events: list[LiveEvent]) -> str:
    return f'<div data-event-ids="{",".join(str(e.id) for e in events)}"></div>'


def _message(event_id: int, topic: str) -> str:
    return LiveEvent(event_id, 1, topic, DRAWN, {}).as_json()


async def _next(subscriber: Subscriber) -> tuple[int, ...]:
    item = await asyncio.wait_for(subscriber.next(), 5)
    assert isinstance(item, Delivery)
    return item.event_ids


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    hub = Hub(lambda: BreakableBroker(), drawing_at_once=2)
    try:
        yield hub
    finally:
        await hub.close()
        unregister_renderer(DRAWN)


async def test_a_slow_drawing_of_one_topic_holds_up_no_other_and_each_keeps_its_order(
    hub: Hub,
) -> None:
    """One station's reads wait on a busy database: another station's events are drawn
    and sent meanwhile, and the slow one's later events follow its first, together."""
    slow, fast = "t:1:station:1", "t:1:station:2"
    release = asyncio.Event()
    calls: list[tuple[str, list[int]]] = []

    async def draw(events: list[LiveEvent]) -> str:
        calls.append((events[0].topic, [e.id for e in events]))
        if events[0].topic == slow:
            await release.wait()
        return _fragment(events)

    register_coalescing_renderer(DRAWN, draw)
    waiting_on_slow, waiting_on_fast = hub.new_subscriber(1), hub.new_subscriber(1)
    hub.add(waiting_on_slow, {slow})
    hub.add(waiting_on_fast, {fast})
    hub._dispatch(slow, _message(1, slow))
    for _ in range(100):
        if calls:
            break
        await asyncio.sleep(0.01)
    hub._dispatch(slow, _message(2, slow))
    hub._dispatch(slow, _message(3, slow))
    hub._dispatch(fast, _message(4, fast))
    assert await _next(waiting_on_fast) == (4,)
    assert waiting_on_slow.queued == 0
    release.set()
    assert await _next(waiting_on_slow) == (1,)
    assert await _next(waiting_on_slow) == (2, 3)
    assert calls == [(slow, [1]), (fast, [4]), (slow, [2, 3])]


async def test_no_more_than_drawing_at_once_drawings_run_together(hub: Hub) -> None:
    """Each drawing holds a database connection the requests share: four stations'
    events with room for two drawings are drawn two at a time, and all are sent."""
    release = asyncio.Event()
    running: list[int] = [0, 0]  # now, most

    async def draw(events: list[LiveEvent]) -> str:
        running[0] += 1
        running[1] = max(running)
        await release.wait()
        running[0] -= 1
        return _fragment(events)

    register_coalescing_renderer(DRAWN, draw)
    topics = [f"t:1:station:{n}" for n in range(1, 5)]
    listeners = []
    for number, topic in enumerate(topics, start=1):
        listener = hub.new_subscriber(1)
        hub.add(listener, {topic})
        listeners.append(listener)
        hub._dispatch(topic, _message(number, topic))
    await asyncio.sleep(0.2)
    assert running == [2, 2]
    release.set()
    assert [await _next(listener) for listener in listeners] == [(1,), (2,), (3,), (4,)]
    assert running == [0, 2]


async def test_a_burst_is_one_message_and_a_reconnect_in_it_replays_it_once(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    """A station's check-ins come in a burst while its last drawing rests: the dashboard
    gets one message naming every event of the burst, in order, nothing lost. A page
    that lost that message comes back with the id before the burst and gets the burst
    again as one message; one that had it gets nothing twice."""
    calls: list[list[int]] = []

    async def draw(events: list[LiveEvent]) -> str:
        calls.append([e.id for e in events])
        await asyncio.sleep(0.1)
        return _fragment(events)

    # After a drawing of 0.1 s the topic rests 0.9 s: the burst comes meanwhile.
    register_coalescing_renderer(DRAWN, draw, share=0.1, max_rest_seconds=2)
    try:
        election = await make_election(db, tenant)
        topic = ops_topic(tenant.id, election.id)
        cookie = await session_cookie(app, coordinator)
        async with open_socket(app, cookie, topics=topic) as socket:
            await receive(socket)
            first = await record(db, tenant.id, topic, DRAWN, station=1)
            assert await asyncio.wait_for(socket.recv(), 5) == _fragment([first])
            burst = [await record(db, tenant.id, topic, DRAWN, station=n) for n in range(2, 7)]
            await wait_for_publishing()
            assert await asyncio.wait_for(socket.recv(), 5) == _fragment(burst)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(socket.recv(), 0.5)
        assert calls == [[first.id], [e.id for e in burst]]
        async with open_socket(app, cookie, topics=topic, last_event_id=first.id) as lost:
            assert (await receive(lost))["last_event_id"] == first.id
            assert await asyncio.wait_for(lost.recv(), 5) == _fragment(burst)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(lost.recv(), 0.5)
        async with open_socket(app, cookie, topics=topic, last_event_id=burst[-1].id) as had:
            await receive(had)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(had.recv(), 0.5)
    finally:
        unregister_renderer(DRAWN)
