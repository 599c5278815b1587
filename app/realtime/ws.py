"""The live socket ``/<tenant>/ws``: authenticate, check topics, replay, then stream.

Protocol (text frames, JSON unless a renderer sends HTML):

- Ask for topics with ``?topics=a,b&last_event_id=N`` when connecting, or at any time
  with a message ``{"topics": ["a", "b"], "last_event_id": N}``.
- The server answers ``{"type": "ws.subscribed", "topics": [...], "last_event_id": N}``
  (N: the id asked to resume after, or else the newest event on those topics now; a
  client keeps it as its cursor until an event brings a newer id) and, per refused
  topic, ``{"type": "ws.error", "code": "forbidden" | "bad_topic" | ..., "topic": ...}``.
- With ``last_event_id`` the events after it are replayed first, in order; when more
  than ``REPLAY_LIMIT`` are missing the server sends ``{"type": "ws.snapshot", ...}``
  instead: reload your state, then carry on from its ``last_event_id``. On PostgreSQL
  the replay also holds the lower ids that committed after that event was written
  (ids are taken before commit, commits come in any order): an event may come again
  after a reconnect, never be skipped; apply events idempotently.
- Events: ``{"id", "topic", "type", "payload"}`` (or the renderer's fragment).
- ``{"type": "ws.revoked", "topics": [...]}``: the user may no longer hear these
  topics (their role changed); the socket goes on with the others.
- Close code 4008: this socket fell behind; reconnect with the last event id seen.
- Close code 1012 (service restart): the server is stopping; reconnect (after a short,
  random pause) with the last event id seen, to another process or to this server
  once it is back.
- Close code 4401: the session that opened the socket ended (signed out, expired,
  account deactivated); 4403: the user may no longer hear any topic it listened to.
  Do not reconnect on your own: load the page again, which asks to sign in or refuses.

Rights are checked when a topic is asked for and again, by the hub, whenever a user's
access changes (news on the broker from the process that changed it) or the session
may have lapsed (``app.realtime.access.SocketGuard``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Iterable
from typing import Any, cast
from urllib.parse import urlsplit

from quart import Blueprint, Quart, Response, current_app, g, session, websocket
from quart.globals import websocket_ctx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.accounts.sessions import resume_signed_in, session_lapses_at
from app.core.accounts.users import active_membership
from app.core.auth import SESSION_KEY
from app.core.events import PUBLISHER, events_after, latest_event_id
from app.core.settings import SUPPORTED_LOCALES, Settings
from app.core.tenancy import tenant_scope
from app.core.validation import MAX_ID
from app.realtime.access import Grant, Member, SocketGuard, refuse_topic
from app.realtime.committed import EventsTable
from app.realtime.drawing import take_batch
from app.realtime.hub import Hub
from app.realtime.live_event import LiveEvent
from app.realtime.serving import close_on_stop, decline_permessage_deflate
from app.realtime.subscribers import SERVICE_RESTART, Delivery, Replay
from app.realtime.tickets import redeem_ticket

log = logging.getLogger(__name__)

blueprint = Blueprint("realtime", __name__)

#: Where the app keeps its hub (``app.extensions``).
HUB = "realtime_hub"
#: Where the app keeps the ids of the municipalities its sockets named.
TENANT_IDS = "realtime_tenant_ids"
#: More missing events than this and the client reloads its state instead.
REPLAY_LIMIT = 1000
#: Topics one socket may hold: a dashboard needs a handful, not hundreds.
MAX_TOPICS = 50
#: How long a socket waits for the hub's subscription before replaying anyway.
READY_SECONDS = 5.0
#: How long closing a fallen-behind socket may wait on its full connection.
CLOSE_SECONDS = 5.0
#: The close code telling a client it fell behind and must resync.
FELL_BEHIND = 4008


def register_realtime(app: Quart) -> None:
    """Give the app its hub, the socket route, and the after-commit publisher."""
    runtime = app.extensions["stemma"]

    async def publish(topic: str, message: str) -> None:
        await runtime.broker.publish(topic, message)

    # Every session of this app can announce its committed events (app.core.events).
    runtime.session_factory.configure(info={PUBLISHER: publish})
    hub = app.extensions[HUB] = Hub(
        lambda: runtime.broker,
        render_context=app.app_context,
        table=EventsTable(runtime.session_factory),
        guard=SocketGuard(runtime.session_factory, runtime.settings),
        drawing_at_once=max(
            1,
            min(
                runtime.settings.realtime_drawings_at_once,
                runtime.settings.database_pool_size // 4,
            ),
        ),
    )
    # When the server stops, its sockets are told to reconnect elsewhere (1012).
    close_on_stop(hub)
    decline_permessage_deflate()
    _preprocess_websockets_with_their_own_values(app)
    app.register_blueprint(blueprint)

    @app.after_serving
    async def _stop_hub() -> None:
        await app.extensions[HUB].close()


def _preprocess_websockets_with_their_own_values(app: Quart) -> None:
    """Work around Quart 0.22's ``preprocess_websocket``, which hands the URL value
    preprocessors ``request.endpoint`` (there is no request in a websocket, so every
    socket fails while any preprocessor exists; ours takes the tenant slug). This is
    Quart's method with ``websocket`` in place of ``request``."""

    async def preprocess_websocket(websocket_context: Any = None) -> Any:
        current = (websocket_context or websocket_ctx).websocket
        names = [None, *reversed(current.blueprints)]
        for name in names:
            for processor in app.url_value_preprocessors[name]:
                processor(current.endpoint, current.view_args)
        for name in names:
            for function in app.before_websocket_funcs[name]:
                result = await app.ensure_async(function)()
                if result is not None:
                    return result
        return None

    app.preprocess_websocket = preprocess_websocket  # type: ignore[method-assign]


def origin_allowed(origin: str | None, base_url: str, host: str | None) -> bool:
    """Whether a browser page at ``origin`` may open our socket: our configured address,
    or the host the request was sent to (a page a browser loaded from us)."""
    if not origin:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    ours = urlsplit(base_url)
    if (parts.scheme, parts.netloc.lower()) == (ours.scheme, ours.netloc.lower()):
        return True
    return host is not None and parts.netloc.lower() == host.lower()


def _refusal(status: int) -> Response:
    # An HTTP answer before the handshake: the browser sees the socket fail to open.
    return Response("", status=status)


@blueprint.websocket("/<tenant>/ws")
async def live_socket() -> Response | None:
    """Open a live socket for a member of the tenant (session cookie or ticket)."""
    # The app's error handlers answer HTTP requests (they read ``request``): a failure
    # here is logged and ends this socket, and never reaches them.
    try:
        return await _serve_socket()
    except Exception:
        log.exception("live socket failed on %s", websocket.path)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(1011, "server error"), CLOSE_SECONDS)
        return None


async def _serve_socket() -> Response | None:
    runtime = current_app.extensions["stemma"]
    settings: Settings = runtime.settings
    origin = websocket.headers.get("Origin")
    ticket = websocket.args.get("ticket")
    if origin is not None and not origin_allowed(
        origin, settings.base_url, websocket.headers.get("Host")
    ):
        return _refusal(403)
    # The cookie rides along on any page's socket, so it counts only from our own
    # pages; a ticket is a secret of its own and may come from a non-browser client.
    if ticket is None and origin is None:
        return _refusal(403)
    hub: Hub = current_app.extensions[HUB]
    connection = await _open(hub, runtime, settings, ticket)
    if isinstance(connection, Response):
        return connection
    with tenant_scope(connection.member.tenant_id):
        await connection.serve()
    return None


async def _open(
    hub: Hub, runtime: Any, settings: Settings, ticket: str | None
) -> LiveConnection | Response:
    """Identify the user, accept the socket and answer the topics in its URL: the
    connection, or the refusal to answer with. Its own coroutine, so that the database
    session and the ORM objects it used are gone before the socket starts its long
    life (a serving frame would keep them, some kilobytes a socket)."""
    connection: LiveConnection | None = None
    # Before the rights are read: news of a change to them from now on reaches this
    # socket, even news that comes before the hub knows it (``Hub.add``).
    opened_at = time.monotonic()
    try:
        # One database session identifies the user and answers the first request.
        async with runtime.session_factory() as db:
            found = await _identify(db, settings, g.get("tenant_slug"), ticket)
            if isinstance(found, int):
                return _refusal(found)
            await websocket.accept()
            connection = LiveConnection(
                hub,
                runtime.session_factory,
                cast(Any, websocket)._get_current_object(),
                found,
            )
            connection.subscriber.opened_at = opened_at
            with tenant_scope(found.member.tenant_id):
                await connection.begin(
                    db, websocket.args.get("topics", ""), websocket.args.get("last_event_id")
                )
        return connection
    except BaseException:
        # Gone however it ended (also when the client left during the first request).
        if connection is not None:
            hub.remove(connection.subscriber)
        raise


async def _identify(
    db: AsyncSession,
    settings: Settings,
    slug: str | None,
    ticket: str | None,
) -> Grant | int:
    """Who the socket serves in the URL's tenant and on what authority, or the HTTP
    status to refuse with:
    404 for an unknown tenant or a non-member (as if it did not exist), 401 when
    nobody is signed in or the ticket is not (or no longer) good."""
    if not slug:
        return 404
    # A municipality's slug and id never change (nothing renames or removes one), so
    # each is looked up once, not by each of thousands of sockets coming back after a
    # process died. Unknown slugs are not kept: probing cannot fill the mapping.
    known: dict[str, int] = current_app.extensions.setdefault(TENANT_IDS, {})
    tenant_id = known.get(slug)
    if tenant_id is None:
        tenant = await get_tenant_by_slug(db, slug)
        if tenant is None:
            return 404
        tenant_id = known[slug] = tenant.id
    with tenant_scope(tenant_id):
        if ticket is not None:
            redeemed = await redeem_ticket(db, ticket)
            return redeemed if isinstance(redeemed, int) else Grant(redeemed)
        token = session.get(SESSION_KEY)
        found = await resume_signed_in(db, str(token), settings) if token else None
        if found is None:
            return 401
        user, auth = found
        membership = await active_membership(db, user.id, tenant_id)
        # An active user who is not a member here meets a tenant that does not exist.
        if membership is None:
            return 404
        # The language the page that opened the socket is in, as a request would choose
        # it (the municipality's own when neither is set): live fragments are drawn in it.
        language = next(
            (code for code in (session.get("lang"), user.locale) if code in SUPPORTED_LOCALES),
            "",
        )
        return Grant(
            Member.of(membership), auth.id, session_lapses_at(auth, settings), locale=language
        )


class LiveConnection:
    """One accepted socket: its requests, its subscription and its single sender."""

    # Thousands live at once: no dictionary each.
    __slots__ = ("grant", "hub", "session_factory", "socket", "subscriber")

    def __init__(
        self,
        hub: Hub,
        session_factory: async_sessionmaker[AsyncSession],
        socket: Any,
        grant: Grant,
    ) -> None:
        self.hub = hub
        self.session_factory = session_factory
        self.socket = socket
        self.grant = grant
        member = grant.member
        self.subscriber = hub.new_subscriber(
            member.tenant_id, member.user_id, grant, locale=grant.locale
        )
        self.subscriber.recheck_at = grant.recheck_at()

    @property
    def member(self) -> Member:
        """Who the socket serves, with the role as the hub last found it."""
        return self.grant.member

    async def begin(self, db: AsyncSession, topics: str, last_event_id: str | None) -> None:
        """Answer the topics the socket asked for in its URL, with the caller's session."""
        # Known to the hub from the start, topics or not: its rights are watched.
        self.hub.add(self.subscriber, set())
        # Without the subscription in place, live events could slip past between the
        # replay query and the first delivery; Redis down: go on, the hub makes every
        # socket replay once it is back.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(READY_SECONDS):
                await self.hub.wait_ready()
        if topics:
            await self.request([t for t in topics.split(",") if t], last_event_id, db)

    async def serve(self) -> None:
        """Run until the client leaves or falls behind. Only the sender task writes to
        the socket, so replayed and live events never interleave."""
        subscriber = self.subscriber
        tasks: list[asyncio.Task[None]] = []
        try:
            tasks = [
                asyncio.create_task(self._send_loop()),
                asyncio.create_task(self._receive_loop()),
            ]
            # Either task ending ends the socket, as falling behind does: one future
            # to wait on, not asyncio.wait's set, waiter and callbacks per socket.
            for task in tasks:
                task.add_done_callback(self._task_ended)
            await subscriber.ended
            if subscriber.fell_behind:
                log.info("live socket fell behind and was closed")
                await self._close(tasks, FELL_BEHIND, "fell behind")
            elif subscriber.close_code == SERVICE_RESTART:
                await self._close(tasks, SERVICE_RESTART, "service restart")
            elif subscriber.close_code is not None:
                await self._close(tasks, subscriber.close_code, "access withdrawn")
            for task in tasks:
                if task.done() and not task.cancelled():
                    task.result()  # re-raise a failure of the sender or the receiver
        finally:
            self.hub.remove(subscriber)
            subscriber.end()
            for task in tasks:
                task.cancel()
            # Shielded from our own cancellation: the children must be gone before we are.
            if tasks:
                await asyncio.shield(asyncio.gather(*tasks, return_exceptions=True))

    def _task_ended(self, _task: asyncio.Task[None]) -> None:
        self.subscriber.end()

    async def request(
        self, topics: list[str], last_event_id: Any, db: AsyncSession | None = None
    ) -> None:
        """Check each asked-for topic, subscribe the allowed ones and queue the replay.

        ``db`` is the socket's opening session, passed while its sender has not started:
        the replay is then read at once in that session (one transaction fewer for each
        of thousands of sockets coming back after a process died). A later request has
        a session of its own and leaves the reading to the sender.
        """
        after_id = _parse_event_id(last_event_id)
        if last_event_id is not None and after_id is None:
            self._notice({"type": "ws.error", "code": "bad_last_event_id"})
            return
        opening = db is not None
        subscriber = self.subscriber
        allowed: set[str] = set()
        own = self.session_factory() if db is None else contextlib.nullcontext(db)
        async with own as db:
            for topic in dict.fromkeys(topics):
                if topic in subscriber.topics:
                    allowed.add(topic)
                    continue
                if len(subscriber.topics) + len(allowed) >= MAX_TOPICS:
                    self._notice({"type": "ws.error", "code": "too_many_topics", "topic": topic})
                    continue
                refusal = await refuse_topic(db, self.member, topic)
                if refusal is None:
                    allowed.add(topic)
                else:
                    self._notice({"type": "ws.error", "code": refusal, "topic": topic})
            if not allowed:
                return
            # Replays after a broker break start from what the client already has:
            # the id it resumes after, or (asking for no past) the newest event now.
            # Never from the beginning, which would send a resumed page its past again.
            start = after_id if after_id is not None else await latest_event_id(db, allowed)
            subscriber.cursor = max(subscriber.cursor, start)
            # The cursor a client without one keeps until an event brings a newer id:
            # after a reconnect it asks for what came since, instead of losing what
            # came between.
            subscribed = self._notice_item(
                {"type": "ws.subscribed", "topics": sorted(allowed), "last_event_id": start}
            )
            chosen = frozenset(allowed)
            if after_id is not None and opening:
                # Listening first, then reading: whatever is committed after the read
                # comes live, queued behind the replay, which goes ahead of it (and what
                # both bring is sent once).
                mark = subscriber.queued
                self.hub.add(subscriber, allowed)
                events, latest = await _read_replay(db, allowed, after_id)
                subscriber.put_at(mark, subscribed, Replay(chosen, after_id, events, latest))
                return
        subscriber.offer(subscribed)
        if after_id is not None:
            # Queued before the hub may deliver anything newer, so the replay comes first.
            subscriber.offer(Replay(chosen, after_id))
        self.hub.add(subscriber, allowed)
        if after_id is None and self.hub.heard_after(allowed, start):
            # An event came through while the newest id was being read, before this
            # socket listened: replay from that id (what also comes live is sent once).
            subscriber.offer(Replay(chosen, start))

    @staticmethod
    def _notice_item(message: dict[str, Any]) -> Delivery:
        return Delivery((), json.dumps(message, separators=(",", ":")))

    def _notice(self, message: dict[str, Any]) -> None:
        self.subscriber.offer(self._notice_item(message))

    async def _receive_loop(self) -> None:
        while True:
            raw = await self.socket.receive()
            try:
                message = json.loads(raw)
                topics = message["topics"]
                if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
                    raise TypeError("topics")
            except (ValueError, KeyError, TypeError):
                self._notice({"type": "ws.error", "code": "bad_request"})
                continue
            await self.request(topics, message.get("last_event_id"))

    async def _send_loop(self) -> None:
        subscriber = self.subscriber
        while (item := await subscriber.next()) is not None:
            if isinstance(item, Replay):
                await self._replay(item)
            elif item.topic is not None and item.topic not in subscriber.topics:
                continue  # drawn before its topic was withdrawn from this socket
            elif not item.event_ids:
                await self.socket.send(item.text)
            elif subscriber.brings_news(item.event_ids):
                await self.socket.send(item.text)
                subscriber.mark_sent(item.event_ids)

    async def _replay(self, replay: Replay) -> None:
        subscriber = self.subscriber
        topics = replay.topics & subscriber.topics
        after_id = replay.after_id if replay.after_id is not None else subscriber.cursor
        if replay.events is not None:
            events, latest = replay.events, replay.latest
        else:
            async with self.session_factory() as db:
                events, latest = await _read_replay(db, topics, after_id)
        if len(events) > REPLAY_LIMIT:
            subscriber.cursor = max(subscriber.cursor, latest)
            message = {"type": "ws.snapshot", "topics": sorted(topics), "last_event_id": latest}
            await self.socket.send(json.dumps(message, separators=(",", ":")))
            return
        # Drawn in batches as the hub draws live events: a dashboard catching up on a
        # hundred check-ins gets its rows drawn once, not a hundred times.
        missing = deque(event for event in events if not subscriber.was_sent(event.id))
        while missing:
            for delivery in await self.hub.draw(take_batch(missing), self.subscriber.locale):
                await self.socket.send(delivery.text)
                subscriber.mark_sent(delivery.event_ids)

    async def _close(self, tasks: list[asyncio.Task[None]], code: int, reason: str) -> None:
        # The sender may be stuck writing to a client that stopped reading; stop it,
        # then close. The close frame waits behind unread data, so give up after a while.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.socket.close(code, reason), CLOSE_SECONDS)


async def _read_replay(
    db: AsyncSession, topics: Iterable[str], after_id: int
) -> tuple[tuple[LiveEvent, ...], int]:
    """The events on ``topics`` after ``after_id`` (one more than a replay sends, to
    tell a larger gap), and the newest id when there are more than that (else 0)."""
    rows = await events_after(db, topics, after_id, REPLAY_LIMIT + 1)
    latest = await latest_event_id(db, topics) if len(rows) > REPLAY_LIMIT else 0
    return tuple(LiveEvent.from_row(row) for row in rows), latest


def _parse_event_id(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    # The events' ids are 32-bit integers (PostgreSQL refuses a larger one in a query).
    return number if 0 <= number <= MAX_ID else None
