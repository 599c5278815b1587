"""Web Push end to end: a local push service on loopback stands in for the browser
vendor's. It checks the VAPID signature of every push and decrypts the body with
http_ece using the keys a browser would have made; 404/410 remove the subscription,
5xx is retried. Then the subscribe endpoints of both faces and the election-day pushes.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.models import OutboxMessage, PushSubscription, Tenant, User
from app.core.outbox import push, vapid
from app.core.settings import Settings, SettingsError, load_settings
from app.core.tenancy import tenant_scope
from app.domain.ops import incidents as ops_incidents
from app.jobs.outbox import deliver_due
from tests.domain.ops.test_checkins import link_user, ops_day
from tests.factories import csrf_token, free_port, login, shift_back


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """The keys a browser makes when it subscribes: a P-256 pair and an auth secret."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def make(cls) -> Browser:
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    def subscription(self, endpoint: str) -> dict[str, Any]:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": endpoint, "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}


class PushService:
    """A push service on loopback: records each push, checks its VAPID header and
    decrypts it for the browser the endpoint's id names."""

    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.received: list[dict[str, Any]] = []
        self.status = 201
        #: Connections accepted, requests or not (a TLS hello to this plain service too).
        self.connections = 0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self) -> None:
                service.connections += 1
                super().setup()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                service.received.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": self.rfile.read(length),
                    }
                )
                self.send_response(service.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"

    def subscribe(self, name: str) -> dict[str, Any]:
        browser = self.browsers[name] = Browser.make()
        return browser.subscription(f"{self.origin}/push/{name}")

    def verify_vapid(self, headers: dict[str, str]) -> tuple[dict[str, Any], str]:
        """The JWT's claims and the sender's public key, after checking the ES256
        signature against that key (RFC 8292: ``vapid t=<jwt>, k=<key>``)."""
        scheme, _, rest = headers["authorization"].partition(" ")
        assert scheme == "vapid"
        parts = dict(part.strip().split("=", 1) for part in rest.split(","))
        signing_input, _, signature = parts["t"].rpartition(".")
        raw = unb64url(signature)
        assert len(raw) == 64
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
        key.verify(der, signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        header, claims = (json.loads(unb64url(piece)) for piece in signing_input.split("."))
        assert header["alg"] == "ES256"
        return claims, parts["k"]

    def decrypt(self, push_received: dict[str, Any]) -> dict[str, Any]:
        browser = self.browsers[push_received["path"].rsplit("/", 1)[1]]
        plain = http_ece.decrypt(
            push_received["body"],
            private_key=browser.private_key,
            auth_secret=browser.auth,
            version="aes128gcm",
        )
        return dict(json.loads(plain))


@pytest.fixture
def push_service() -> Iterator[PushService]:
    running = PushService()
    thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The local push service is http:// on 127.0.0.1, which production refuses.
    return settings.model_copy(update={"push_allow_loopback": True})


class NoMail:
    async def send(self, message: Any) -> None:
        raise AssertionError("no mail expected")


async def _subscribe(db: AsyncSession, tenant: Tenant, user: User, data: dict[str, Any]) -> int:
    with tenant_scope(tenant.id):
        info = push.parse_subscription(data, allow_loopback=True)
        return (await push.save_subscription(db, user.id, info, "Test browser")).id


async def _queue(db: AsyncSession, tenant: Tenant, user: User, key: str = "news:1") -> None:
    with tenant_scope(tenant.id):
        await push.queue_push(
            db,
            user_id=user.id,
            title="Kö vid Vallokal 3",
            body="Incidenten är kvitterad.",
            url=f"/{tenant.slug}/portal/election-day",
            idempotency_key=key,
            tenant_id=tenant.id,
        )
        await db.commit()


async def _deliver(session_factory: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    transport = push.WebPushTransport(settings, session_factory)
    return await deliver_due(session_factory, NoMail(), push=transport)  # type: ignore[arg-type]


async def _subscriptions(db: AsyncSession) -> int:
    return int(
        await db.scalar(select(func.count(PushSubscription.id)).execution_options(all_tenants=True))
        or 0
    )


# --- delivery ----------------------------------------------------------------------------


async def test_it_delivers_a_push_signed_and_encrypted_to_the_browser(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    push_service: PushService,
    owner_db: AsyncSession,
) -> None:
    await _subscribe(db, tenant, coordinator, push_service.subscribe("phone"))
    await _queue(db, tenant, coordinator)

    assert await _deliver(session_factory, settings) == 1

    [received] = push_service.received
    assert received["path"] == "/push/phone"
    assert received["headers"]["content-encoding"] == "aes128gcm"
    assert int(received["headers"]["ttl"]) == push.TTL_SECONDS
    claims, key = push_service.verify_vapid(received["headers"])
    assert claims["aud"] == push_service.origin
    assert claims["exp"] > time.time()
    assert claims["sub"] == "mailto:no-reply@stemma.invalid"
    assert key == push.application_server_key(settings)
    assert push_service.decrypt(received) == {
        "title": "Kö vid Vallokal 3",
        "body": "Incidenten är kvitterad.",
        "url": "/lund/portal/election-day",
        "tag": "news:1",
    }
    message = await owner_db.scalar(select(OutboxMessage).execution_options(populate_existing=True))
    assert message is not None
    assert (message.channel, message.status) == ("push", "sent")
    assert "push/phone" not in message.recipient  # the endpoint is a secret


async def test_it_refuses_a_forged_signature(push_service: PushService) -> None:
    """The service's check is real: a token signed by another key fails it."""
    keys = vapid.VapidKeys(ec.generate_private_key(ec.SECP256R1()))
    other = vapid.VapidKeys(ec.generate_private_key(ec.SECP256R1()))
    claims = {"sub": "mailto:a@b.se", "aud": push_service.origin, "exp": int(time.time()) + 60}
    from py_vapid import Vapid02

    header = Vapid02(keys.private_key).sign(claims)["Authorization"]
    forged = header.replace(keys.application_server_key, other.application_server_key)
    with pytest.raises(InvalidSignature):
        push_service.verify_vapid({"authorization": forged})


async def test_it_pushes_to_every_browser_of_the_user_once(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    push_service: PushService,
) -> None:
    await _subscribe(db, tenant, coordinator, push_service.subscribe("phone"))
    await _subscribe(db, tenant, coordinator, push_service.subscribe("laptop"))
    await _queue(db, tenant, coordinator)
    assert await _deliver(session_factory, settings) == 2
    assert sorted(r["path"] for r in push_service.received) == ["/push/laptop", "/push/phone"]
    # The same news again is not queued twice (the outbox's unique key refuses it).
    with pytest.raises(IntegrityError):
        await _queue(db, tenant, coordinator)


async def test_it_removes_a_subscription_the_service_calls_gone(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    push_service: PushService,
    owner_db: AsyncSession,
) -> None:
    await _subscribe(db, tenant, coordinator, push_service.subscribe("phone"))
    await _queue(db, tenant, coordinator)
    push_service.status = 410
    assert await _deliver(session_factory, settings) == 1
    assert await _subscriptions(owner_db) == 0
    message = await owner_db.scalar(select(OutboxMessage).execution_options(populate_existing=True))
    assert message is not None and message.status == "sent"
    # Later news for the user finds no browser and queues nothing.
    await _queue(db, tenant, coordinator, key="news:2")
    assert await owner_db.scalar(select(func.count(OutboxMessage.id))) == 1


async def test_it_retries_when_the_service_fails(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    push_service: PushService,
    owner_db: AsyncSession,
) -> None:
    await _subscribe(db, tenant, coordinator, push_service.subscribe("phone"))
    await _queue(db, tenant, coordinator)
    push_service.status = 500
    assert await _deliver(session_factory, settings) == 0
    message = await owner_db.scalar(select(OutboxMessage).execution_options(populate_existing=True))
    assert message is not None
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.last_error == "push service answered 500"
    assert await _deliver(session_factory, settings) == 0  # not due yet: backoff
    push_service.status = 201
    await shift_back(owner_db, OutboxMessage, "next_attempt_at", timedelta(hours=1))
    assert await _deliver(session_factory, settings) == 1
    assert len(push_service.received) == 2
    assert await _subscriptions(owner_db) == 1


async def test_it_retries_when_the_service_is_down(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    owner_db: AsyncSession,
) -> None:
    down = Browser.make().subscription(f"http://127.0.0.1:{free_port()}/push/secret-id")
    await _subscribe(db, tenant, coordinator, down)
    await _queue(db, tenant, coordinator)
    assert await _deliver(session_factory, settings) == 0
    message = await owner_db.scalar(select(OutboxMessage).execution_options(populate_existing=True))
    assert message is not None and message.status == "pending"
    assert message.last_error is not None and "secret-id" not in message.last_error


# --- keys and endpoints ------------------------------------------------------------------


def test_it_generates_the_vapid_key_once_and_keeps_it(settings: Settings) -> None:
    first = push.vapid_keys(settings).application_server_key
    path = settings.data_dir / vapid.KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    push._keys.clear()  # a new process
    assert push.vapid_keys(settings).application_server_key == first
    assert len(unb64url(first)) == 65


def test_it_takes_a_configured_vapid_key(settings: Settings) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    configured = settings.model_copy(update={"vapid_private_key": raw})
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert push.application_server_key(configured) == b64url(public)


def test_it_refuses_bad_push_settings(tmp_path: Any) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            data_dir=tmp_path, vapid_private_key="not-a-key", vapid_subject="someone@example"
        )
    assert "STEMMA_VAPID_PRIVATE_KEY" in str(caught.value)
    assert "STEMMA_VAPID_SUBJECT" in str(caught.value)


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://updates.push.services.mozilla.com/wpush/v2/x",
        "https://10.0.0.5/push/x",
        "https://169.254.169.254/latest",
        "https://localhost/push/x",
        "https://127.0.0.1:8443/push/x",
        "https://intranet/push",
        "https://user:pw@fcm.googleapis.com/fcm/send/x",
        "ftp://fcm.googleapis.com/x",
        "https://fcm.googleapis.com/" + "x" * 1000,
    ],
)
def test_it_refuses_endpoints_that_are_not_public_https(endpoint: str) -> None:
    with pytest.raises(push.PushSubscriptionError):
        push.check_endpoint(endpoint)


def test_it_accepts_push_services_and_loopback_only_when_allowed() -> None:
    for endpoint in (
        "https://fcm.googleapis.com/fcm/send/abc:def",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAA",
        "https://web.push.apple.com/QGx",
    ):
        assert push.check_endpoint(endpoint) == endpoint
    assert push.check_endpoint("http://127.0.0.1:9/p", allow_loopback=True)
    with pytest.raises(push.PushSubscriptionError):
        push.check_endpoint("http://127.0.0.1:9/p")


# --- subscribe and unsubscribe -------------------------------------------------------------


async def _post_json(client: QuartClient, path: str, body: Any, *, token: str | None) -> Any:
    headers = {"X-CSRF-Token": token} if token else {}
    return await client.post(path, json=body, headers=headers)


async def test_it_subscribes_and_unsubscribes_a_clerks_phone(
    db: AsyncSession, client: QuartClient, tenant: Tenant, clerk: User, owner_db: AsyncSession
) -> None:
    await login(client, clerk)
    token = await csrf_token(client, "/lund/portal/profile")
    data = Browser.make().subscription("https://fcm.googleapis.com/fcm/send/abc")
    response = await _post_json(client, "/lund/portal/push/subscription", data, token=token)
    assert response.status_code == 201
    with tenant_scope(tenant.id):
        row = await db.scalar(select(PushSubscription))
    assert row is not None and (row.user_id, row.tenant_id) == (clerk.id, tenant.id)
    # Subscribing again (the page does on every visit) keeps one row.
    response = await _post_json(client, "/lund/portal/push/subscription", data, token=token)
    assert response.status_code == 201
    assert await _subscriptions(owner_db) == 1
    response = await _post_json(
        client,
        "/lund/portal/push/subscription/delete",
        {"endpoint": data["endpoint"]},
        token=token,
    )
    assert response.status_code == 200
    assert await _subscriptions(owner_db) == 0


async def test_it_refuses_a_bad_subscription(
    client: QuartClient, tenant: Tenant, clerk: User
) -> None:
    await login(client, clerk)
    token = await csrf_token(client, "/lund/portal/profile")
    for data in (
        Browser.make().subscription("https://10.1.2.3/push"),
        {"endpoint": "https://fcm.googleapis.com/x", "keys": {"p256dh": "abc", "auth": "x"}},
        "nonsense",
    ):
        response = await _post_json(client, "/lund/portal/push/subscription", data, token=token)
        assert response.status_code == 422


async def test_it_needs_the_csrf_token(
    db: AsyncSession, client: QuartClient, tenant: Tenant, clerk: User, owner_db: AsyncSession
) -> None:
    await login(client, clerk)
    data = Browser.make().subscription("https://fcm.googleapis.com/fcm/send/abc")
    response = await _post_json(client, "/lund/portal/push/subscription", data, token=None)
    assert response.status_code == 400
    assert await _subscriptions(owner_db) == 0


async def test_it_sends_anonymous_to_login(client: QuartClient, tenant: Tenant) -> None:
    token = await csrf_token(client)
    data = Browser.make().subscription("https://fcm.googleapis.com/fcm/send/abc")
    for path in ("/lund/portal/push/subscription", "/lund/planning/push/subscription"):
        response = await _post_json(client, path, data, token=token)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


async def test_it_gives_an_outsider_404(
    client: QuartClient, tenant: Tenant, outsider: User
) -> None:
    await login(client, outsider)
    token = await csrf_token(client, "/malmo/planning/")
    data = Browser.make().subscription("https://fcm.googleapis.com/fcm/send/abc")
    for path in ("/lund/portal/push/subscription", "/lund/planning/push/subscription"):
        response = await _post_json(client, path, data, token=token)
        assert response.status_code == 404


async def test_it_subscribes_a_coordinators_browser_but_not_a_clerks(
    db: AsyncSession, client: QuartClient, tenant: Tenant, coordinator: User, clerk: User
) -> None:
    await login(client, coordinator)
    page = await client.get("/lund/planning/")
    html = await page.get_data(as_text=True)
    assert (
        "data-push-card" in html
        and push.application_server_key(
            client.app.extensions["stemma"].settings  # type: ignore[attr-defined]
        )
        in html
    )
    worker = await client.get("/lund/planning/sw.js")
    assert worker.status_code == 200 and "notificationclick" in await worker.get_data(as_text=True)
    token = await csrf_token(client, "/lund/planning/")
    data = Browser.make().subscription("https://updates.push.services.mozilla.com/wpush/v2/x")
    response = await _post_json(client, "/lund/planning/push/subscription", data, token=token)
    assert response.status_code == 201

    clerk_client = client.app.test_client()  # type: ignore[attr-defined]
    await login(clerk_client, clerk)
    token = await csrf_token(clerk_client, "/lund/portal/profile")
    response = await _post_json(clerk_client, "/lund/planning/push/subscription", data, token=token)
    assert response.status_code == 403


# --- election-day pushes --------------------------------------------------------------------


async def test_it_pushes_a_high_severity_incident_to_coordinators_and_news_to_its_reporter(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    clerk: User,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    push_service: PushService,
    owner_db: AsyncSession,
) -> None:
    day = await ops_day(db, tenant)
    await link_user(db, tenant, day.chair_id, clerk)
    clerk_id, coordinator_id = clerk.id, coordinator.id
    # Each push is written in its reader's language.
    coordinator.locale = clerk.locale = "en"
    await db.commit()
    await _subscribe(db, tenant, coordinator, push_service.subscribe("coordinator"))
    await _subscribe(db, tenant, clerk, push_service.subscribe("chair"))

    with tenant_scope(tenant.id):
        incident = await ops_incidents.report_incident(
            db,
            Actor.for_user(clerk),
            day.station_id,
            category="security",
            severity="high",
            text="Hot mot röstmottagare vid ingången.",
        )
        incident_id = incident.id
    assert await _deliver(session_factory, settings) == 1
    [to_coordinator] = push_service.received
    assert to_coordinator["path"] == "/push/coordinator"
    payload = push_service.decrypt(to_coordinator)
    assert payload["title"].startswith("Incident of high severity at ")
    assert payload["body"].endswith(": Security, severity high")
    assert "Hot mot" not in payload["body"]  # no free text on a locked screen
    assert payload["url"] == f"/lund/planning/elections/{day.election_id}/live"

    coordinator_user = await db.get(User, coordinator_id)
    assert coordinator_user is not None
    with tenant_scope(tenant.id):
        await ops_incidents.acknowledge(
            db, Actor.for_user(coordinator_user), incident_id, expected_version=1
        )
    assert await _deliver(session_factory, settings) == 1
    to_chair = push_service.received[1]
    assert to_chair["path"] == "/push/chair"
    assert push_service.decrypt(to_chair) == {
        "title": "The election office has seen your incident",
        "body": payload["body"],
        "url": "/lund/portal/election-day",
        "tag": f"incident-{incident_id}",
    }
    with tenant_scope(tenant.id):
        rows = list(await owner_db.scalars(select(OutboxMessage.recipient)))
    assert len(rows) == 2 and clerk_id != coordinator_id


async def test_it_does_not_push_a_medium_incident_or_the_actors_own_change(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    push_service: PushService,
    owner_db: AsyncSession,
) -> None:
    day = await ops_day(db, tenant)
    await _subscribe(db, tenant, coordinator, push_service.subscribe("coordinator"))
    with tenant_scope(tenant.id):
        incident = await ops_incidents.report_incident(
            db,
            Actor.for_user(coordinator),
            day.station_id,
            category="queue",
            severity="high",
            text="Kö.",
        )
        await ops_incidents.report_incident(
            db,
            Actor.system("test"),
            day.station_id,
            category="queue",
            severity="medium",
            text="Kö.",
        )
        await ops_incidents.acknowledge(
            db, Actor.for_user(coordinator), incident.id, expected_version=1
        )
    assert await owner_db.scalar(select(func.count(OutboxMessage.id))) == 0
