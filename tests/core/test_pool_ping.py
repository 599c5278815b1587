"""A pooled PostgreSQL connection is pinged before use only after lying idle: one
handed back moments ago goes out as it is (asyncpg's ping is three round trips), one
the server ended meanwhile is replaced without the caller seeing an error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core import db as db_module
from app.core.db import create_engine
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL, reason="the pool pings PostgreSQL's connections only"
)


@pytest.fixture
async def engine(migrated_database: str) -> AsyncIterator[AsyncEngine]:
    # The owner's URL: it may end another connection's server process.
    engine = create_engine(migrated_database, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def pings(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    counted: list[int] = []
    dialect = engine.sync_engine.dialect
    ping = dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        counted.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting)
    return counted


async def _backend(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")))


async def test_a_connection_handed_back_moments_ago_is_not_pinged(
    engine: AsyncEngine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", 3600.0)
    first = await _backend(engine)
    pinged = len(pings)  # the new connection's first checkout may ping it
    for _use in range(5):
        assert await _backend(engine) == first
    assert len(pings) == pinged


async def test_a_connection_that_lay_idle_is_pinged(
    engine: AsyncEngine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", 0.0)
    first = await _backend(engine)
    pinged = len(pings)
    for _use in range(3):
        assert await _backend(engine) == first
    assert len(pings) == pinged + 3


async def test_an_idle_connection_the_server_ended_is_replaced(
    engine: AsyncEngine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", 0.0)
    first = await _backend(engine)
    await _terminate(engine, first)
    # The ping finds it dead and the pool gives a new one: no error reaches the caller.
    second = await _backend(engine)
    assert second != first


async def test_without_the_ping_the_ended_connection_fails_its_first_statement(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the ping is for (and that the test above can fail).
    monkeypatch.setattr(db_module, "PING_IDLE_SECONDS", 3600.0)
    first = await _backend(engine)
    await _terminate(engine, first)
    with pytest.raises(DBAPIError):
        await _backend(engine)
    assert await _backend(engine) != first


async def _terminate(engine: AsyncEngine, pid: int) -> None:
    other = create_engine(str(engine.url.render_as_string(hide_password=False)), pool_size=1)
    try:
        async with other.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await connection.commit()
    finally:
        await other.dispose()
