"""The broker carries messages between subscribers: in process, and through real Redis."""

import asyncio
import uuid

import pytest

from app.realtime.broker import Broker, MemoryBroker, RedisBroker, SubscriptionLost
from tests.conftest import TEST_REDIS_URL


def brokers() -> list[object]:
    params: list[object] = [pytest.param("memory", id="memory")]
    params.append(
        pytest.param(
            "redis",
            id="redis",
            marks=pytest.mark.skipif(
                not TEST_REDIS_URL, reason="Redis runs when STEMMA_TEST_REDIS_URL is set"
            ),
        )
    )
    return params


def _make(kind: str) -> Broker:
    return MemoryBroker() if kind == "memory" else RedisBroker(TEST_REDIS_URL or "")


async def _receive(
    broker: Broker, topics: tuple[str, ...], count: int, ready: asyncio.Event
) -> list[tuple[str, str]]:
    received = []
    stream = broker.subscribe(*topics)
    first = asyncio.ensure_future(anext(stream))  # type: ignore[arg-type]
    # Give the subscription a moment to register before anything is published.
    await asyncio.sleep(0.2)
    ready.set()
    received.append(await first)
    while len(received) < count:
        received.append(await anext(stream))  # type: ignore[arg-type]
    await stream.aclose()  # type: ignore[attr-defined]
    return received


@pytest.mark.parametrize("kind", brokers())
async def test_it_delivers_published_messages_to_subscribers_of_the_topic(kind: str) -> None:
    broker = _make(kind)
    prefix = uuid.uuid4().hex
    ops, other = f"t:{prefix}:e:1:ops", f"t:{prefix}:e:2:ops"
    ready = asyncio.Event()
    try:
        listener = asyncio.create_task(_receive(broker, (ops,), 2, ready))
        await asyncio.wait_for(ready.wait(), 5)
        await broker.publish(other, "not for us")
        await broker.publish(ops, "first")
        await broker.publish(ops, "second")
        received = await asyncio.wait_for(listener, 5)
    finally:
        await broker.close()
    assert received == [(ops, "first"), (ops, "second")]


@pytest.mark.parametrize("kind", brokers())
async def test_it_answers_a_ping(kind: str) -> None:
    broker = _make(kind)
    try:
        assert await broker.ping() is True
    finally:
        await broker.close()


async def test_it_reports_an_unreachable_redis_without_raising() -> None:
    broker = RedisBroker("redis://127.0.0.1:1/0")
    try:
        assert await broker.ping() is False
    finally:
        await broker.close()


async def test_it_drops_messages_for_a_full_subscriber_instead_of_growing() -> None:
    broker = MemoryBroker(queue_size=2)
    ready = asyncio.Event()
    listener = asyncio.create_task(_receive(broker, ("t:1:e:1:ops",), 1, ready))
    await ready.wait()
    for number in range(10):
        await broker.publish("t:1:e:1:ops", str(number))
    assert await asyncio.wait_for(listener, 5) == [("t:1:e:1:ops", "0")]


@pytest.mark.parametrize("kind", brokers())
async def test_it_delivers_every_matching_topic_to_a_pattern_subscriber(kind: str) -> None:
    prefix = uuid.uuid4().hex
    broker = MemoryBroker() if kind == "memory" else RedisBroker(TEST_REDIS_URL or "", prefix)
    subscribed = asyncio.Event()
    received: list[tuple[str, str]] = []

    async def listen() -> None:
        async for item in broker.psubscribe("t:*", subscribed.set):
            received.append(item)
            if len(received) == 2:
                return

    try:
        listener = asyncio.create_task(listen())
        await asyncio.wait_for(subscribed.wait(), 5)
        await broker.publish("t:1:e:1:ops", "first")
        await broker.publish("other:1", "not a topic")
        await broker.publish("t:2:station:5", "second")
        await asyncio.wait_for(listener, 5)
    finally:
        await broker.close()
    # Topics come back as published, without any channel prefix.
    assert received == [("t:1:e:1:ops", "first"), ("t:2:station:5", "second")]


async def test_it_tells_a_pattern_subscriber_that_fell_behind_instead_of_dropping_silently() -> (
    None
):
    broker = MemoryBroker(queue_size=2)
    stream = broker.psubscribe("t:*")
    first = asyncio.ensure_future(anext(stream))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    for number in range(5):
        await broker.publish("t:1:user:1", str(number))
    assert await first == ("t:1:user:1", "0")
    assert await anext(stream) == ("t:1:user:1", "1")  # type: ignore[arg-type]
    with pytest.raises(SubscriptionLost):
        await anext(stream)  # type: ignore[arg-type]
