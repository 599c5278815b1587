"""One-time socket tickets: issued over the API, good once, for one tenant, for a minute."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.exceptions import InvalidStatus

from app.core.audit import Actor
from app.core.events import user_topic
from app.core.models import RealtimeTicket, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.accounts import create_api_token
from app.jobs.outbox import prune_expired
from app.realtime.tickets import issue_ticket, redeem_ticket
from tests.factories import shift_back
from tests.realtime.conftest import open_socket, receive


async def _headers(db: AsyncSession, tenant: Tenant) -> dict[str, str]:
    with tenant_scope(tenant.id):
        _token, secret = await create_api_token(db, Actor.system("test"), "Dashboard")
    return {"Authorization": f"Bearer {secret}"}


async def _ticket(client: QuartClient, headers: dict[str, str], user_id: int) -> str:
    response = await client.post(
        "/api/v1/realtime/tickets", headers=headers, json={"user_id": user_id}
    )
    assert response.status_code == 201, await response.get_data(as_text=True)
    body = await response.get_json()
    assert body["expires_in"] == 60
    return str(body["ticket"])


async def test_it_opens_a_socket_with_a_ticket_once(
    app: Quart, client: QuartClient, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    ticket = await _ticket(client, await _headers(db, tenant), coordinator.id)
    topic = user_topic(tenant.id, coordinator.id)
    # A kiosk is no browser page: no Origin, no cookie, just the ticket.
    async with open_socket(app, origin=None, ticket=ticket, topics=topic) as socket:
        assert await receive(socket) == {
            "type": "ws.subscribed",
            "topics": [topic],
            "last_event_id": 0,
        }
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(app, origin=None, ticket=ticket):
            pass
    assert refused.value.response.status_code == 401


async def test_it_refuses_a_ticket_for_an_outsider_without_a_token_or_elsewhere(
    app: Quart,
    client: QuartClient,
    db: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
    admin: User,
    outsider: User,
) -> None:
    headers = await _headers(db, tenant)
    response = await client.post(
        "/api/v1/realtime/tickets", headers=headers, json={"user_id": outsider.id}
    )
    assert response.status_code == 404
    assert (
        await client.post("/api/v1/realtime/tickets", json={"user_id": admin.id})
    ).status_code == 401
    # A ticket of Lund's opens nothing in Malmö, and is not spent by trying.
    ticket = await _ticket(client, headers, admin.id)
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(app, origin=None, tenant=other_tenant.slug, ticket=ticket):
            pass
    assert refused.value.response.status_code == 401
    async with open_socket(app, origin=None, ticket=ticket):
        pass


async def test_it_lists_the_ticket_endpoint_in_the_openapi_document(client: QuartClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    assert "post" in document["paths"]["/api/v1/realtime/tickets"]


async def test_it_refuses_an_expired_ticket(db: AsyncSession, tenant: Tenant, admin: User) -> None:
    with tenant_scope(tenant.id):
        ticket = await issue_ticket(db, admin.id)
        await shift_back(db, RealtimeTicket, "expires_at", dt.timedelta(seconds=61))
        assert await redeem_ticket(db, ticket) is None


async def test_the_hourly_pruning_clears_expired_tickets_and_keeps_live_ones(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    with tenant_scope(tenant.id):
        await issue_ticket(db, admin.id)
        await shift_back(db, RealtimeTicket, "expires_at", dt.timedelta(seconds=61))
        # Issuing no longer clears: the expired one stays until the pruning.
        live = await issue_ticket(db, admin.id)
        assert await db.scalar(select(func.count()).select_from(RealtimeTicket)) == 2

    await prune_expired(session_factory)

    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count()).select_from(RealtimeTicket)) == 1
        assert await redeem_ticket(db, live) == admin.id


async def test_it_lets_only_one_of_two_simultaneous_redemptions_through(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    with tenant_scope(tenant.id):
        ticket = await issue_ticket(db, admin.id)

    async def redeem() -> int | None:
        async with session_factory() as session:
            with tenant_scope(tenant.id):
                return await redeem_ticket(session, ticket)

    results = await asyncio.gather(redeem(), redeem())
    assert sorted(results, key=str) == sorted([admin.id, None], key=str)
