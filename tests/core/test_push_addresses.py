"""Push endpoints are judged by the address the server would connect to, not by how the
host is written: the odd IPv4 forms the system accepts, a trailing dot, and names that
resolve to private addresses are refused, and a send connects only to the addresses it
checked. A subscription saved in one municipality leaves another's rows alone.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import OutboxMessage, PushSubscription, Tenant, User
from app.core.outbox import push
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from tests.core.test_push import Browser, PushService, _deliver, _queue
from tests.core.test_push import push_service as push_service  # the fixture
from tests.factories import csrf_token, login, make_user

#: The host the tests' resolver answers for; nothing resolves it for real.
NAME = "push.stemma-test.example"


class FakeResolver:
    """``socket.getaddrinfo`` with answers for NAME (one per call, the last repeated;
    an answer lists its addresses with commas);
    every other lookup, and every numeric-only one, goes to the real resolver."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.real = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        flags = kwargs.get("flags", args[3] if len(args) > 3 else 0)
        if host != NAME or flags & socket.AI_NUMERICHOST:
            return self.real(host, port, *args, **kwargs)
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))
            for address in answer.split(",")
        ]


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeResolver]:
    fake = FakeResolver("10.0.0.7")
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    yield fake


def _info(endpoint: str) -> push.SubscriptionInfo:
    keys = Browser.make().subscription(endpoint)["keys"]
    return push.SubscriptionInfo(endpoint=endpoint, p256dh=keys["p256dh"], auth=keys["auth"])


async def _save_unchecked(db: AsyncSession, tenant: Tenant, user: User, endpoint: str) -> None:
    """A row as an older release may have kept it, without today's checks."""
    with tenant_scope(tenant.id):
        await push.save_subscription(db, user.id, _info(endpoint))


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.1/push/x",
        "https://0177.0.0.1/push/x",
        "https://0x7f.0.0.1/push/x",
        "https://2130706433/push/x",
        "https://localhost./push/x",
        "https://LOCALHOST../push/x",
        "https://push.localhost./push/x",
        "https://10.1/push/x",
        "https://0xa9.0xfe.0xa9.0xfe/latest",
        "https://0.0.0.0/push/x",
        "https://[::ffff:127.0.0.1]/push/x",
        "https://[fe80::1]/push/x",
        "https://224.0.0.1/push/x",
    ],
)
def test_it_refuses_every_spelling_of_a_private_address(endpoint: str) -> None:
    with pytest.raises(push.PushSubscriptionError):
        push.check_endpoint(endpoint)


async def test_it_refuses_a_name_that_resolves_to_a_private_address(
    client: QuartClient, tenant: Tenant, clerk: User, resolver: FakeResolver
) -> None:
    with pytest.raises(push.PushSubscriptionError):
        await push.resolve_endpoint(f"https://{NAME}/push/x")
    # One global address among private ones is not enough either.
    resolver.answers = ["8.8.8.8,192.168.1.5"]
    resolver.calls = 0
    with pytest.raises(push.PushSubscriptionError):
        await push.resolve_endpoint(f"https://{NAME}/push/x")

    resolver.answers = ["10.0.0.7"]
    await login(client, clerk)
    token = await csrf_token(client, "/lund/portal/profile")
    data = Browser.make().subscription(f"https://{NAME}/push/x")
    response = await client.post(
        "/lund/portal/push/subscription", json=data, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 422


async def test_it_sends_nothing_to_a_name_that_resolves_to_a_private_address(
    db: AsyncSession,
    owner_db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    push_service: PushService,
    resolver: FakeResolver,
) -> None:
    # The name points at the local push service, on its port: a send would reach it.
    resolver.answers = ["127.0.0.1"]
    port = push_service.server.server_address[1]
    await _save_unchecked(db, tenant, coordinator, f"https://{NAME}:{port}/push/phone")
    await _queue(db, tenant, coordinator)
    assert await _deliver(session_factory, settings) == 0
    assert push_service.connections == 0
    message = await owner_db.scalar(select(OutboxMessage))
    assert message is not None and message.status == "pending"
    assert message.last_error == "endpoint must be on a public host"


@pytest.fixture
def loopback_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"push_allow_loopback": True})


async def test_it_connects_only_to_the_address_it_checked(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    loopback_settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    push_service: PushService,
    resolver: FakeResolver,
) -> None:
    """The name is resolved once, checked, and connected to: a second lookup (which
    would now answer another address, as a rebinding DNS server does) never happens."""
    resolver.answers = ["127.0.0.1", "127.0.0.3"]
    port = push_service.server.server_address[1]
    subscription = Browser.make().subscription(f"http://{NAME}:{port}/push/phone")
    push_service.browsers["phone"] = Browser.make()
    with tenant_scope(tenant.id):
        info = push.parse_subscription(subscription, allow_loopback=True)
        await push.save_subscription(db, coordinator.id, info)
    await _queue(db, tenant, coordinator)
    assert await _deliver(session_factory, loopback_settings) == 1
    assert [r["path"] for r in push_service.received] == ["/push/phone"]
    assert resolver.calls == 1


async def test_saving_a_subscription_leaves_other_municipalities_rows_alone(
    db: AsyncSession,
    owner_db: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
    coordinator: User,
) -> None:
    endpoint = "https://fcm.googleapis.com/fcm/send/shared-browser"
    elsewhere = await make_user(db, other_tenant, role="coordinator", email="m@malmo.se")
    await _save_unchecked(db, other_tenant, elsewhere, endpoint)
    await _save_unchecked(db, tenant, coordinator, endpoint)
    rows = (
        await owner_db.scalars(
            select(PushSubscription)
            .order_by(PushSubscription.id)
            .execution_options(all_tenants=True)
        )
    ).all()
    assert [(row.tenant_id, row.user_id) for row in rows] == [
        (other_tenant.id, elsewhere.id),
        (tenant.id, coordinator.id),
    ]
    # Within a municipality the browser's row follows whoever subscribed last.
    colleague = await make_user(db, tenant, role="coordinator", email="k@lund.se")
    await _save_unchecked(db, tenant, colleague, endpoint)
    with tenant_scope(tenant.id):
        here = (await db.scalars(select(PushSubscription))).all()
    assert [row.user_id for row in here] == [colleague.id]
