"""How live events become what sockets receive: the renderers features register, the
events of one topic drawn together as one message, and how long a topic rests after a
drawing.

A renderer runs on the hub's one drawing task (``app.realtime.hub``). One that draws
the current state of what its events touched (a dashboard's rows) coalesces: every
waiting event of its topic is drawn at once, so a busy election day costs one drawing
per batch, not per event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Container, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from quart import g

from app.realtime.live_event import LiveEvent
from app.realtime.saturation import BUSY_REST_SECONDS

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


def renderer_for(event: LiveEvent) -> _Registered | None:
    """The renderer that draws ``event``, or None when it goes as JSON."""
    return _registered(event.type, event.topic)


def _registered(event_type: str, topic: str) -> _Registered | None:
    """The registration of ``event_type`` whose topics hold ``topic`` (the first)."""
    for registered in _renderers.get(event_type, ()):
        if registered.topics(topic):
            return registered
    return None


#: How each event type becomes what the sockets receive (an HTML fragment for HTMX's
#: out-of-band swaps), per kind of topic: the dashboard draws the ops topic's events,
#: the clerks' page a station's. Features register theirs at import; an event no
#: registration's topics hold goes as JSON.
_renderers: dict[str, list[_Registered]] = {}


def _register(event_type: str, registered: _Registered) -> None:
    """Add ``registered`` for ``event_type``, replacing one with the same topics."""
    kept = [r for r in _renderers.get(event_type, []) if r.topics is not registered.topics]
    _renderers[event_type] = [*kept, registered]


def register_renderer(event_type: str, renderer: Renderer) -> None:
    """Make ``renderer`` the way events of ``event_type`` are sent to sockets.

    It runs once per event and topic, inside the app context and the event's tenant
    scope (so it may render templates and read the database), and should embed the
    event id (``data-event-id``) when the client needs it to resume.
    """

    async def one(events: list[LiveEvent]) -> str:
        return await renderer(events[0])

    _register(event_type, _Registered(one, coalesces=False))


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
    _register(
        event_type,
        _Registered(
            renderer,
            coalesces=True,
            share=share,
            max_rest_seconds=max_rest_seconds,
            topics=topics,
        ),
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
    registered = _registered(first.type, first.topic)
    if registered is not None and registered.batches(first.topic):
        while events:
            event = events.popleft()
            if event.topic != first.topic or len(batch) >= MAX_BATCH:
                kept.append(event)
                continue
            other = _registered(event.type, event.topic)
            if other is not None and other.coalesces and other.render is registered.render:
                batch.append(event)
                continue
            # Another kind of event on this topic: it and what follows wait their turn.
            kept.append(event)
            break
    events.extendleft(reversed(kept))
    return batch


def rest_after(events: list[LiveEvent], spent: float, busy: bool = False) -> float:
    """How long the topic of a batch whose drawing took ``spent`` seconds rests before
    it is drawn again (seconds); longer when the process is ``busy`` (saturated)."""
    registered = _registered(events[0].type, events[0].topic)
    if registered is None or registered.share >= 1 or not registered.batches(events[0].topic):
        return 0.0
    rest = min(registered.max_rest_seconds, spent * (1 / registered.share - 1))
    return max(rest, BUSY_REST_SECONDS) if busy else rest


@contextmanager
def as_page_of(tenant: Any) -> Iterator[None]:
    """Draw as the municipality's pages draw: what they mark as written in its own
    language (``app.core.templating.own_language`` reads the request's tenant) is
    marked the same in a fragment drawn without a request."""
    had = g.get("tenant")
    g.tenant = tenant
    try:
        yield
    finally:
        if had is None:
            g.pop("tenant", None)
        else:
            g.tenant = had
