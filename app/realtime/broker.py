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
from collections.abc import AsyncIterator, Callable
from fnmatch import fnmatchcase
from typing import Protocol

import redis.asyncio as redis
from redis.asyncio.sentinel import SentinelConnectionPool

from app.core.redis_url import redis_from_url

log = logging.getLogger(__name__)


#: A sentinel's flags for a master the quorum found down, or being replaced.
FAILOVER_FLAGS = frozenset({"o_down", "failover_in_progress"})


class SubscriptionLost(Exception):
    """A pattern subscription may have missed messages; the subscriber must resync."""


class Broker(Protocol):
    async def publish(self, topic: str, message: str) -> None: ...

    def subscribe(self, *topics: str) -> AsyncIterator[tuple[str, str]]: ...

    def psubscribe(
        self, pattern: str, on_subscribed: Callable[[], None] | None = None
    ) -> AsyncIterator[tuple[str, str]]:
        """Every message whose topic matches the glob ``pattern`` (``t:*``).

        ``on_subscribed`` is called each time the subscription is (again) in place:
        a second call means it was re-made after a break and messages may be missing.
        Raises SubscriptionLost (or the transport's error) when messages were lost.
        """
        ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class MemoryBroker:
    """In-process fan-out with bounded queues; a slow subscriber loses messages, not memory."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subscribers: dict[str, set[asyncio.Queue[tuple[str, str]]]] = defaultdict(set)
        self._pattern_subscribers: dict[asyncio.Queue[tuple[str, str]], str] = {}
        self._lost: set[asyncio.Queue[tuple[str, str]]] = set()

    async def publish(self, topic: str, message: str) -> None:
        for queue in list(self._subscribers.get(topic, ())):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait((topic, message))
        for queue, pattern in list(self._pattern_subscribers.items()):
            if not fnmatchcase(topic, pattern):
                continue
            try:
                queue.put_nowait((topic, message))
            except asyncio.QueueFull:
                # The pattern subscriber (the hub) is told instead of silently missing news.
                self._lost.add(queue)

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

    async def psubscribe(
        self, pattern: str, on_subscribed: Callable[[], None] | None = None
    ) -> AsyncIterator[tuple[str, str]]:
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(self.queue_size)
        self._pattern_subscribers[queue] = pattern
        try:
            if on_subscribed is not None:
                on_subscribed()
            while True:
                if queue in self._lost and queue.empty():
                    raise SubscriptionLost(pattern)
                yield await queue.get()
        finally:
            self._pattern_subscribers.pop(queue, None)
            self._lost.discard(queue)

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._subscribers.clear()
        self._pattern_subscribers.clear()


class RedisBroker:
    """Redis pub/sub; ``channel_prefix`` keeps deployments that share a Redis apart
    (topics are given and returned without it)."""

    def __init__(self, url: str, channel_prefix: str = "") -> None:
        self.url = url
        self.channel_prefix = channel_prefix
        self._client = redis_from_url(url, decode_responses=True, health_check_interval=30)

    async def publish(self, topic: str, message: str) -> None:
        await self._client.publish(self.channel_prefix + topic, message)

    async def subscribe(self, *topics: str) -> AsyncIterator[tuple[str, str]]:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(*(self.channel_prefix + topic for topic in topics))
        try:
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    yield self._topic(item["channel"]), item["data"]
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()

    async def psubscribe(
        self, pattern: str, on_subscribed: Callable[[], None] | None = None
    ) -> AsyncIterator[tuple[str, str]]:
        # Confirmations are kept: redis-py re-subscribes by itself after a reconnect,
        # and the repeated "psubscribe" confirmation is how the caller learns of the gap.
        pubsub = self._client.pubsub(ignore_subscribe_messages=False)
        await pubsub.psubscribe(self.channel_prefix + pattern)
        try:
            async for item in pubsub.listen():
                kind = item.get("type")
                if kind == "pmessage":
                    yield self._topic(item["channel"]), item["data"]
                elif kind == "psubscribe" and on_subscribed is not None:
                    on_subscribed()
        finally:
            # Closing the pub/sub connection ends its subscriptions; no PUNSUBSCRIBE is
            # sent, as it would wait on a Redis that may be the reason we are here.
            await pubsub.aclose()

    def _topic(self, channel: str) -> str:
        return channel[len(self.channel_prefix) :]

    async def ping(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self._client.ping(), timeout=2))
        except (redis.RedisError, OSError, TimeoutError) as error:
            log.warning("redis ping failed: %s", type(error).__name__)
            return False

    async def failing_over(self) -> bool:
        """Whether the sentinels agree that the master is down (``o_down``) or are
        promoting a replica: writes to the broker fail or are lost until they are done.
        False for a plain Redis URL, and when no sentinel answers (``ping`` tells then)."""
        pool = self._client.connection_pool
        if not isinstance(pool, SentinelConnectionPool):
            return False
        for sentinel in pool.sentinel_manager.sentinels:
            try:
                state = await asyncio.wait_for(
                    sentinel.sentinel_master(pool.service_name), timeout=1
                )
            except (redis.RedisError, OSError, TimeoutError):
                continue
            flags = state.get("flags", "")
            if isinstance(flags, str):
                flags = set(flags.split(","))
            return bool(set(flags) & FAILOVER_FLAGS)
        return False

    async def close(self) -> None:
        await self._client.aclose()


def create_broker(redis_url: str | None, channel_prefix: str = "") -> Broker:
    return RedisBroker(redis_url, channel_prefix) if redis_url else MemoryBroker()
