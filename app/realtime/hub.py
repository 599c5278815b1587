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
import heapq
import json
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Container, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from app.core.events import TOPIC_PATTERN
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
#: Events waiting to be drawn before the hub gives up on its queue and has every
#: socket replay from the table instead (drawing fell far behind).
MAX_WAITING = 20_000
#: Every SWEEP_SECONDS the hub compares what the broker brought with the events table:
#: a process that died between its commit and its publish leaves an event no broker
#: ever carries, and sockets that stay connected would never replay it. It looks at
#: events at least SWEEP_GRACE_SECONDS old (their news had time to arrive), back over
#: the last SWEEP_WINDOW sweeps (a transaction may commit a while after its id).
SWEEP_SECONDS = 2.0
SWEEP_GRACE_SECONDS = 2.0
SWEEP_WINDOW = 5
#: Event ids the hub remembers having heard from the broker (some minutes' worth).
HEARD_KEPT = 100_000
#: For at least this long (and at most twice) the hub remembers the newest event id it
#: heard on each topic: far longer than a subscribing socket's query for its cursor.
NEWEST_KEPT_SECONDS = 30.0
#: How long, and how many, drawn batches are kept for sockets replaying the same gap.
DRAWN_SECONDS = 5.0
DRAWN_KEPT = 64


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
    def from_row(cls, row: Any) -> LiveEvent:
        """From an ``Event`` or a row of its id, tenant_id, topic, type and payload."""
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
#: Draws what a run of events of one topic (oldest first) changed, as it stands now.
BatchRenderer = Callable[[list[LiveEvent]], Awaitable[str]]
#: At most this many events are drawn as one message.
MAX_BATCH = 200


def _every_topic(_topic: str) -> bool:
    return True


@dataclass(frozen=True)
class _Registered:
    render: BatchRenderer
    #: Whether several events may be drawn as one message (the renderer draws the
    #: current state of what they touched, not the events themselves).
    coalesces: bool
    #: The most of the process's time drawing one topic may take: after a drawing
    #: that took t seconds the topic rests t * (1 / share - 1), gathering events...
    share: float = 1.0
    #: ...but never longer than this.
    max_rest_seconds: float = 1.0
    #: The topics whose events it draws; on the others its events go as JSON, at once,
    #: never waiting behind a drawing.
    topics: Callable[[str], bool] = _every_topic

    def batches(self, topic: str) -> bool:
        return self.coalesces and self.topics(topic)


def _drawer(event: LiveEvent) -> _Registered | None:
    """The renderer that draws ``event``, or None when it goes as JSON."""
    registered = _renderers.get(event.type)
    return registered if registered is not None and registered.topics(event.topic) else None


#: How each event type becomes what the sockets receive (an HTML fragment for HTMX's
#: out-of-band swaps). Features register theirs at import; unregistered types go as JSON.
_renderers: dict[str, _Registered] = {}


def register_renderer(event_type: str, renderer: Renderer) -> None:
    """Make ``renderer`` the way events of ``event_type`` are sent to sockets.

    It runs once per event and topic, inside the app context and the event's tenant
    scope (so it may render templates and read the database), and should embed the
    event id (``data-event-id``) when the client needs it to resume.
    """

    async def one(events: list[LiveEvent]) -> str:
        return await renderer(events[0])

    _renderers[event_type] = _Registered(one, coalesces=False)


def register_coalescing_renderer(
    event_type: str,
    renderer: BatchRenderer,
    *,
    share: float = 1.0,
    max_rest_seconds: float = 1.0,
    topics: Callable[[str], bool] = _every_topic,
) -> None:
    """Like ``register_renderer``, for renderers that draw the current state of what
    their events touched (a dashboard's rows) rather than the events themselves.

    When events arrive faster than they are drawn, the hub hands such a renderer every
    waiting event of one topic at once (oldest first, all registered with this same
    renderer) and sends one message for all of them: a busy election day costs one
    drawing per batch, not per event, and the backlog cannot grow. The message must
    name every event id it carries (the client's cursor is the highest).

    With ``share`` below 1 a topic rests after each drawing, in proportion to what the
    drawing took, so drawing it never takes more than that share of the process's
    time, whatever the event rate (at most ``max_rest_seconds``): the first event after
    a quiet spell goes at once, those during a rest wait for its end and go together.

    ``topics`` limits it to the topics it draws (the dashboard's, say): events of the
    type on other topics go as JSON the moment they arrive.
    """
    if not 0 < share <= 1:
        raise ValueError("share must be in (0, 1]")
    _renderers[event_type] = _Registered(
        renderer,
        coalesces=True,
        share=share,
        max_rest_seconds=max_rest_seconds,
        topics=topics,
    )


def unregister_renderer(event_type: str) -> None:
    _renderers.pop(event_type, None)


def take_batch(events: deque[LiveEvent], resting: Container[str] = frozenset()) -> list[LiveEvent]:
    """Take the first event of ``events`` whose topic is not ``resting`` and, when its
    renderer coalesces, every later one of the same topic drawn by the same renderer, up
    to the first of that topic that is not (each topic's order is kept; the others keep
    their places). Empty when every waiting event's topic rests."""
    kept: list[LiveEvent] = []
    first: LiveEvent | None = None
    while events:
        event = events.popleft()
        if event.topic in resting:
            kept.append(event)
        else:
            first = event
            break
    if first is None:
        events.extend(kept)
        return []
    batch = [first]
    registered = _renderers.get(first.type)
    if registered is not None and registered.batches(first.topic):
        while events:
            event = events.popleft()
            if event.topic != first.topic or len(batch) >= MAX_BATCH:
                kept.append(event)
                continue
            other = _renderers.get(event.type)
            if other is not None and other.coalesces and other.render is registered.render:
                batch.append(event)
                continue
            # Another kind of event on this topic: it and what follows wait their turn.
            kept.append(event)
            break
    events.extendleft(reversed(kept))
    return batch


#: A process using this share of a core or more is saturated: thousands of sockets
#: coming back after another process died, on top of the election day's traffic ...
BUSY_CPU_SHARE = 0.9
#: ... and draws each coalescing topic at most this often, so that its CPU goes to the
#: requests. Every event still arrives, drawn with the others of its rest; a dashboard
#: of a saturated process is seconds behind whatever it draws.
BUSY_REST_SECONDS = 0.5
#: Over how long the process's CPU use is measured.
BUSY_WINDOW_SECONDS = 1.0


def rest_after(events: list[LiveEvent], spent: float, busy: bool = False) -> float:
    """How long the topic of a batch whose drawing took ``spent`` seconds rests before
    it is drawn again (seconds); longer when the process is ``busy`` (saturated)."""
    registered = _renderers.get(events[0].type)
    if registered is None or registered.share >= 1 or not registered.batches(events[0].topic):
        return 0.0
    rest = min(registered.max_rest_seconds, spent * (1 / registered.share - 1))
    return max(rest, BUSY_REST_SECONDS) if busy else rest


class CpuGauge:
    """Whether this process is saturated: the CPU it used (all its threads) over the
    last window, as a share of the wall time. Read by the drawing loop between
    drawings; two clock readings a call."""

    def __init__(self, window: float = BUSY_WINDOW_SECONDS) -> None:
        self.window = window
        self.share = 0.0
        self._wall = time.monotonic()
        self._cpu = time.process_time()

    def busy(self) -> bool:
        wall = time.monotonic()
        if wall - self._wall >= self.window:
            cpu = time.process_time()
            self.share = (cpu - self._cpu) / (wall - self._wall)
            self._wall, self._cpu = wall, cpu
        return self.share >= BUSY_CPU_SHARE


# --- sockets --------------------------------------------------------------------------


class RecentIds:
    """The ``size`` most recent (highest) distinct event ids seen, for "have we had
    it?": what a socket has sent, what the hub has heard from the broker.

    A set alone: once it holds a quarter more than ``size``, the lowest ids are
    forgotten in one go (event ids grow with time, so the lowest are the oldest).
    """

    __slots__ = ("_ids", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._ids: set[int] = set()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_id: int) -> None:
        self._ids.add(event_id)
        if len(self._ids) > self.size + self.size // 4:
            self._ids = set(heapq.nlargest(self.size, self._ids))


@dataclass(frozen=True)
class Delivery:
    """A ready-to-send text and the ids of the events it carries (none for the hub's
    own notices; several when a coalescing renderer drew them as one)."""

    event_ids: tuple[int, ...]
    text: str


@dataclass(frozen=True)
class Replay:
    """Ask the socket's sender to replay from the events table: after ``after_id``,
    or (None) from its own cursor after a broker break."""

    topics: frozenset[str]
    after_id: int | None
    #: The events after ``after_id``, read already (a socket's opening reads them in
    #: its own session), and the newest id when there were more than a replay sends.
    events: tuple[LiveEvent, ...] | None = None
    latest: int = 0


QueueItem = Delivery | Replay


class Subscriber:
    """One socket as the hub knows it: its tenant, its topics and its bounded queue.

    The queue is a deque made when something waits in it, and one future for the
    socket's sender to wait on: an ``asyncio.Queue`` is four deques and an Event, some
    3 KiB for each of thousands of mostly quiet sockets.
    """

    __slots__ = (
        "_items",
        "_sent",
        "_waiter",
        "cursor",
        "ended",
        "fell_behind",
        "queue_size",
        "tenant_id",
        "topics",
    )

    def __init__(self, tenant_id: int, queue_size: int = QUEUE_SIZE) -> None:
        self.tenant_id = tenant_id
        self.topics: set[str] = set()
        self.queue_size = queue_size
        #: Done when the socket is to stop: it fell behind (``fell_behind``, and its
        #: connection is closed), or its connection ended it. A future, not a task:
        #: its connection awaits it (thousands of sockets, a task each is memory).
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.fell_behind = False
        #: The highest event id sent so far, or that the client resumed after: where a
        #: replay after a broker break starts.
        self.cursor = 0
        self._items: deque[QueueItem] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._sent = RecentIds(REMEMBERED_IDS)

    def offer(self, item: QueueItem) -> bool:
        """Queue ``item`` without waiting; False (and the socket dropped) when full."""
        items = self._room(1)
        if items is None:
            return False
        items.append(item)
        self._wake()
        return True

    @property
    def queued(self) -> int:
        """How many items wait to be sent."""
        return len(self._items) if self._items is not None else 0

    def put_at(self, index: int, *items: QueueItem) -> bool:
        """Queue ``items`` at ``index``, ahead of what was queued after it; False (and
        the socket dropped) when the queue would be over full."""
        queue = self._room(len(items))
        if queue is None:
            return False
        for offset, item in enumerate(items):
            queue.insert(index + offset, item)
        self._wake()
        return True

    def _room(self, count: int) -> deque[QueueItem] | None:
        """The queue when ``count`` more items fit; None when the socket has ended, or
        would be over full (it is then dropped)."""
        if self.ended.done():
            return None
        items = self._items
        if items is None:
            items = self._items = deque()
        elif len(items) + count > self.queue_size:
            self.drop()
            return None
        return items

    def drop(self) -> None:
        """Stop the socket because it fell behind."""
        if not self.ended.done():
            self.fell_behind = True
        self.end()

    def end(self) -> None:
        """Stop the socket; what it has not sent is forgotten."""
        if not self.ended.done():
            self.ended.set_result(None)
        self._items = None
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next(self) -> QueueItem | None:
        """The next item to send, once there is one; None once the socket has ended."""
        while not self._items:
            if self.ended.done():
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        items = self._items
        item = items.popleft()
        if not items:
            self._items = None
        return item

    def was_sent(self, event_id: int) -> bool:
        return event_id in self._sent

    def brings_news(self, event_ids: tuple[int, ...]) -> bool:
        """Whether a message carrying ``event_ids`` holds an event not sent yet."""
        return any(event_id not in self._sent for event_id in event_ids)

    def mark_sent(self, event_ids: Iterable[int]) -> None:
        for event_id in event_ids:
            self._sent.add(event_id)
            self.cursor = max(self.cursor, event_id)


# --- the hub --------------------------------------------------------------------------


class CommittedEvents(Protocol):
    """The events table as the hub's sweep reads it, one tenant at a time."""

    async def latest(self, tenant_id: int) -> int:
        """The tenant's newest event id (0 when none)."""
        ...

    async def since(self, tenant_id: int, after_id: int, grace: float) -> list[tuple[int, str]]:
        """(id, topic) of the tenant's events after ``after_id`` at least ``grace``
        seconds old, oldest first."""
        ...

    async def load(self, tenant_id: int, ids: list[int]) -> list[LiveEvent]:
        """The tenant's events with these ids, oldest first."""
        ...


class Hub:
    """This process's single subscription to live events and its local fan-out.

    Two tasks: the subscription reads the broker and queues each event a local socket
    listens to; the drawing task renders what is queued (coalescing where the renderer
    allows, see ``take_batch``) and puts the text in every listener's queue. Reading
    never waits on drawing, so the broker's buffer does not fill while a fragment is
    drawn, and what queued up meanwhile is drawn together.
    """

    def __init__(
        self,
        broker: Callable[[], Broker],
        *,
        render_context: Callable[[], Any] | None = None,
        queue_size: int = QUEUE_SIZE,
        max_waiting: int = MAX_WAITING,
        table: CommittedEvents | None = None,
    ) -> None:
        # A callable, not a broker: the app may swap its broker (tests, health checks).
        self._broker = broker
        # An async context manager factory (the app context) renderers run inside.
        self._render_context = render_context
        self.queue_size = queue_size
        self.max_waiting = max_waiting
        self._by_topic: dict[str, set[Subscriber]] = {}
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._drawing: asyncio.Task[None] | None = None
        self._waiting: deque[LiveEvent] = deque()
        #: How many of the waiting events each topic has: an event that goes as JSON is
        #: sent at once, unless one of its topic waits to be drawn (order is kept).
        self._waiting_by_topic: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._subscribed_before = False
        self._backoff = BACKOFF_FIRST_SECONDS
        #: Recently drawn batches by their event ids: sockets replaying the same gap
        #: (every dashboard after a broker break) share one drawing.
        self._drawn: OrderedDict[tuple[int, ...], tuple[float, str]] = OrderedDict()
        self._table = table
        self._sweeping: asyncio.Task[None] | None = None
        self._heard = RecentIds(HEARD_KEPT)
        #: The newest event id heard on each topic, listened to here or not: a socket
        #: subscribing without a cursor learns whether one slipped past it. Two
        #: generations, the older dropped every NEWEST_KEPT_SECONDS, so that topics
        #: long quiet are forgotten.
        self._newest_heard: dict[str, int] = {}
        self._newest_heard_before: dict[str, int] = {}
        self._newest_since = time.monotonic()
        #: Per tenant, the newest id each of the last sweeps saw: the oldest is where
        #: the next sweep starts.
        self._floors: dict[int, deque[int]] = {}
        self.cpu = CpuGauge()

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

    def heard_after(self, topics: Iterable[str], event_id: int) -> bool:
        """Whether an event newer than ``event_id`` came on any of ``topics`` lately."""
        return any(
            max(self._newest_heard.get(topic, 0), self._newest_heard_before.get(topic, 0))
            > event_id
            for topic in topics
        )

    def _note_newest(self, topic: str, event_id: int) -> None:
        now = time.monotonic()
        if now - self._newest_since > NEWEST_KEPT_SECONDS:
            self._newest_heard_before, self._newest_heard = self._newest_heard, {}
            self._newest_since = now
        if event_id > self._newest_heard.get(topic, 0):
            self._newest_heard[topic] = event_id

    @property
    def socket_count(self) -> int:
        return len(self._subscribers)

    # the subscription

    def start(self) -> None:
        """Subscribe on first use: a process that serves no socket holds no subscription."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self.run(), name="realtime-hub")
        if self._drawing is None or self._drawing.done():
            self._drawing = loop.create_task(self._draw_loop(), name="realtime-hub-drawing")
        if self._table is not None and (self._sweeping is None or self._sweeping.done()):
            self._sweeping = loop.create_task(self._sweep_loop(), name="realtime-hub-sweep")

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
                        self._dispatch(topic, message)
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
        tasks = [task for task in (self._task, self._drawing, self._sweeping) if task is not None]
        self._task = self._drawing = self._sweeping = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._waiting.clear()
        self._waiting_by_topic.clear()
        self._ready.clear()

    # fan-out

    def _dispatch(self, topic: str, message: str) -> None:
        try:
            event = LiveEvent.from_message(message)
        except (ValueError, KeyError, TypeError):
            log.warning("live events: ignored a malformed message on %s", topic)
            return
        if event.topic != topic:
            log.warning("live events: ignored a message whose topic is not its channel")
            return
        # Heard, even on a topic nobody here listens to yet: the sweep must not take an
        # event from before a socket's subscription for one the broker lost.
        self._heard.add(event.id)
        self._note_newest(topic, event.id)
        if topic not in self._by_topic:
            return
        if _drawer(event) is None and topic not in self._waiting_by_topic:
            # Nothing to draw and nothing of its topic before it: straight to the sockets.
            self._deliver(topic, Delivery((event.id,), event.as_json()))
            return
        if len(self._waiting) >= self.max_waiting:
            # Drawing has fallen far behind: forget the queue, the table has it all.
            log.warning("live events: %d events waiting to be drawn; resyncing", self.max_waiting)
            self._waiting.clear()
            self._waiting_by_topic.clear()
            self.resync()
            return
        self._wait(event)

    def _wait(self, event: LiveEvent) -> None:
        self._waiting.append(event)
        self._waiting_by_topic[event.topic] = self._waiting_by_topic.get(event.topic, 0) + 1
        self._wake.set()

    def _deliver(self, topic: str, delivery: Delivery) -> None:
        for subscriber in list(self._by_topic.get(topic, ())):
            if not subscriber.offer(delivery):
                self.remove(subscriber)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("live events: the sweep failed (%s)", type(error).__name__)

    async def sweep(self) -> int:
        """Queue the committed events of local sockets' topics that the broker never
        brought (their process died between commit and publish); how many were found.
        Sockets that already have one (by replay) skip it."""
        assert self._table is not None
        found = 0
        for tenant_id in sorted({s.tenant_id for s in self._subscribers}):
            floors = self._floors.setdefault(tenant_id, deque(maxlen=SWEEP_WINDOW))
            if not floors:
                # From now on: what came before is the sockets' own replay's business.
                floors.append(await self._table.latest(tenant_id))
                continue
            rows = await self._table.since(tenant_id, floors[0], SWEEP_GRACE_SECONDS)
            floors.append(max((event_id for event_id, _topic in rows), default=floors[-1]))
            missing = [
                event_id
                for event_id, topic in rows
                if event_id not in self._heard and topic in self._by_topic
            ]
            if not missing:
                continue
            log.warning("live events: %d never came through the broker; sending", len(missing))
            for event in await self._table.load(tenant_id, missing):
                self._heard.add(event.id)
                self._wait(event)
                found += 1
        for tenant_id in set(self._floors) - {s.tenant_id for s in self._subscribers}:
            del self._floors[tenant_id]
        return found

    async def _draw_loop(self) -> None:
        # Topics resting after a drawing, and when each may be drawn again.
        resting: dict[str, float] = {}
        while True:
            timeout = None
            if resting:
                now = time.monotonic()
                for topic in [t for t, until in resting.items() if until <= now]:
                    del resting[topic]
                if resting:
                    timeout = max(0.0, min(resting.values()) - now)
            batch = take_batch(self._waiting, resting) if self._waiting else []
            if not batch:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
                continue
            topic = batch[0].topic
            started = time.monotonic()
            for delivery in await self.draw(batch):
                self._deliver(topic, delivery)
            # Counted as waiting until delivered: what comes meanwhile goes after it.
            left = self._waiting_by_topic.get(topic, 0) - len(batch)
            if left > 0:
                self._waiting_by_topic[topic] = left
            else:
                self._waiting_by_topic.pop(topic, None)
            rest = rest_after(batch, time.monotonic() - started, self.cpu.busy())
            if rest > 0:
                resting[batch[0].topic] = time.monotonic() + rest

    async def draw(self, events: list[LiveEvent]) -> list[Delivery]:
        """What sockets receive for ``events`` (one, or a batch ``take_batch`` made): one
        message, or, when the renderer fails, each event as JSON."""

        def each_as_json() -> list[Delivery]:
            return [Delivery((event.id,), event.as_json()) for event in events]

        registered = _drawer(events[0])
        if registered is None:
            return each_as_json()
        key = tuple(event.id for event in events)
        now = time.monotonic()
        drawn = self._drawn.get(key)
        if drawn is not None and now - drawn[0] < DRAWN_SECONDS:
            return [Delivery(key, drawn[1])]
        try:
            context = self._render_context() if self._render_context else contextlib.nullcontext()
            async with context:
                with tenant_scope(events[0].tenant_id):
                    text = await registered.render(events)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live events: renderer for %s failed; sending JSON", events[0].type)
            return each_as_json()
        self._drawn[key] = (now, text)
        while len(self._drawn) > DRAWN_KEPT:
            self._drawn.popitem(last=False)
        return [Delivery(key, text)]


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
