"""The live socket against a real Hypercorn: who gets in, which topics, replay, falling behind."""

from __future__ import annotations

import asyncio
import socket as socketlib
from typing import Any

import pytest
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.core.events import ops_topic, station_topic, user_topic, wait_for_publishing
from app.core.models import Event, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment
from app.realtime import ws as live
from app.realtime.access import holds_place_at_station
from app.realtime.hub import Hub
from tests.factories import make_clerk, make_election, make_staffed_station
from tests.realtime.conftest import (
    ORIGIN,
    open_socket,
    receive,
    receive_event,
    record,
    session_cookie,
    ws_url,
)


async def _refused_status(app: Quart, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(app, **kwargs):
            pass
    return refused.value.response.status_code


async def test_it_delivers_a_committed_event_to_a_subscribed_socket(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    before = await record(db, tenant.id, topic, "station.opened", station="Backaskolan")
    cookie = await session_cookie(app, coordinator)
    async with open_socket(app, cookie, topics=topic) as socket:
        # No past asked for: the answer names the newest event, the client's cursor.
        assert await receive(socket) == {
            "type": "ws.subscribed",
            "topics": [topic],
            "last_event_id": before.id,
        }
        event = await record(db, tenant.id, topic, "station.opened", station="Hamnskolan")
        assert await receive_event(socket) == {
            "id": event.id,
            "topic": topic,
            "type": "station.opened",
            "payload": {"station": "Hamnskolan"},
        }
        # Compression is declined: each socket would otherwise hold its own zlib state.
        assert socket.response.headers.get("Sec-WebSocket-Extensions") is None


async def test_a_client_without_a_cursor_resumes_from_the_one_it_was_subscribed_at(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    """A socket that never received an event still loses nothing across a reconnect:
    it resumes after the id its subscription answer named."""
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    cookie = await session_cookie(app, coordinator)
    async with open_socket(app, cookie, topics=topic) as socket:
        cursor = (await receive(socket))["last_event_id"]
    missed = [await record(db, tenant.id, topic, number=n) for n in (1, 2)]
    async with open_socket(app, cookie, topics=topic, last_event_id=cursor) as socket:
        assert (await receive(socket))["last_event_id"] == cursor
        assert [(await receive_event(socket))["id"] for _ in missed] == [e.id for e in missed]


async def test_it_subscribes_with_a_first_message_instead_of_the_query(
    app: Quart, db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    own = user_topic(tenant.id, clerk.id)
    async with open_socket(app, await session_cookie(app, clerk)) as socket:
        await socket.send('{"topics": ["' + own + '"]}')
        assert await receive(socket) == {
            "type": "ws.subscribed",
            "topics": [own],
            "last_event_id": 0,
        }
        await socket.send("not json")
        assert (await receive(socket))["code"] == "bad_request"
        event = await record(db, tenant.id, own, "assignment.offered")
        assert (await receive_event(socket))["id"] == event.id


async def test_it_lets_a_clerk_hear_only_their_own_station_and_user_topics(
    app: Quart,
    db: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
    clerk: User,
    coordinator: User,
) -> None:
    mine = await make_staffed_station(db, tenant)
    other = await make_staffed_station(db, tenant, mine["election"], name="Domkyrkoskolan")
    person = await make_clerk(db, tenant, mine["election"])
    with tenant_scope(tenant.id):
        person.user_id = clerk.id
        db.add(
            Assignment(
                election_id=mine["election"].id,
                station_id=mine["station"].id,
                shift_id=mine["early"].id,
                role_type_id=mine["roles"]["clerk"].id,
                person_id=person.id,
                state="accepted",
            )
        )
        await db.commit()
    own_station = station_topic(tenant.id, mine["station"].id)
    foreign_station = station_topic(tenant.id, other["station"].id)
    ops = ops_topic(tenant.id, mine["election"].id)
    someone_else = user_topic(tenant.id, coordinator.id)
    topics = ",".join([own_station, foreign_station, ops, someone_else, "t:1:nonsense"])
    async with open_socket(app, await session_cookie(app, clerk), topics=topics) as socket:
        notices = [await receive(socket) for _ in range(5)]
        refused = {n["topic"]: n["code"] for n in notices if n["type"] == "ws.error"}
        assert refused == {
            foreign_station: "forbidden",
            ops: "forbidden",
            someone_else: "forbidden",
            "t:1:nonsense": "bad_topic",
        }
        assert notices[-1] == {"type": "ws.subscribed", "topics": [own_station], "last_event_id": 0}
        await record(db, tenant.id, foreign_station)
        await record(db, tenant.id, ops)
        heard = await record(db, tenant.id, own_station)
        assert (await receive_event(socket))["id"] == heard.id
    # The coordinator hears every station of the tenant.
    async with open_socket(
        app, await session_cookie(app, coordinator), topics=foreign_station
    ) as socket:
        assert (await receive(socket))["topics"] == [foreign_station]
    # The place is looked up in the tenant's scope only (plain SQL, the tenant named).
    station_id, user_id = mine["station"].id, clerk.id
    with tenant_scope(tenant.id):
        assert await holds_place_at_station(db, user_id, station_id)
    with tenant_scope(other_tenant.id):
        assert not await holds_place_at_station(db, user_id, station_id)


async def test_it_refuses_an_outsider_anonymous_and_another_tenants_topics(
    app: Quart, db: AsyncSession, tenant: Tenant, other_tenant: Tenant, admin: User, outsider: User
) -> None:
    assert await _refused_status(app, cookie=await session_cookie(app, outsider)) == 404
    assert await _refused_status(app) == 401
    assert (
        await _refused_status(app, cookie=await session_cookie(app, admin), tenant="nowhere") == 404
    )
    foreign = ops_topic(other_tenant.id, 1)
    async with open_socket(app, await session_cookie(app, admin), topics=foreign) as socket:
        assert await receive(socket) == {"type": "ws.error", "code": "forbidden", "topic": foreign}


async def test_it_looks_a_municipality_up_once_and_never_keeps_an_unknown_one(
    app: Quart, tenant: Tenant, other_tenant: Tenant, admin: User, monkeypatch: Any
) -> None:
    from app.core.accounts import municipalities

    looked_up: list[str] = []
    find = municipalities.get_tenant_by_slug

    async def counted(session: AsyncSession, slug: str) -> Tenant | None:
        looked_up.append(slug)
        return await find(session, slug)

    # ws imports it at the top, so the name it calls is its own.
    monkeypatch.setattr(live, "get_tenant_by_slug", counted)
    cookie = await session_cookie(app, admin)
    for _ in range(2):
        async with open_socket(app, cookie):
            pass
        assert await _refused_status(app, cookie=cookie, tenant="nowhere") == 404
    # Malmö is known, but the admin of Lund is a stranger there.
    assert await _refused_status(app, cookie=cookie, tenant=other_tenant.slug) == 404
    assert looked_up == [tenant.slug, "nowhere", "nowhere", other_tenant.slug]
    assert app.extensions[live.TENANT_IDS] == {
        tenant.slug: tenant.id,
        other_tenant.slug: other_tenant.id,
    }


async def test_it_refuses_a_foreign_or_missing_origin_for_the_session_cookie(
    app: Quart, tenant: Tenant, admin: User
) -> None:
    cookie = await session_cookie(app, admin)
    assert await _refused_status(app, cookie=cookie, origin="http://evil.example") == 403
    assert await _refused_status(app, cookie=cookie, origin=None) == 403
    # The page's own host is accepted besides the configured base URL.
    port = app.config["TEST_WS_URL"].rsplit(":", 1)[1]
    async with open_socket(app, cookie, origin=f"http://127.0.0.1:{port}"):
        pass
    async with open_socket(app, cookie, origin=ORIGIN):
        pass


async def test_it_replays_what_a_reconnecting_socket_missed(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    elsewhere = ops_topic(tenant.id, election.id + 1000)
    cookie = await session_cookie(app, coordinator)
    async with open_socket(app, cookie, topics=topic) as socket:
        await receive(socket)
        seen = await record(db, tenant.id, topic, number=1)
        assert (await receive_event(socket))["id"] == seen.id
    missed = [await record(db, tenant.id, topic, number=n) for n in (2, 3)]
    await record(db, tenant.id, elsewhere, number=99)
    async with open_socket(app, cookie, topics=topic, last_event_id=seen.id) as socket:
        assert (await receive(socket))["type"] == "ws.subscribed"
        replayed = [await receive_event(socket) for _ in missed]
        assert [e["id"] for e in replayed] == [e.id for e in missed]
        assert [e["payload"]["number"] for e in replayed] == [2, 3]
        live_event = await record(db, tenant.id, topic, number=4)
        assert (await receive_event(socket))["id"] == live_event.id


async def _recorded_and_heard(
    app: Quart,
    session_factory: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    topic: str,
    **payload: Any,
) -> Event:
    """An event committed in a session of its own, once this process's hub has heard it
    from the broker (so a socket listening now would have it queued live)."""
    async with session_factory() as other:
        event = await record(other, tenant.id, topic, **payload)
    await wait_for_publishing()
    hub: Hub = app.extensions[live.HUB]
    for _ in range(100):
        if hub.heard_after([topic], event.id - 1):
            return event
        await asyncio.sleep(0.02)
    raise AssertionError("the hub never heard the event")


async def test_a_socket_without_a_cursor_gets_an_event_that_came_while_it_subscribed(
    app: Quart,
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    monkeypatch: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The newest id is read, then the socket starts listening: an event committed and
    published in between is neither before the cursor nor heard live, so it is replayed."""
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    slipped: list[Event] = []
    newest = live.latest_event_id

    async def newest_then_an_event(session: AsyncSession, topics: Any) -> int:
        found = await newest(session, topics)
        slipped.append(await _recorded_and_heard(app, session_factory, tenant, topic, number=1))
        return found

    monkeypatch.setattr(live, "latest_event_id", newest_then_an_event)
    cookie = await session_cookie(app, coordinator)
    async with open_socket(app, cookie, topics=topic) as socket:
        subscribed = await receive(socket)
        assert subscribed["last_event_id"] < slipped[0].id
        assert (await receive_event(socket))["id"] == slipped[0].id
        later = await record(db, tenant.id, topic, number=2)
        assert (await receive_event(socket))["id"] == later.id


async def test_a_resuming_socket_gets_its_replay_first_and_what_came_meanwhile_once(
    app: Quart,
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    monkeypatch: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A socket opened with a cursor listens, then reads its replay in its opening
    session: an event heard live before the read (and so in it too) and one committed
    after the read both arrive once, after the replay, in order."""
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    cookie = await session_cookie(app, coordinator)
    async with open_socket(app, cookie, topics=topic) as socket:
        cursor = (await receive(socket))["last_event_id"]
    missed = [await record(db, tenant.id, topic, number=n) for n in (1, 2)]
    meanwhile: list[Event] = []
    read = live.events_after

    async def read_with_events_around(session: AsyncSession, *args: Any) -> list[Event]:
        # Heard (so queued live) before the read, and in the read as well ...
        meanwhile.append(await _recorded_and_heard(app, session_factory, tenant, topic, number=3))
        rows = await read(session, *args)
        # ... and only live.
        meanwhile.append(await _recorded_and_heard(app, session_factory, tenant, topic, number=4))
        return rows

    monkeypatch.setattr(live, "events_after", read_with_events_around)
    async with open_socket(app, cookie, topics=topic, last_event_id=cursor) as socket:
        assert (await receive(socket))["type"] == "ws.subscribed"
        received = [(await receive_event(socket))["id"] for _ in range(4)]
        assert received == [event.id for event in missed + meanwhile]
        monkeypatch.setattr(live, "events_after", read)
        later = await record(db, tenant.id, topic, number=5)
        assert (await receive_event(socket))["id"] == later.id


async def test_it_sends_a_snapshot_notice_when_too_much_was_missed(
    app: Quart, db: AsyncSession, tenant: Tenant, coordinator: User, monkeypatch: Any
) -> None:
    monkeypatch.setattr(live, "REPLAY_LIMIT", 2)
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    events = [await record(db, tenant.id, topic, number=n) for n in range(4)]
    cookie = await session_cookie(app, coordinator)
    async with open_socket(app, cookie, topics=topic, last_event_id=0) as socket:
        await receive(socket)
        assert await receive(socket) == {
            "type": "ws.snapshot",
            "topics": [topic],
            "last_event_id": events[-1].id,
        }
        later = await record(db, tenant.id, topic, number=5)
        assert (await receive_event(socket))["id"] == later.id


async def test_it_drops_a_socket_that_stops_reading_while_others_keep_receiving(
    app: Quart,
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub: Hub = app.extensions[live.HUB]
    hub.queue_size = 4
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    cookie = await session_cookie(app, coordinator)
    # A client that reads nothing: a tiny receive buffer and no client-side queue to hide in.
    raw = socketlib.socket()
    raw.setsockopt(socketlib.SOL_SOCKET, socketlib.SO_RCVBUF, 4096)
    raw.setblocking(False)
    port = int(app.config["TEST_WS_URL"].rsplit(":", 1)[1])
    await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", port))
    slow = await connect(
        ws_url(app, topics=topic),
        sock=raw,
        origin=ORIGIN,  # type: ignore[arg-type]
        additional_headers={"Cookie": cookie},
        proxy=None,
        max_queue=1,
        max_size=None,
    )
    try:
        async with open_socket(app, cookie, topics=topic) as fast:
            await receive(fast)
            assert (await receive(slow))["type"] == "ws.subscribed"
            blob = "x" * 64_000
            # Megabytes pile up in the slow socket's buffers until its queue overflows;
            # the fast one hears each event as it comes, all along.
            for _ in range(300):
                event = await record(db, tenant.id, topic, "test.big", blob=blob)
                assert (await receive_event(fast))["id"] == event.id
                if hub.socket_count == 1:
                    break
            assert hub.socket_count == 1  # the slow one was let go, the fast one stays
            # The slow client, reading at last, finds the 4008 close behind what was
            # buffered (read soon enough: the server waits only so long to close).
            slow_closed = asyncio.create_task(_close_code(slow))
            after = await record(db, tenant.id, topic, "test.small")
            assert (await receive_event(fast))["id"] == after.id
        # Hypercorn drops the TCP connection right after its close frame; a pong the
        # client sends while catching up may then meet a reset that discards the unread
        # close frame. Either way the client learns it must reconnect and resync.
        assert await slow_closed in (live.FELL_BEHIND, None)
        assert "live socket fell behind and was closed" in caplog.messages
    finally:
        await slow.close()


async def _close_code(socket: Any) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), 10)
    return closed.value.rcvd.code if closed.value.rcvd else None
