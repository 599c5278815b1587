"""The cursor under concurrent commits: event ids come from a sequence when a row is
flushed, but transactions commit in another order. A lower id committed after a
higher one must still reach a socket that resumed after the higher one (replay), and
sockets that stay connected when its process never published it (the sweep).

Two writers at once need PostgreSQL (SQLite has one writer: commit order is id order).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from quart import Quart
from sqlalchemy import Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import create_session_factory
from app.core.events import ops_topic, record_event, wait_for_publishing
from app.core.models import Event, Tenant, User
from app.core.tenancy import tenant_scope
from app.realtime import hub as hub_module
from app.realtime.committed import EventsTable, Position
from app.realtime.ws import HUB
from tests.conftest import TEST_DATABASE_URL
from tests.factories import make_election
from tests.realtime.conftest import open_socket, receive, receive_event, record, session_cookie

postgres_only = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="two transactions at once need PostgreSQL"
)


@contextlib.asynccontextmanager
async def flushed_not_committed(
    factory: async_sessionmaker[AsyncSession], tenant_id: int, topic: str, number: int
) -> AsyncIterator[tuple[AsyncSession, Event]]:
    """An event that has its id (flushed) in a transaction still open; the caller
    commits it (or it rolls back on leaving)."""
    async with factory() as session:
        with tenant_scope(tenant_id):
            event = await record_event(
                session, topic=topic, type="test.happened", payload={"number": number}
            )
            yield session, event


@postgres_only
async def test_a_lower_id_committed_after_a_reconnect_is_replayed(
    app: Quart,
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    coordinator: User,
) -> None:
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    cookie = await session_cookie(app, coordinator)
    async with flushed_not_committed(session_factory, tenant.id, topic, 1) as (slow, early):
        async with open_socket(app, cookie, topics=topic) as socket:
            await receive(socket)
            later = await record(db, tenant.id, topic, number=2)
            assert later.id > early.id
            assert (await receive_event(socket))["id"] == later.id
        # The socket is gone (a phone's blink, a killed process); the lower id commits
        # while it is away, and its news reaches nobody who listens.
        with tenant_scope(tenant.id):
            await slow.commit()
        await wait_for_publishing()
    async with open_socket(app, cookie, topics=topic, last_event_id=later.id) as socket:
        assert (await receive(socket))["type"] == "ws.subscribed"
        assert (await receive_event(socket))["id"] == early.id
        newest = await record(db, tenant.id, topic, number=3)
        assert (await receive_event(socket))["id"] == newest.id
        with pytest.raises(TimeoutError):
            await receive_event(socket, seconds=0.5)  # and nothing twice


@postgres_only
async def test_a_lower_id_never_published_and_committed_late_reaches_the_sockets_by_the_sweep(
    app: Quart,
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    coordinator: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its process died between commit and publish, and it committed long after a
    higher id: the sweep finds it however late it commits."""
    monkeypatch.setattr(hub_module, "SWEEP_SECONDS", 0.1)
    monkeypatch.setattr(hub_module, "SWEEP_GRACE_SECONDS", 0.1)
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    cookie = await session_cookie(app, coordinator)
    silent = create_session_factory(session_factory.kw["bind"])
    async with open_socket(app, cookie, topics=topic) as socket:
        await receive(socket)
        await asyncio.sleep(0.4)  # the sweep has taken its starting point
        async with flushed_not_committed(silent, tenant.id, topic, 1) as (slow, early):
            async with silent() as quiet:
                later = await record(quiet, tenant.id, topic, number=2)
            assert (await receive_event(socket, seconds=5))["id"] == later.id
            # Many sweeps pass over the higher id while the lower one is still open.
            await asyncio.sleep(1.5)
            with tenant_scope(tenant.id):
                await slow.commit()
        assert (await receive_event(socket, seconds=5))["id"] == early.id
        with pytest.raises(TimeoutError):
            await receive_event(socket, seconds=0.5)  # and nothing twice


@postgres_only
async def test_a_long_transaction_elsewhere_neither_stalls_the_sweep_nor_hides_its_lag(
    app: Quart,
    db: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    other_tenant: Tenant,
    coordinator: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another municipality's transaction stays open (an import, a stuck session):
    this one's unpublished events still come by the sweep within its period, and the
    hub tells how long the oldest open transaction has held the sweep's reach back."""
    monkeypatch.setattr(hub_module, "SWEEP_SECONDS", 0.1)
    monkeypatch.setattr(hub_module, "SWEEP_GRACE_SECONDS", 0.1)
    election = await make_election(db, tenant)
    other_election = await make_election(db, other_tenant)
    topic = ops_topic(tenant.id, election.id)
    elsewhere = ops_topic(other_tenant.id, other_election.id)
    cookie = await session_cookie(app, coordinator)
    silent = create_session_factory(session_factory.kw["bind"])
    hub = app.extensions[HUB]
    async with open_socket(app, cookie, topics=topic) as socket:
        await receive(socket)
        await asyncio.sleep(0.4)
        async with flushed_not_committed(session_factory, other_tenant.id, elsewhere, 1) as (
            long,
            _event,
        ):
            long_txid = int(await long.scalar(select(cast(func.pg_current_xact_id(), Text))))
            for number in range(3):
                async with silent() as quiet:
                    lost = await record(quiet, tenant.id, topic, number=number)
                started = asyncio.get_running_loop().time()
                assert (await receive_event(socket, seconds=5))["id"] == lost.id
                assert asyncio.get_running_loop().time() - started < 2.0
                await asyncio.sleep(0.5)
            lag = hub.sweep_lag()
            # The open transaction (or an older one: the database is shared) holds the
            # reach back, and the hub says for how long.
            assert lag.held_by is not None and lag.held_by <= long_txid
            assert lag.held_seconds >= 1.0
            assert lag.behind_seconds < 2.0  # yet the sweep keeps up
        await asyncio.sleep(0.5)
        assert hub.sweep_lag().held_by != long_txid  # and lets go once it ends


async def test_the_table_gives_each_commit_to_the_one_window_it_fell_in(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant
) -> None:
    """Positions taken one after another split the commits between them: each event
    once, in the window its transaction committed in (on SQLite: its id's)."""
    table = EventsTable(session_factory)
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    start = await table.position(tenant.id)
    first = await record(db, tenant.id, topic, number=1)
    middle = await table.position(tenant.id)
    second = await record(db, tenant.id, topic, number=2)
    third = await record(db, tenant.id, topic, number=3)
    end = await table.position(tenant.id)
    assert await table.since(tenant.id, start, middle) == [(first.id, topic)]
    assert await table.since(tenant.id, middle, end) == [(second.id, topic), (third.id, topic)]
    assert await table.since(tenant.id, end, await table.position(tenant.id)) == []
    assert await table.since(tenant.id + 1, start, end) == []  # another tenant's: none


@postgres_only
async def test_the_table_gives_a_late_lower_id_to_the_window_it_committed_in(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant
) -> None:
    table = EventsTable(session_factory)
    election = await make_election(db, tenant)
    topic = ops_topic(tenant.id, election.id)
    async with flushed_not_committed(session_factory, tenant.id, topic, 1) as (slow, early):
        start = await table.position(tenant.id)
        later = await record(db, tenant.id, topic, number=2)
        middle = await table.position(tenant.id)
        # The open transaction holds the reach back (named once another one has ended
        # since it began: PostgreSQL reuses a snapshot until one does).
        assert middle.held_by is not None
        with tenant_scope(tenant.id):
            await slow.commit()
    end = await table.position(tenant.id)
    assert later.id > early.id
    assert await table.since(tenant.id, start, middle) == [(later.id, topic)]
    assert await table.since(tenant.id, middle, end) == [(early.id, topic)]


def test_a_position_names_the_oldest_open_transaction_only_when_one_is_open() -> None:
    assert Position.of_snapshot("100:105:100,103") == Position("100:105:100,103", 100)
    assert Position.of_snapshot("105:105:").held_by is None
