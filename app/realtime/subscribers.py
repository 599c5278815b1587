"""A socket as the hub knows it: its topics, its bounded queue of what to send, and the
event ids it has sent.

The hub only ever puts into a queue without waiting; a socket whose queue is full is
dropped (its connection closes with 4008 and the client reconnects with its last event
id), so one slow phone never holds up the operations room.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.realtime.live_event import LiveEvent

#: Messages a socket may have waiting before it counts as fallen behind.
QUEUE_SIZE = 256
#: Event ids remembered per socket, so a replay never sends one twice.
REMEMBERED_IDS = 2048
#: Close codes a client understands as "do not come back on your own": the session
#: that opened the socket is gone (sign in again), or its user may no longer hear
#: what it listened to.
SIGNED_OUT = 4401
NOT_ALLOWED = 4403
#: The server is stopping (RFC 6455 "service restart"): reconnect, to another process or
#: to this server once it is back, with the last event id seen.
SERVICE_RESTART = 1012


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
    own notices; several when a coalescing renderer drew them as one), and the topic
    they came on (none for notices): a socket no longer allowed that topic skips it."""

    event_ids: tuple[int, ...]
    text: str
    topic: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What a second look at a socket's rights found (``Hub.review``): close it with
    ``close_code``, or stop sending it the topics in ``drop``; and when to look again
    (``time.monotonic()``; infinity: only when news of a change comes)."""

    close_code: int | None = None
    drop: frozenset[str] = frozenset()
    recheck_at: float = math.inf


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
        "close_code",
        "cursor",
        "ended",
        "fell_behind",
        "grant",
        "locale",
        "opened_at",
        "queue_size",
        "recheck_at",
        "tenant_id",
        "topics",
        "user_id",
    )

    def __init__(
        self,
        tenant_id: int,
        queue_size: int = QUEUE_SIZE,
        user_id: int = 0,
        grant: Any = None,
        locale: str = "",
    ) -> None:
        self.tenant_id = tenant_id
        #: The language its page is in ("" when unknown): fragments are drawn in it.
        self.locale = locale
        #: Whose socket it is, and on what authority (``app.realtime.access.Grant``):
        #: what the hub's second look at its rights checks again.
        self.user_id = user_id
        self.grant = grant
        self.opened_at = time.monotonic()
        #: When its rights are to be looked at again even without news (its session
        #: lapses then, unless used meanwhile); ``time.monotonic()``.
        self.recheck_at = math.inf
        #: The close code when its rights were withdrawn (signed out, not allowed).
        self.close_code: int | None = None
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

    def revoke(self, close_code: int) -> None:
        """Stop the socket because its rights were withdrawn; it closes with ``close_code``."""
        if not self.ended.done():
            self.close_code = close_code
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
