"""Open sockets lose what their user lost: signing out, a session lapsing, a role taken
down and a deactivated account close the socket or narrow its topics at once, on the
in-process broker and on Redis (and from another app sharing that Redis)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from app import create_app
from app.core.accounts.sessions import end_session, start_session
from app.core.accounts.users import change_role, deactivate_user
from app.core.audit import Actor
from app.core.events import ACCESS_TOPIC, access_change_message, ops_topic, user_topic
from app.core.models import AuthSession, Membership, Tenant, User, utcnow
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.realtime import hub as hub_module
from app.realtime.broker import MemoryBroker
from app.realtime.hub import Hub
from app.realtime.subscribers import NOT_ALLOWED, SIGNED_OUT, Subscriber, Verdict
from tests.factories import csrf_token, make_election
from tests.realtime.conftest import open_socket, receive, receive_event, record, serving

#: How soon a socket must learn that its rights went: generous for a loaded machine;
#: the work is one broker message and a few queries.
BOUND_SECONDS = 5.0


async def signed_in(app: Quart, user: User) -> tuple[str, str]:
    """A signed-in browser for ``user``: its session token and its cookie."""
    runtime = app.extensions["stemma"]
    async with runtime.session_factory() as db:
        token = await start_session(db, user, runtime.settings)
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return token, f"stemma={serializer.dumps({'auth': token})}"


async def close_code(socket: ClientConnection, seconds: float = BOUND_SECONDS) -> int | None:
    """The code the server closed ``socket`` with, reading (and ignoring) what comes
    before; fails when it stays open past ``seconds``."""
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(seconds):
            while True:
                await socket.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


async def _subscribed(socket: ClientConnection) -> dict[str, Any]:
    answer = await receive(socket)
    assert answer["type"] == "ws.subscribed", answer
    return answer


async def test_signing_out_closes_the_socket_the_session_opened(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    token, cookie = await signed_in(app, coordinator)
    _other_token, other_cookie = await signed_in(app, coordinator)
    async with (
        open_socket(app, cookie, topics=topic) as socket,
        open_socket(app, other_cookie, topics=topic) as other_device,
    ):
        await _subscribed(socket)
        await _subscribed(other_device)
        started = time.monotonic()
        await end_session(db, token)
        assert await close_code(socket) == SIGNED_OUT
        assert time.monotonic() - started < BOUND_SECONDS
        # The same user's other device keeps its own session, and its socket.
        event = await record(db, tenant.id, topic, "station.opened")
        assert (await receive_event(other_device))["id"] == event.id


async def test_signing_out_through_the_page_closes_the_socket(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    _token, cookie = await signed_in(app, coordinator)
    client = app.test_client()
    name, _, value = cookie.partition("=")
    client.set_cookie("localhost", name, value)
    own = user_topic(tenant.id, coordinator.id)
    async with open_socket(app, cookie, topics=own) as socket:
        await _subscribed(socket)
        csrf = await csrf_token(client, "/lund/planning/")
        response = await client.post("/logout", form={"csrf_token": csrf})
        assert response.status_code == 302
        assert await close_code(socket) == SIGNED_OUT


async def test_a_session_that_lapses_closes_its_socket_without_any_news(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    _token, cookie = await signed_in(app, coordinator)
    await db.execute(
        update(AuthSession)
        .where(AuthSession.user_id == coordinator.id)
        .values(expires_at=utcnow() + timedelta(seconds=1.5))
    )
    await db.commit()
    own = user_topic(tenant.id, coordinator.id)
    async with open_socket(app, cookie, topics=own) as socket:
        await _subscribed(socket)
        assert await close_code(socket, BOUND_SECONDS + 1.5) == SIGNED_OUT


async def test_a_coordinator_made_a_clerk_hears_no_more_of_the_operations_room(
    app: Quart, db: AsyncSession, tenant: Tenant, admin: User, coordinator: User
) -> None:
    election = await make_election(db, tenant)
    room = ops_topic(tenant.id, election.id)
    own = user_topic(tenant.id, coordinator.id)
    _token, cookie = await signed_in(app, coordinator)
    async with (
        open_socket(app, cookie, topics=f"{room},{own}") as socket,
        open_socket(app, cookie, topics=room) as dashboard,
    ):
        await _subscribed(socket)
        await _subscribed(dashboard)
        with tenant_scope(tenant.id):
            membership = await db.scalar(
                select(Membership).where(Membership.user_id == coordinator.id)
            )
            assert membership is not None
            await change_role(db, Actor.for_user(admin, "127.0.0.1"), membership.id, "clerk")
        # A socket with nothing left to hear is closed; one with its own topic goes on
        # without the room.
        assert await close_code(dashboard) == NOT_ALLOWED
        assert await receive(socket, BOUND_SECONDS) == {"type": "ws.revoked", "topics": [room]}
        await record(db, tenant.id, room, "station.opened")
        news = await record(db, tenant.id, own, "assignment.offered")
        assert await receive_event(socket) == {
            "id": news.id,
            "topic": own,
            "type": "assignment.offered",
            "payload": {},
        }
        # Asking for the room again is refused with the new role.
        await socket.send('{"topics": ["' + room + '"]}')
        assert await receive(socket) == {"type": "ws.error", "code": "forbidden", "topic": room}


async def test_a_deactivated_account_loses_its_sockets(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    own = user_topic(tenant.id, coordinator.id)
    _token, cookie = await signed_in(app, coordinator)
    async with open_socket(app, cookie, topics=own) as socket:
        await _subscribed(socket)
        await deactivate_user(db, Actor.system("test"), coordinator.id)
        assert await close_code(socket) == SIGNED_OUT
    assert await db.scalar(select(AuthSession).where(AuthSession.user_id == coordinator.id)) is None


async def test_news_from_another_app_on_the_same_redis_closes_the_socket(
    app: Quart, settings: Settings, tenant: Tenant, coordinator: User
) -> None:
    """Two apps sharing one Redis stand for two processes: the socket is on one, the
    sign-out happens on the other."""
    if not settings.redis_url:
        pytest.skip("needs Redis (STEMMA_TEST_REDIS_URL)")
    other = create_app(settings)
    async with serving(other) as other_url:
        other.config["TEST_WS_URL"] = other_url
        token, cookie = await signed_in(app, coordinator)
        own = user_topic(tenant.id, coordinator.id)
        async with open_socket(other, cookie, topics=own) as socket:
            await _subscribed(socket)
            async with app.extensions["stemma"].session_factory() as db:
                await end_session(db, token)
            assert await close_code(socket) == SIGNED_OUT


class ScriptedGuard:
    """A guard answering from a script: an exception is raised, a verdict returned."""

    def __init__(self, *answers: Verdict | Exception) -> None:
        self.answers = list(answers)
        self.reviewed: list[int] = []
        self.looked = asyncio.Event()

    async def review(self, subscriber: Subscriber) -> Verdict:
        self.reviewed.append(subscriber.user_id)
        self.looked.set()
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_the_hub_narrows_closes_and_retries_what_its_guard_says(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hub's own timer must not take the scripted answers meant for the calls below.
    monkeypatch.setattr(hub_module, "GUARD_RETRY_SECONDS", 600.0)
    broker = MemoryBroker()
    guard = ScriptedGuard(
        OSError("database away"),
        Verdict(drop=frozenset({"t:1:station:1"})),
        Verdict(drop=frozenset({"t:1:station:2"})),
    )
    hub = Hub(lambda: broker, guard=guard)
    mine, theirs = hub.new_subscriber(1, user_id=7), hub.new_subscriber(1, user_id=8)
    try:
        hub.add(mine, {"t:1:station:1", "t:1:station:2"})
        hub.add(theirs, {"t:1:station:1"})
        await hub.wait_ready()
        # A fragment already queued for the topic about to be withdrawn.
        hub._dispatch("t:1:station:1", '{"id": 1, "topic": "t:1:station:1", "type": "x"}')
        await broker.publish(ACCESS_TOPIC, access_change_message(7))
        # The first look fails: looked at again a little later, not trusted meanwhile.
        await asyncio.wait_for(guard.looked.wait(), 5)
        assert "a socket's rights were not checked (OSError)" in caplog.text
        assert mine.recheck_at > time.monotonic()
        mine.recheck_at = 0.0
        assert await hub.review_due() == 1
        assert mine.topics == {"t:1:station:2"} and not mine.ended.done()
        queued = [await mine.next(), await mine.next()]
        assert [item.topic for item in queued] == ["t:1:station:1", None]  # type: ignore[union-attr]
        assert "ws.revoked" in queued[1].text  # type: ignore[union-attr]
        # Nothing left to hear: closed as not allowed. The other user was never looked at.
        mine.recheck_at = 0.0
        assert await hub.review_due() == 1
        assert mine.ended.done() and mine.close_code == NOT_ALLOWED
        assert guard.reviewed == [7, 7, 7]
        assert not theirs.ended.done() and hub.socket_count == 1
    finally:
        await hub.close()
