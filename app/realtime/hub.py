"""The hub: one broker subscription per process, fanned out to this process's sockets.

Every socket has a bounded queue. The hub only ever puts into queues without waiting;
a socket whose queue is full is dropped (its connection closes with 4008 and the
client reconnects with its last event id), so one slow phone never holds up the
operations room. Each event is rendered once per topic, and the same string goes to
every subscriber.

When the broker subscription breaks (Redis restarts, the network blinks) the hub
retries with backoff, and once subscribed again tells every socket to replay from
the events table: the table is the truth, the broker only carries the news.

Here: the subscription, the fan-out, the drawing task, the newest event id heard on
each topic, and the sweep that compares what the broker brought with the events table.
Beside it: ``live_event`` (an event as the hub sees it), ``subscribers`` (a socket's
bounded queue), ``drawing`` (renderers, batches, rests) and ``saturation`` (the CPU
gauge that lengthens the rests).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import random
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Protocol

from app.core.events import ACCESS_TOPIC
from app.core.i18n import reader_scope
from app.core.tenancy import tenant_scope
from app.realtime.broker import Broker
from app.realtime.committed import SWEEP_LIMIT, CommittedEvents, Sweeper, SweepLag
from app.realtime.drawing import renderer_for, rest_after, take_batch
from app.realtime.live_event import LiveEvent
from app.realtime.saturation import CpuGauge
from app.realtime.subscribers import (
    NOT_ALLOWED,
    QUEUE_SIZE,
    SERVICE_RESTART,
    Delivery,
    RecentIds,
    Replay,
    Subscriber,
    Verdict,
)

log = logging.getLogger(__name__)

#: Every topic starts with the tenant (``t:{tenant}:...``): one pattern hears them all.
ALL_TOPICS = "t:*"
BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
#: Events waiting to be drawn before the hub gives up on its queue and has every
#: socket replay from the table instead (drawing fell far behind).
MAX_WAITING = 20_000
#: Every SWEEP_SECONDS the hub compares what the broker brought with the events table:
#: a process that died between its commit and its publish leaves an event no broker
#: ever carries, and sockets that stay connected would never replay it. It reads the
#: transactions that committed between two of its positions in the table (snapshots on
#: PostgreSQL, see ``app.realtime.committed``), the newer at least SWEEP_GRACE_SECONDS
#: old (their news had time to arrive): each once, however late after its id it commits.
SWEEP_SECONDS = 2.0
SWEEP_GRACE_SECONDS = 2.0
#: Event ids the hub remembers having heard from the broker (some minutes' worth).
HEARD_KEPT = 100_000
#: For at least this long (and at most twice) the hub remembers the newest event id it
#: heard on each topic: far longer than a subscribing socket's query for its cursor.
NEWEST_KEPT_SECONDS = 30.0
#: Drawings under way at once, each of another topic. A drawing mostly waits on the
#: database (a station's fragment is some eight short reads): one after another, 660
#: stations' check-ins queued behind each other's reads while the process sat idle
#: (bench --only realtime: 35% CPU, station p50 10 s). Each takes a connection of the
#: pool the requests share.
DRAWING_AT_ONCE = 4
#: How long, and how many, drawn batches are kept for sockets replaying the same gap.
DRAWN_SECONDS = 5.0
DRAWN_KEPT = 64
#: How often the hub looks for sockets whose session lapsed (no news comes of that),
#: and how soon it looks again at one it could not check (the database was away).
GUARD_SECONDS = 1.0
GUARD_RETRY_SECONDS = 5.0
#: How long news of a user's access change is kept for sockets still opening: one
#: identified before the change but listed here after it is looked at again.
CHANGES_KEPT_SECONDS = 60.0


class Guard(Protocol):
    """The second look at a socket's rights, against the database as it is now."""

    async def review(self, subscriber: Subscriber) -> Verdict:
        """Whether ``subscriber`` may go on: its session, its membership and role, and
        each of its topics checked again."""
        ...


class Hub:
    """This process's single subscription to live events and its local fan-out.

    Two tasks: the subscription reads the broker and queues each event a local socket
    listens to; the drawing task renders what is queued (coalescing where the renderer
    allows, see ``take_batch``) and puts the text in every listener's queue. Reading
    never waits on drawing, so the broker's buffer does not fill while a fragment is
    drawn, and what queued up meanwhile is drawn together. Several topics are drawn at
    once (``drawing_at_once``), each by one drawing at a time, so one station's reads
    never hold up another's, nor the dashboard's.
    """

    def __init__(
        self,
        broker: Callable[[], Broker],
        *,
        render_context: Callable[[], Any] | None = None,
        queue_size: int = QUEUE_SIZE,
        max_waiting: int = MAX_WAITING,
        table: CommittedEvents | None = None,
        guard: Guard | None = None,
        drawing_at_once: int = DRAWING_AT_ONCE,
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
        #: Topics resting after a drawing (when each may be drawn again), and the
        #: drawings under way by topic: at most ``drawing_at_once``, one per topic.
        self._resting: dict[str, float] = {}
        self._drawing_now: dict[str, asyncio.Task[None]] = {}
        self.drawing_at_once = drawing_at_once
        self._ready = asyncio.Event()
        self._subscribed_before = False
        self._backoff = BACKOFF_FIRST_SECONDS
        #: Recently drawn batches by their event ids: sockets replaying the same gap
        #: (every dashboard after a broker break) share one drawing.
        self._drawn: OrderedDict[tuple[tuple[int, ...], str], tuple[float, str]] = OrderedDict()
        #: Batches being drawn now, for sockets asking for the same one meanwhile.
        self._drawing_same: dict[tuple[tuple[int, ...], str], asyncio.Future[object]] = {}
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
        #: Where the sweep has read up to in the table, tenant by tenant.
        self._sweeper = Sweeper(table) if table is not None else None
        self.cpu = CpuGauge()
        #: Who looks again at sockets' rights when a user's access changed (news on
        #: ACCESS_TOPIC from any process) or their session lapses.
        self._guard = guard
        self._guarding: asyncio.Task[None] | None = None
        self._access_changed: set[int] = set()
        self._changed_at: dict[int, float] = {}
        self._guard_wake = asyncio.Event()
        #: The server is stopping: every socket closes with 1012, new ones at once.
        self.stopping = False

    # sockets

    def new_subscriber(
        self, tenant_id: int, user_id: int = 0, grant: Any = None, locale: str = ""
    ) -> Subscriber:
        return Subscriber(tenant_id, self.queue_size, user_id, grant, locale)

    def add(self, subscriber: Subscriber, topics: set[str]) -> None:
        """Start delivering ``topics`` to ``subscriber`` (rights were checked by the caller).
        With no topics, the socket is known to the hub (its rights are watched)."""
        self.start()
        if self.stopping:
            subscriber.revoke(SERVICE_RESTART)
        if subscriber not in self._subscribers:
            self._subscribers.add(subscriber)
            if self._changed_at.get(subscriber.user_id, -math.inf) >= subscriber.opened_at:
                # Its user's access changed while it was opening: look at it now.
                subscriber.recheck_at = 0.0
                self._guard_wake.set()
        for topic in topics:
            subscriber.topics.add(topic)
            self._by_topic.setdefault(topic, set()).add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        self._unlisten(subscriber, subscriber.topics)

    def _unlisten(self, subscriber: Subscriber, topics: Iterable[str]) -> None:
        for topic in topics:
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
        if self._guard is not None and (self._guarding is None or self._guarding.done()):
            self._guarding = loop.create_task(self._guard_loop(), name="realtime-hub-guard")

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

    def close_for_restart(self) -> None:
        """The server is stopping: tell every socket, and any that opens from now on, to
        reconnect elsewhere (close code 1012); its client comes back with its last event
        id, to another process or to this server once it is back, and replays the gap."""
        self.stopping = True
        for subscriber in list(self._subscribers):
            subscriber.revoke(SERVICE_RESTART)

    async def close(self) -> None:
        running = (self._task, self._drawing, self._sweeping, self._guarding)
        tasks = [task for task in running if task is not None]
        self._task = self._drawing = self._sweeping = self._guarding = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._waiting.clear()
        self._waiting_by_topic.clear()
        self._resting.clear()
        self._ready.clear()

    # fan-out

    def _dispatch(self, topic: str, message: str) -> None:
        if topic == ACCESS_TOPIC:
            self._note_access_change(message)
            return
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
        if renderer_for(event) is None and topic not in self._waiting_by_topic:
            # Nothing to draw and nothing of its topic before it: straight to the sockets.
            self._deliver(topic, Delivery((event.id,), event.as_json(), topic))
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

    def _deliver(self, topic: str, delivery: Delivery, locale: str | None = None) -> None:
        """To the topic's sockets (with ``locale``: those whose page is in it)."""
        for subscriber in list(self._by_topic.get(topic, ())):
            if locale is not None and subscriber.locale != locale:
                continue
            if not subscriber.offer(delivery):
                self.remove(subscriber)

    def _locales_of(self, topic: str) -> list[str]:
        """The languages the topic's sockets read ("" for those not known)."""
        return sorted({subscriber.locale for subscriber in self._by_topic.get(topic, ())})

    # rights

    def _note_access_change(self, message: str) -> None:
        try:
            user_id = int(json.loads(message)["user_id"])
        except (ValueError, KeyError, TypeError):
            log.warning("live events: ignored a malformed access notice")
            return
        self._changed_at[user_id] = time.monotonic()
        if any(subscriber.user_id == user_id for subscriber in self._subscribers):
            self._access_changed.add(user_id)
            self._guard_wake.set()

    async def _guard_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(GUARD_SECONDS):
                    await self._guard_wake.wait()
            self._guard_wake.clear()
            try:
                await self.review_due()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning(
                    "live events: checking sockets' rights failed (%s)", type(error).__name__
                )

    async def review_due(self) -> int:
        """Look again at the rights of the sockets whose user's access changed or whose
        session may have lapsed; close or narrow those that lost some. How many were
        looked at."""
        assert self._guard is not None
        changed, self._access_changed = self._access_changed, set()
        now = time.monotonic()
        for user_id in [
            u for u, when in self._changed_at.items() if now - when > CHANGES_KEPT_SECONDS
        ]:
            del self._changed_at[user_id]
        due = [
            subscriber
            for subscriber in self._subscribers
            if subscriber.user_id in changed or subscriber.recheck_at <= now
        ]
        for subscriber in due:
            if subscriber.ended.done():
                continue
            try:
                verdict = await self._guard.review(subscriber)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Not known to be allowed, nor known not to be: look again soon.
                log.warning(
                    "live events: a socket's rights were not checked (%s)", type(error).__name__
                )
                subscriber.recheck_at = time.monotonic() + GUARD_RETRY_SECONDS
                continue
            self._apply(subscriber, verdict)
        return len(due)

    def _apply(self, subscriber: Subscriber, verdict: Verdict) -> None:
        subscriber.recheck_at = verdict.recheck_at
        close_code = verdict.close_code
        dropped = verdict.drop & subscriber.topics
        if close_code is None and dropped:
            subscriber.topics -= dropped
            self._unlisten(subscriber, dropped)
            if not subscriber.topics:
                # Nothing it listened to is left to it: closed as not allowed.
                close_code = NOT_ALLOWED
            else:
                notice = {"type": "ws.revoked", "topics": sorted(dropped)}
                if not subscriber.offer(Delivery((), json.dumps(notice, separators=(",", ":")))):
                    self.remove(subscriber)
        if close_code is not None:
            self.remove(subscriber)
            subscriber.revoke(close_code)

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
        assert self._table is not None and self._sweeper is not None
        sweeper = self._sweeper
        found = 0
        tenants = {s.tenant_id for s in self._subscribers}
        for tenant_id in sorted(tenants):
            rows = await sweeper.committed(tenant_id, SWEEP_GRACE_SECONDS)
            if len(rows) >= SWEEP_LIMIT:
                # More than one sweep reads: the sockets replay from their own cursors.
                log.warning("live events: %d committed in one sweep; replaying", len(rows))
                for subscriber in [s for s in self._subscribers if s.tenant_id == tenant_id]:
                    if not subscriber.offer(Replay(frozenset(subscriber.topics), None)):
                        self.remove(subscriber)
                continue
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
        sweeper.keep_only(tenants)
        return found

    def sweep_lag(self) -> SweepLag:
        """How far behind the sweep is, and how long an open transaction has held it."""
        return self._sweeper.lag() if self._sweeper is not None else SweepLag(0.0, 0.0)

    async def _draw_loop(self) -> None:
        try:
            while True:
                now = time.monotonic()
                resting = self._resting
                for topic in [t for t, until in resting.items() if until <= now]:
                    del resting[topic]
                # Each topic is drawn by one drawing at a time, in order; other topics'
                # drawings go on meanwhile, up to ``drawing_at_once``.
                drawing = self._drawing_now
                while self._waiting and len(drawing) < self.drawing_at_once:
                    batch = take_batch(self._waiting, resting.keys() | drawing.keys())
                    if not batch:
                        break
                    topic = batch[0].topic
                    task = asyncio.get_running_loop().create_task(self._draw_batch(batch))
                    drawing[topic] = task
                    task.add_done_callback(functools.partial(self._drawn_one, topic))
                timeout = max(0.0, min(resting.values()) - now) if resting else None
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
        finally:
            under_way = list(self._drawing_now.values())
            for task in under_way:
                task.cancel()
            await asyncio.gather(*under_way, return_exceptions=True)

    def _drawn_one(self, topic: str, _task: asyncio.Task[None]) -> None:
        self._drawing_now.pop(topic, None)
        self._wake.set()

    async def _draw_batch(self, batch: list[LiveEvent]) -> None:
        """Draw a batch of one topic's events and deliver it; then the topic rests."""
        topic = batch[0].topic
        started = time.monotonic()
        try:
            # Drawn once per language its sockets read (mostly one).
            for locale in self._locales_of(topic):
                for delivery in await self.draw(batch, locale):
                    self._deliver(topic, delivery, locale)
        finally:
            # Counted as waiting until delivered: what comes meanwhile goes after it.
            left = self._waiting_by_topic.get(topic, 0) - len(batch)
            if left > 0:
                self._waiting_by_topic[topic] = left
            else:
                self._waiting_by_topic.pop(topic, None)
            rest = rest_after(batch, time.monotonic() - started, self.cpu.busy())
            if rest > 0:
                self._resting[topic] = time.monotonic() + rest

    async def draw(self, events: list[LiveEvent], locale: str = "") -> list[Delivery]:
        """What sockets reading ``locale`` receive for ``events`` (one, or a batch
        ``take_batch`` made): one message, or, when the renderer fails, each event as
        JSON."""

        def each_as_json() -> list[Delivery]:
            return [Delivery((event.id,), event.as_json(), event.topic) for event in events]

        registered = renderer_for(events[0])
        if registered is None:
            return each_as_json()
        key, topic = tuple(event.id for event in events), events[0].topic
        while True:
            drawn = self._drawn.get((key, locale))
            if drawn is not None and time.monotonic() - drawn[0] < DRAWN_SECONDS:
                return [Delivery(key, drawn[1], topic)]
            under_way = self._drawing_same.get((key, locale))
            if under_way is None:
                break
            # Another socket draws this very batch now (a station's phones replaying one
            # gap at once): share its text. Shielded: our leaving must not cancel theirs.
            theirs = await asyncio.shield(under_way)
            if theirs is _FAILED:
                return each_as_json()
            if isinstance(theirs, str):
                return [Delivery(key, theirs, topic)]
            # None: that drawing was given up (its socket left); look again.
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._drawing_same[(key, locale)] = future
        outcome: object = None  # None when this drawing is given up
        try:
            context = self._render_context() if self._render_context else contextlib.nullcontext()
            async with context:
                with tenant_scope(events[0].tenant_id), reader_scope(locale):
                    outcome = await registered.render(events)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live events: renderer for %s failed; sending JSON", events[0].type)
            outcome = _FAILED
        finally:
            del self._drawing_same[(key, locale)]
            future.set_result(outcome)
        if not isinstance(outcome, str):
            return each_as_json()
        self._drawn[(key, locale)] = (time.monotonic(), outcome)
        while len(self._drawn) > DRAWN_KEPT:
            self._drawn.popitem(last=False)
        return [Delivery(key, outcome, topic)]


#: What a drawing that failed hands the sockets waiting on it: each event as JSON.
_FAILED = object()


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
