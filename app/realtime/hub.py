"""The hub: one broker subscription per process, fanned out to this process's sockets.

Every socket has a bounded queue. The hub only ever puts into queues without waiting;
a socket whose queue is full is dropped (its connection closes with 4008 and the
client reconnects with its last event id), so one slow phone never holds up the
operations room. Each event is rendered once per topic, and the same string goes to
every subscriber.

When the broker subscription breaks (Redis restarts, the network blinks) the hub
retries with backoff, and once subscribed again tells every socket to replay from
the events table: the table is the truth, the broker only carries the news.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.core.events import TOPIC_PATTERN
from app.core.models import Event
from app.core.tenancy import tenant_scope
from app.realtime.broker import Broker

log = logging.getLogger(__name__)

#: Every topic starts with the tenant (``t:{tenant}:...``): one pattern hears them all.
ALL_TOPICS = "t:*"
#: Messages a socket may have waiting before it counts as fallen behind.
QUEUE_SIZE = 256
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
#: Event ids remembered per socket, so a replay never sends one twice.
REMEMBERED_IDS = 2048


@dataclass(frozen=True)
class LiveEvent:
    """An event as the hub and the renderers see it."""

    id: int
    tenant_id: int
    topic: str
    type: str
    payload: dict[str, Any]

    @classmethod
    def from_message(cls, message: str) -> LiveEvent:
        """Parse a broker message; ValueError for anything malformed."""
        data = json.loads(message)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        topic = str(data.get("topic", ""))
        match = TOPIC_PATTERN.match(topic)
        if match is None:
            raise ValueError("bad topic")
        payload = data.get("payload")
        return cls(
            id=int(data["id"]),
            tenant_id=int(match.group("tenant")),
            topic=topic,
            type=str(data["type"]),
            payload=payload if isinstance(payload, dict) else {},
        )

    @classmethod
    def from_row(cls, row: Event) -> LiveEvent:
        return cls(
            id=row.id, tenant_id=row.tenant_id, topic=row.topic, type=row.type, payload=row.payload
        )

    def as_json(self) -> str:
        return json.dumps(
            {"id": self.id, "topic": self.topic, "type": self.type, "payload": self.payload},
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        )


# --- renderers ------------------------------------------------------------------------

Renderer = Callable[[LiveEvent], Awaitable[str]]

#: How each event type becomes what the sockets receive (an HTML fragment for HTMX's
#: out-of-band swaps). Features register theirs at import; unregistered types go as JSON.
_renderers: dict[str, Renderer] = {}


def register_renderer(event_type: str, renderer: Renderer) -> None:
    """Make ``renderer`` the way events of ``event_type`` are sent to sockets.

    It runs once per event and topic, inside the app context and the event's tenant
    scope (so it may render templates and read the database), and should embed the
    event id (``data-event-id``) when the client needs it to resume.
    """
    _renderers[event_type] = renderer


def unregister_renderer(event_type: str) -> None:
    _renderers.pop(event_type, None)


async def render_json(event: LiveEvent) -> str:
    return event.as_json()


# --- sockets --------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """A ready-to-send text; ``event_id`` is None for the hub's own notices."""

    event_id: int | None
    text: str


@dataclass(frozen=True)
class Replay:
    """Ask the socket's sender to replay from the events table: after ``after_id``,
    or (None) from its own cursor after a broker break."""

    topics: frozenset[str]
    after_id: int | None


QueueItem = Delivery | Replay


class Subscriber:
    """One socket as the hub knows it: its tenant, its topics and its bounded queue."""

    def __init__(self, tenant_id: int, queue_size: int = QUEUE_SIZE) -> None:
        self.tenant_id = tenant_id
        self.topics: set[str] = set()
        self.queue: asyncio.Queue[QueueItem] = asyncio.Queue(queue_size)
        #: Set when the socket fell behind; its connection is then closed.
        self.dropped = asyncio.Event()
        #: The highest event id sent so far, or that the client resumed after: where a
        #: replay after a broker break starts.
        self.cursor = 0
        self._sent: deque[int] = deque(maxlen=REMEMBERED_IDS)
        self._sent_set: set[int] = set()

    def offer(self, item: QueueItem) -> bool:
        """Queue ``item`` without waiting; False (and the socket dropped) when full."""
        if self.dropped.is_set():
            return False
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.drop()
            return False
        return True

    def drop(self) -> None:
        self.dropped.set()
        # Free what it will never send.
        while not self.queue.empty():
            self.queue.get_nowait()

    def was_sent(self, event_id: int) -> bool:
        return event_id in self._sent_set

    def mark_sent(self, event_id: int) -> None:
        if len(self._sent) == self._sent.maxlen:
            self._sent_set.discard(self._sent[0])
        self._sent.append(event_id)
        self._sent_set.add(event_id)
        self.cursor = max(self.cursor, event_id)


# --- the hub --------------------------------------------------------------------------


class Hub:
    """This process's single subscription to live events and its local fan-out."""

    def __init__(
        self,
        broker: Callable[[], Broker],
        *,
        render_context: Callable[[], Any] | None = None,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        # A callable, not a broker: the app may swap its broker (tests, health checks).
        self._broker = broker
        # An async context manager factory (the app context) renderers run inside.
        self._render_context = render_context
        self.queue_size = queue_size
        self._by_topic: dict[str, set[Subscriber]] = {}
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._subscribed_before = False
        self._backoff = BACKOFF_FIRST_SECONDS

    # sockets

    def new_subscriber(self, tenant_id: int) -> Subscriber:
        return Subscriber(tenant_id, self.queue_size)

    def add(self, subscriber: Subscriber, topics: set[str]) -> None:
        """Start delivering ``topics`` to ``subscriber`` (rights were checked by the caller)."""
        self.start()
        self._subscribers.add(subscriber)
        for topic in topics:
            subscriber.topics.add(topic)
            self._by_topic.setdefault(topic, set()).add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        for topic in subscriber.topics:
            listeners = self._by_topic.get(topic)
            if listeners is not None:
                listeners.discard(subscriber)
                if not listeners:
                    del self._by_topic[topic]

    @property
    def socket_count(self) -> int:
        return len(self._subscribers)

    # the subscription

    def start(self) -> None:
        """Subscribe on first use: a process that serves no socket holds no subscription."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="realtime-hub")

    async def wait_ready(self) -> None:
        """Wait until the broker subscription is in place (bound it with a timeout)."""
        self.start()
        await self._ready.wait()

    async def run(self) -> None:
        """Hold the subscription for the life of the process, re-making it after a break."""
        while True:
            try:
                stream = self._broker().psubscribe(ALL_TOPICS, self._on_subscribed)
                async with contextlib.aclosing(_as_generator(stream)) as messages:
                    async for topic, message in messages:
                        await self._dispatch(topic, message)
                log.warning("live events: the broker ended the subscription; subscribing again")
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "live events: broker subscription broke (%s); retrying in %.1fs",
                    type(error).__name__,
                    self._backoff,
                )
            self._ready.clear()
            # Jitter keeps many processes from reconnecting to a restarted Redis at once.
            await asyncio.sleep(self._backoff * random.uniform(0.5, 1.0))  # noqa: S311
            self._backoff = min(self._backoff * 2, BACKOFF_MAX_SECONDS)

    def _on_subscribed(self) -> None:
        if self._subscribed_before:
            log.info("live events: subscribed again; every socket replays what it missed")
            self.resync()
        self._subscribed_before = True
        self._backoff = BACKOFF_FIRST_SECONDS
        self._ready.set()

    def resync(self) -> None:
        """Have every socket replay from the events table (messages may have been lost)."""
        for subscriber in list(self._subscribers):
            if not subscriber.offer(Replay(frozenset(subscriber.topics), None)):
                self.remove(subscriber)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._ready.clear()

    # fan-out

    async def _dispatch(self, topic: str, message: str) -> None:
        if topic not in self._by_topic:
            return
        try:
            event = LiveEvent.from_message(message)
        except (ValueError, KeyError, TypeError):
            log.warning("live events: ignored a malformed message on %s", topic)
            return
        if event.topic != topic:
            log.warning("live events: ignored a message whose topic is not its channel")
            return
        delivery = Delivery(event.id, await self.render(event))
        for subscriber in list(self._by_topic.get(topic, ())):
            if not subscriber.offer(delivery):
                self.remove(subscriber)

    async def render(self, event: LiveEvent) -> str:
        """The text sockets receive for ``event``: its renderer's, or the JSON."""
        renderer = _renderers.get(event.type, render_json)
        if renderer is render_json:
            return event.as_json()
        try:
            context = self._render_context() if self._render_context else contextlib.nullcontext()
            async with context:
                with tenant_scope(event.tenant_id):
                    return await renderer(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live events: renderer for %s failed; sending JSON", event.type)
            return event.as_json()


async def _as_generator(stream: AsyncIterator[tuple[str, str]]) -> Any:
    # contextlib.aclosing needs an object with aclose(); brokers return async generators,
    # but the Broker protocol only promises an iterator.
    try:
        async for item in stream:
            yield item
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
