"""Recording events: in the caller's transaction, published only once it commits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import create_engine, create_session_factory
from app.core.events import (
    PUBLISHER,
    events_after,
    latest_event_id,
    ops_topic,
    record_event,
    record_events,
    station_topic,
    user_topic,
    wait_for_publishing,
)
from app.core.migrations import downgrade, upgrade
from app.core.models import Tenant
from app.core.tenancy import tenant_scope


def test_it_names_topics_after_the_tenant_first() -> None:
    assert ops_topic(3, 14) == "t:3:e:14:ops"
    assert station_topic(3, 15) == "t:3:station:15"
    assert user_topic(3, 92) == "t:3:user:92"


async def _capturing_factory(
    session_factory: async_sessionmaker[AsyncSession],
) -> tuple[async_sessionmaker[AsyncSession], list[tuple[str, str]]]:
    published: list[tuple[str, str]] = []

    async def publish(topic: str, message: str) -> None:
        published.append((topic, message))

    bind = session_factory.kw["bind"]
    factory = create_session_factory(bind)
    factory.configure(info={PUBLISHER: publish})
    return factory, published


async def test_it_publishes_only_committed_events_in_order(
    session_factory: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    factory, published = await _capturing_factory(session_factory)
    topic = user_topic(tenant.id, 1)
    async with factory() as db:
        with tenant_scope(tenant.id):
            await record_event(db, topic=topic, type="a.rolled_back", payload={})
            await db.rollback()
            first = await record_event(db, topic=topic, type="a.first", payload={"n": 1})
            async with db.begin_nested() as savepoint:
                await record_event(db, topic=topic, type="a.in_savepoint", payload={})
                await savepoint.rollback()
            second = await record_event(db, topic=topic, type="a.second", payload={"n": 2})
            assert published == []  # nothing before the commit
            await db.commit()
            await wait_for_publishing()
            assert [m for _t, m in published] == [
                f'{{"id":{first.id},"topic":"{topic}","type":"a.first","payload":{{"n":1}}}}',
                f'{{"id":{second.id},"topic":"{topic}","type":"a.second","payload":{{"n":2}}}}',
            ]
            rows = await events_after(db, [topic], 0, 10)
            assert [row.type for row in rows] == ["a.first", "a.second"]
            assert await latest_event_id(db, [topic]) == second.id
            assert await latest_event_id(db, ["t:1:user:999"]) == 0


async def test_it_refuses_an_event_on_another_tenants_topic(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        with pytest.raises(ValueError, match="current tenant"):
            await record_event(db, topic=user_topic(other_tenant.id, 1), type="x", payload={})
        await db.rollback()
        with pytest.raises(ValueError, match="not a topic"):
            await record_event(db, topic="everything", type="x", payload={})


async def test_it_records_one_event_on_several_topics_in_one_flush(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    topics = [user_topic(tenant.id, 1), user_topic(tenant.id, 2)]
    with tenant_scope(tenant.id):
        rows = await record_events(db, topics=topics, type="x.y", payload={"n": 1})
        assert [row.topic for row in rows] == topics and rows[0].id < rows[1].id
        await db.commit()
        assert [r.topic for r in await events_after(db, topics, 0, 10)] == topics
        with pytest.raises(ValueError, match="current tenant"):
            await record_events(
                db, topics=[topics[0], user_topic(other_tenant.id, 1)], type="x", payload={}
            )
        await db.rollback()
        assert len(await events_after(db, topics, 0, 10)) == 2


async def test_it_keeps_another_tenants_events_out_of_a_replay(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    with tenant_scope(other_tenant.id):
        await record_event(db, topic=user_topic(other_tenant.id, 1), type="x", payload={})
        await db.commit()
    with tenant_scope(tenant.id):
        # Read as plain SQL with the tenant named, not through the ORM's tenant hook.
        assert await events_after(db, [user_topic(other_tenant.id, 1)], 0, 10) == []
        assert await latest_event_id(db, [user_topic(other_tenant.id, 1)]) == 0


def test_it_migrates_the_events_tables_down_and_up(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'events.db'}"

    async def tables() -> set[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    upgrade(url)
    assert {"events", "realtime_tickets"} <= asyncio.run(tables())
    downgrade(url, "0009")
    assert not {"events", "realtime_tickets"} & asyncio.run(tables())
    upgrade(url)
    assert {"events", "realtime_tickets"} <= asyncio.run(tables())
