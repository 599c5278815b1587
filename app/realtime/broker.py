"""The broker carries news of committed changes between processes.

``MemoryBroker`` serves one process (the embedded default); ``RedisBroker`` uses
Redis pub/sub so every process and host hears every event. The events table stays
the truth: a message lost here is replayed from it, so the broker never needs to
be durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Protocol

import redis.asyncio as redis

log = logging.getLogger(__name__)


class Broker(Protocol):
    async def publish(self, topic: str, message: str) -> None: ...

    def subscribe(self, *topics: str) -> AsyncIterator[tuple[str, str]]: ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class MemoryBroker:
    """In-process fan-out with bounded queues; a slow subscriber loses messages, not memory."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subscribers: dict[str, set[asyncio.Queue[tuple[str, str]]]] = defaultdict(set)

    async def publish(self, topic: str, message: str) -> None:
        for queue in list(self._subscribers.get(topic, ())):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait((topic, message))

    async def subscribe(self, *topics: str) -> AsyncIterator[tuple[str, str]]:
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(self.queue_size)
        for topic in topics:
            self._subscribers[topic].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            for topic in topics:
                self._subscribers[topic].discard(queue)
                if not self._subscribers[topic]:
                    del self._subscribers[topic]

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._subscribers.clear()


class RedisBroker:
    def __init__(self, url: str) -> None:
        self.url = url
        self._client = redis.from_url(url, decode_responses=True, health_check_interval=30)

    async def publish(self, topic: str, message: str) -> None:
        await self._client.publish(topic, message)

    async def subscribe(self, *topics: str) -> AsyncIterator[tuple[str, str]]:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(*topics)
        try:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield item["channel"], item["data"]
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()

    async def ping(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self._client.ping(), timeout=2))
        except (redis.RedisError, OSError, TimeoutError) as error:
            log.warning("redis ping failed: %s", type(error).__name__)
            return False

    async def close(self) -> None:
        await self._client.aclose()


def create_broker(redis_url: str | None) -> Broker:
    return RedisBroker(redis_url) if redis_url else MemoryBroker()
