"""`/readyz` tells the balancer the truth (issue 26): not ready while every pooled
database connection stays in use, or while the broker's sentinels replace the master;
ready again when that is over. And a request that meets a failover is answered 503 with
Retry-After, not 500."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
import redis.asyncio
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy.exc import OperationalError

import app as app_module
import app.api as api_module
from app.core.db import create_engine
from app.core.settings import Settings
from app.realtime.broker import RedisBroker

#: Sentinels on ports nothing listens on: only the patched SENTINEL MASTER answers.
SENTINEL_URL = "redis+sentinel://127.0.0.1:1,127.0.0.1:2/stemma/0"


def failover_error() -> OperationalError:
    """What a request meets when the primary dies under it: the driver's broken
    connection, which SQLAlchemy marks invalidated."""
    return OperationalError(
        "SELECT 1", {}, ConnectionResetError(104, "Connection reset by peer"), False, True
    )


async def test_it_is_not_ready_while_every_pooled_connection_is_in_use(
    app: Quart, client: QuartClient, settings: Settings
) -> None:
    runtime = app.extensions["stemma"]
    working = runtime.engine
    runtime.engine = create_engine(settings.database_url, pool_size=1, max_overflow=0)
    try:
        assert (await client.get("/readyz")).status_code == 200
        async with AsyncExitStack() as held:
            # Every connection the pool may hold (SQLite's pool keeps its own size).
            for _ in range(runtime.engine.sync_engine.pool.size()):
                await held.enter_async_context(runtime.engine.connect())
            response = await client.get("/readyz")
            assert response.status_code == 503
            assert (await response.get_json())["checks"]["database"] == "exhausted"
        again = await client.get("/readyz")
        assert again.status_code == 200
        assert (await again.get_json())["checks"] == {"database": "ok", "broker": "ok"}
    finally:
        await runtime.engine.dispose()
        runtime.engine = working


@pytest.fixture
def sentinel_flags(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The flags the sentinels give for the master (SENTINEL MASTER), as they say."""
    flags = ["master"]
    asked: list[str] = []

    async def sentinel_master(self: Any, name: str) -> dict[str, Any]:
        asked.append(name)
        return {"name": name, "flags": ",".join(flags)}

    monkeypatch.setattr(redis.asyncio.Redis, "sentinel_master", sentinel_master)
    yield flags
    assert asked and set(asked) == {"stemma"}


async def test_the_broker_reports_a_sentinel_failover(sentinel_flags: list[str]) -> None:
    broker = RedisBroker(SENTINEL_URL)
    try:
        assert not await broker.failing_over()
        sentinel_flags[:] = ["master", "s_down"]  # one sentinel's view: no failover yet
        assert not await broker.failing_over()
        sentinel_flags[:] = ["master", "s_down", "o_down"]
        assert await broker.failing_over()
        sentinel_flags[:] = ["master", "failover_in_progress"]
        assert await broker.failing_over()
    finally:
        await broker.close()
    # A plain Redis has no sentinels to ask.
    plain = RedisBroker("redis://127.0.0.1:1/0")
    try:
        assert not await plain.failing_over()
    finally:
        await plain.close()


async def test_it_is_not_ready_while_the_sentinels_fail_over(
    app: Quart, client: QuartClient, sentinel_flags: list[str]
) -> None:
    runtime = app.extensions["stemma"]
    working = runtime.broker
    broker = RedisBroker(SENTINEL_URL)

    async def answers() -> bool:  # the old master still answers: only the flags tell
        return True

    broker.ping = answers  # type: ignore[method-assign]
    runtime.broker = broker
    try:
        assert (await client.get("/readyz")).status_code == 200
        sentinel_flags[:] = ["master", "failover_in_progress"]
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert (await response.get_json())["checks"] == {
            "database": "ok",
            "broker": "failover",
        }
        sentinel_flags[:] = ["master"]
        assert (await client.get("/readyz")).status_code == 200
    finally:
        await broker.close()
        runtime.broker = working


async def test_a_token_sign_in_during_a_failover_is_answered_503_with_retry_after(
    client: QuartClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def lost(*_args: Any) -> None:
        raise failover_error()

    monkeypatch.setattr(api_module, "authenticate_api_token", lost)
    response = await client.get(
        "/api/v1/tenant", headers={"Authorization": "Bearer stemma_anything"}
    )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    problem = await response.get_json()
    assert problem["status"] == 503 and problem["title"] == "Tillfälligt otillgänglig"


async def test_a_page_during_a_failover_is_the_translated_503_page(
    client: QuartClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def lost(*_args: Any) -> None:
        raise failover_error()

    monkeypatch.setattr(app_module, "get_tenant_by_slug", lost)
    response = await client.get("/lund/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = await response.get_data(as_text=True)
    assert "Tillfälligt otillgänglig" in page and "reservserver" in page


@pytest.mark.allow_error_logs
async def test_a_broken_statement_is_still_a_500(
    client: QuartClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a lost database is 503: a statement the database refused stays a bug."""

    async def wrong(*_args: Any) -> None:
        raise OperationalError("SELECT nonsense", {}, Exception("syntax error"))

    monkeypatch.setattr(api_module, "authenticate_api_token", wrong)
    response = await client.get(
        "/api/v1/tenant", headers={"Authorization": "Bearer stemma_anything"}
    )
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
