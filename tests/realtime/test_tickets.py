"""One-time socket tickets: issued over the API, good once, for one tenant, for a minute."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import delete, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.exceptions import InvalidStatus

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.events import user_topic
from app.core.models import Membership, RealtimeTicket, Tenant, User
from app.core.tenancy import tenant_scope
from app.jobs.outbox import prune_expired
from app.realtime.access import Member
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
        assert await redeem_ticket(db, ticket) == 401


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
        assert await redeem_ticket(db, live) == Member(tenant.id, admin.id, "admin")


async def test_it_lets_only_one_of_two_simultaneous_redemptions_through(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    with tenant_scope(tenant.id):
        ticket = await issue_ticket(db, admin.id)

    async def redeem() -> Member | int:
        async with session_factory() as session:
            with tenant_scope(tenant.id):
                return await redeem_ticket(session, ticket)

    results = await asyncio.gather(redeem(), redeem())
    assert sorted(results, key=str) == sorted([Member(tenant.id, admin.id, "admin"), 401], key=str)


async def test_a_ticket_is_refused_once_its_user_is_deactivated_or_no_longer_a_member(
    db: AsyncSession, tenant: Tenant, admin: User, coordinator: User
) -> None:
    admin_id, coordinator_id = admin.id, coordinator.id
    with tenant_scope(tenant.id):
        for_admin = await issue_ticket(db, admin.id)
        for_coordinator = await issue_ticket(db, coordinator.id)
        assert for_admin is not None and for_coordinator is not None
        admin.is_active = False
        await db.execute(delete(Membership).where(Membership.user_id == coordinator.id))
        await db.commit()
        # Deactivated: not signed in any more. Gone from the municipality: a stranger.
        assert await redeem_ticket(db, for_admin) == 401
        assert await redeem_ticket(db, for_coordinator) == 404
        # Either way the ticket is used up, and no new one is issued to them.
        unused = select(func.count()).where(RealtimeTicket.used_at.is_(None))
        assert await db.scalar(unused.select_from(RealtimeTicket)) == 0
        assert await issue_ticket(db, admin_id) is None
        assert await issue_ticket(db, coordinator_id) is None


async def test_a_ticket_is_issued_only_in_its_users_municipality(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, outsider: User
) -> None:
    here, there, outsider_id = tenant.id, other_tenant.id, outsider.id
    with tenant_scope(here):
        assert await issue_ticket(db, outsider_id) is None
    with tenant_scope(there):
        ticket = await issue_ticket(db, outsider_id)
        assert ticket is not None
        row = await db.scalar(select(RealtimeTicket))
        assert row is not None and (row.tenant_id, row.user_id) == (there, outsider_id)
    with tenant_scope(here):
        assert await redeem_ticket(db, ticket) == 401
    with tenant_scope(there):
        assert await redeem_ticket(db, ticket) == Member(there, outsider_id, "admin")


async def test_a_ticket_is_redeemed_in_one_statement_on_postgresql(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    # Every socket of a process that died comes back with a ticket: on PostgreSQL the
    # UPDATE that uses it up also brings the member's role (SQLite asks apart).
    with tenant_scope(tenant.id):
        ticket = await issue_ticket(db, coordinator.id)
        assert ticket is not None
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            if "set_config" not in statement:
                statements.append(statement.split()[0].upper())

        engine = db.get_bind()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            member = await redeem_ticket(db, ticket)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    assert member == Member(tenant.id, coordinator.id, "coordinator")
    postgresql = engine.dialect.name == "postgresql"
    assert statements == (["UPDATE"] if postgresql else ["UPDATE", "SELECT"])


async def test_a_ticket_is_issued_and_used_up_for_good_before_the_session_ends(
    session_factory: async_sessionmaker[AsyncSession], tenant: Tenant, coordinator: User
) -> None:
    # Each end commits as its one statement runs: another process sees the ticket, and
    # sees it used up, while the session that wrote it is still open (a socket's opening
    # session lives on through its first answer).
    async def used_at(secret_count: int) -> list[Any]:
        async with session_factory() as other:
            with tenant_scope(tenant.id):
                rows = (await other.scalars(select(RealtimeTicket.used_at))).all()
        assert len(rows) == secret_count
        return list(rows)

    async with session_factory() as issuing:
        with tenant_scope(tenant.id):
            ticket = await issue_ticket(issuing, coordinator.id)
            assert ticket is not None
            assert await used_at(1) == [None]
    async with session_factory() as redeeming:
        with tenant_scope(tenant.id):
            member = await redeem_ticket(redeeming, ticket)
            assert member == Member(tenant.id, coordinator.id, "coordinator")
            [used] = await used_at(1)
            assert used is not None
            # The session goes on reading, on the same connection, with no BEGIN sent
            # (PostgreSQL: no round trips for BEGIN and COMMIT around each statement).
            assert await redeeming.scalar(select(func.count()).select_from(Membership)) > 0
            connection = await redeeming.connection()
            if connection.dialect.name == "postgresql":
                raw = await connection.get_raw_connection()
                assert not raw.driver_connection.is_in_transaction()
