"""Web Push: the server's VAPID keys, browsers' subscriptions, and pushes through the outbox.

Services never push directly: they call ``queue_push`` inside their transaction, which
adds one outbox row per browser the user subscribed, and the outbox worker
(``app.jobs.outbox``) delivers them after commit with ``WebPushTransport``: the payload
encrypted to the browser's keys (aes128gcm, pywebpush) and signed with our VAPID key
(RFC 8292). A push service answering 404 or 410 means the browser is gone: its
subscription is deleted and the message counts as done. 429, 5xx and network errors are
retried with the outbox's backoff.

The VAPID key pair (``app.core.outbox.vapid``) is made once and kept: from
``STEMMA_VAPID_PRIVATE_KEY`` (or its ``_FILE``), else generated into
``<data_dir>/vapid_private.pem``. Changing it orphans every subscription (browsers
bind a subscription to the public key), so it is never rotated silently.

A subscription's endpoint is a capability URL chosen by the browser (so by the user):
it must be https:// on a public host, it is posted to without following redirects, and
it is never logged. "Public" is decided by the addresses the host resolves to, every
one of them global, and the send connects only to the addresses it checked.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from py_vapid import Vapid02
from pywebpush import WebPusher
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import OutboxMessage, PushSubscription, utcnow
from app.core.outbox.rows import add_outbox_message
from app.core.outbox.vapid import KEY_FILE, VapidKeys, kept_private_key, load_private_key
from app.core.settings import Settings

#: How long a push service keeps a push for a phone that is offline: election-day news
#: is stale after an hour.
TTL_SECONDS = 3600
#: Seconds to wait for the push service before the send counts as failed (and is retried).
SERVICE_TIMEOUT = 30
MAX_TITLE = 120
MAX_BODY = 400
MAX_ENDPOINT = 1000
#: Status codes by which a push service says the subscription no longer exists.
GONE = frozenset({404, 410})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class PushSubscriptionError(ValueError):
    """What a browser sent is not a usable subscription (the view answers 422)."""


class PushServiceError(Exception):
    """The push service did not take the push; the outbox retries later."""


# --- keys --------------------------------------------------------------------------------

_keys: dict[tuple[Path, str | None], VapidKeys] = {}


def vapid_keys(settings: Settings) -> VapidKeys:
    """The server's VAPID keys: configured, or generated once under the data directory."""
    cache_key = (settings.data_dir, settings.vapid_private_key)
    keys = _keys.get(cache_key)
    if keys is None:
        if settings.vapid_private_key:
            private = load_private_key(settings.vapid_private_key)
        else:
            private = kept_private_key(settings.data_dir / KEY_FILE)
        keys = _keys[cache_key] = VapidKeys(private)
    return keys


def application_server_key(settings: Settings) -> str:
    return vapid_keys(settings).application_server_key


# --- subscriptions -----------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionInfo:
    endpoint: str
    p256dh: str
    auth: str


def check_endpoint(endpoint: str, *, allow_loopback: bool = False) -> str:
    """Refuse endpoints that would make the server post somewhere it should not: only
    https:// to a named or public host (``allow_loopback`` also lets tests use
    http://127.0.0.1). A host written as an address in any form the system accepts
    (``127.1``, ``0177.0.0.1``, ``0x7f.0.0.1``) is judged by the address it means; a
    name is judged again by what it resolves to (``resolve_endpoint``) before a send."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT:
        raise PushSubscriptionError("endpoint missing or too long")
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        raise PushSubscriptionError("endpoint is not a URL") from None
    if not host or parts.username or parts.password or parts.fragment:
        raise PushSubscriptionError("endpoint is not a plain URL")
    loopback = _is_loopback(host)
    named = not loopback and _literal_address(host) is None
    if allow_loopback and (loopback or named) and parts.scheme in ("http", "https"):
        # A name may stand for loopback here: ``resolve_endpoint`` decides by address.
        return endpoint
    if parts.scheme != "https":
        raise PushSubscriptionError("endpoint must be https://")
    if loopback or not _is_public_host(host):
        raise PushSubscriptionError("endpoint must be on a public host")
    return endpoint


def _bare_host(host: str) -> str:
    # "localhost." is "localhost": a trailing dot only says the name is complete.
    return host.lower().rstrip(".")


def _literal_address(host: str) -> IPAddress | None:
    """The address a host written as one means, read the way the system reads it
    (``inet_aton`` takes ``127.1``, octal and hex parts); None for a name."""
    try:
        found = socket.getaddrinfo(_bare_host(host), None, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return _address(str(found[0][4][0]))


def _address(text: str) -> IPAddress:
    # An IPv6 address from the resolver may carry its zone ("fe80::1%eth0").
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_loopback(host: str) -> bool:
    bare = _bare_host(host)
    if bare == "localhost" or bare.endswith(".localhost"):
        return True
    address = _literal_address(host)
    return address is not None and address.is_loopback


def _is_public_host(host: str) -> bool:
    address = _literal_address(host)
    if address is None:
        # A name: push services are named hosts; single-label names are local ones.
        bare = _bare_host(host)
        return "." in bare and not bare.endswith((".local", ".internal", ".lan"))
    return _is_global(address)


def _is_global(address: IPAddress) -> bool:
    # ``is_global`` lets multicast through (224.0.0.1 is no private range).
    return address.is_global and not address.is_multicast


async def _getaddrinfo(host: str, port: int) -> list[str]:
    """The addresses the system resolves ``host`` to (a seam for the tests)."""
    found = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(sockaddr[0]) for _family, _type, _proto, _name, sockaddr in found]


@dataclass(frozen=True)
class ResolvedEndpoint:
    """An endpoint checked by the addresses its host resolved to: a send connects to
    these and nothing else, so a name cannot point elsewhere between check and send."""

    endpoint: str
    host: str
    addresses: tuple[str, ...]


async def resolve_endpoint(endpoint: str, *, allow_loopback: bool = False) -> ResolvedEndpoint:
    """Check ``endpoint`` and resolve its host; refuse (PushSubscriptionError) when any
    address it resolves to is not a global one (loopback, private, link-local,
    multicast, reserved, unspecified...), or, with ``allow_loopback``, when they are
    not all global (over https) or all loopback. A name that does not resolve raises
    ``socket.gaierror``."""
    check_endpoint(endpoint, allow_loopback=allow_loopback)
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    texts = await _getaddrinfo(host, port)
    addresses = [_address(text) for text in texts]
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    public = parts.scheme == "https" and all(_is_global(address) for address in addresses)
    loopback = allow_loopback and all(address.is_loopback for address in addresses)
    if not (public or loopback):
        raise PushSubscriptionError("endpoint must be on a public host")
    return ResolvedEndpoint(endpoint, host, tuple(dict.fromkeys(str(a) for a in addresses)))


async def check_resolved_endpoint(endpoint: str, *, allow_loopback: bool = False) -> None:
    """Refuse an endpoint whose host resolves to an address that is not global, when a
    browser subscribes. A name that does not resolve now is let through: the send
    resolves it again and connects only where that check allows."""
    try:
        await resolve_endpoint(endpoint, allow_loopback=allow_loopback)
    except (socket.gaierror, UnicodeError):
        return


class PinnedResolver(AbstractResolver):
    """aiohttp's resolver for one send: the addresses ``resolve_endpoint`` checked, and
    never a second lookup (DNS rebinding cannot move the connection)."""

    def __init__(self, resolved: ResolvedEndpoint) -> None:
        self.resolved = resolved

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in self.resolved.addresses
        ]

    async def close(self) -> None:
        return None


def _key_field(value: Any, name: str, length: int) -> str:
    """A browser key in base64url that decodes to ``length`` bytes."""
    if not isinstance(value, str) or len(value) > 100:
        raise PushSubscriptionError(f"keys.{name} missing")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, binascii.Error):
        raise PushSubscriptionError(f"keys.{name} is not base64url") from None
    if len(raw) != length or (name == "p256dh" and raw[0] != 4):
        raise PushSubscriptionError(f"keys.{name} has the wrong length")
    return value


def parse_subscription(data: Any, *, allow_loopback: bool = False) -> SubscriptionInfo:
    """Check the JSON of a browser's ``PushSubscription`` (``{endpoint, keys: {p256dh,
    auth}}``)."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
        raise PushSubscriptionError("expected {endpoint, keys: {p256dh, auth}}")
    return SubscriptionInfo(
        endpoint=check_endpoint(data.get("endpoint"), allow_loopback=allow_loopback),  # type: ignore[arg-type]
        p256dh=_key_field(data["keys"].get("p256dh"), "p256dh", 65),
        auth=_key_field(data["keys"].get("auth"), "auth", 16),
    )


async def save_subscription(
    session: AsyncSession, user_id: int, info: SubscriptionInfo, user_agent: str = ""
) -> PushSubscription:
    """Keep a browser's subscription for the user, in the current municipality.

    An endpoint belongs to one browser profile: when this municipality knew it (for
    another user who used this browser before), the new subscription replaces it, so
    pushes follow whoever subscribed last. Another municipality's rows are never
    touched: each keeps its own row for the endpoint.
    """
    await session.execute(
        delete(PushSubscription).where(PushSubscription.endpoint == info.endpoint)
    )
    subscription = PushSubscription(
        user_id=user_id,
        endpoint=info.endpoint,
        p256dh=info.p256dh,
        auth=info.auth,
        user_agent=user_agent[:300],
    )
    session.add(subscription)
    await session.commit()
    return subscription


async def remove_subscription(session: AsyncSession, user_id: int, endpoint: str) -> bool:
    """Forget the user's subscription of one browser; whether there was one."""
    result = await session.execute(
        delete(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.user_id == user_id
        )
    )
    await session.commit()
    return bool(getattr(result, "rowcount", 0))


async def subscriptions_of(
    session: AsyncSession, user_id: int, tenant_id: int
) -> list[PushSubscription]:
    rows = await session.scalars(
        select(PushSubscription)
        .where(PushSubscription.user_id == user_id, PushSubscription.tenant_id == tenant_id)
        .order_by(PushSubscription.id)
        .execution_options(all_tenants=True)
    )
    return list(rows)


# --- queueing ----------------------------------------------------------------------------


async def queue_push(
    session: AsyncSession,
    *,
    user_id: int,
    title: str,
    body: str,
    url: str,
    idempotency_key: str,
    tenant_id: int,
    tag: str | None = None,
) -> list[OutboxMessage]:
    """Add a push for every browser the user subscribed in this municipality to the
    outbox, in the caller's transaction; none when they subscribed nowhere.

    ``url`` is what a tap on the notification opens (a path on this site).
    ``idempotency_key`` names the news (``ops.incident:7:v3``); each browser's row gets
    its own key from it, so the same news is never pushed twice to one browser.
    A later push with the same ``tag`` replaces the earlier notification on the screen.
    """
    payload = {
        "title": _shorten(title, MAX_TITLE),
        "body": _shorten(body, MAX_BODY),
        "url": url,
        "tag": (tag or idempotency_key)[:64],
    }
    return [
        add_outbox_message(
            session,
            tenant_id=tenant_id,
            channel="push",
            # Never the endpoint: it is a secret, and longer than the column.
            recipient=f"push-subscription:{subscription.id}",
            subject=payload["title"],
            body_text=json.dumps(payload, ensure_ascii=False),
            idempotency_key=f"{idempotency_key[:180]}:s{subscription.id}",
        )
        for subscription in await subscriptions_of(session, user_id, tenant_id)
    ]


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# --- delivery ----------------------------------------------------------------------------


class PushTransport(Protocol):
    async def send(self, message: OutboxMessage) -> None: ...


class WebPushTransport:
    """Encrypts each push to its browser and posts it to the browser's push service."""

    def __init__(
        self, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory

    async def send(self, message: OutboxMessage) -> None:
        subscription_id = int(message.recipient.rsplit(":", 1)[1])
        async with self.session_factory() as session:
            subscription = await session.scalar(
                select(PushSubscription)
                .where(PushSubscription.id == subscription_id)
                .execution_options(all_tenants=True)
            )
            if subscription is None:
                return  # unsubscribed meanwhile: nothing to deliver, and done
            try:
                resolved = await resolve_endpoint(
                    subscription.endpoint, allow_loopback=self.settings.push_allow_loopback
                )
            except (OSError, UnicodeError):
                raise PushServiceError("push service not resolved") from None
            status = await self._post(subscription, resolved, message.body_text)
            if status in GONE:
                await session.execute(
                    delete(PushSubscription)
                    .where(PushSubscription.id == subscription_id)
                    .execution_options(all_tenants=True)
                )
            elif status < 300:
                await session.execute(
                    update(PushSubscription)
                    .where(PushSubscription.id == subscription_id)
                    .values(last_used_at=utcnow())
                    .execution_options(all_tenants=True)
                )
            await session.commit()
        if status >= 300 and status not in GONE:
            raise PushServiceError(f"push service answered {status}")

    def vapid_headers(self, endpoint: str) -> dict[str, str]:
        """``Authorization: vapid t=<ES256 JWT>, k=<public key>`` for the endpoint's
        push service (the JWT's ``aud`` is its origin)."""
        parts = urlsplit(endpoint)
        claims = {
            "sub": self.settings.push_subject,
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + 12 * 3600,
        }
        return dict(Vapid02(vapid_keys(self.settings).private_key).sign(claims))

    async def _post(
        self, subscription: PushSubscription, resolved: ResolvedEndpoint, payload: str
    ) -> int:
        endpoint = resolved.endpoint
        pusher = WebPusher(
            {
                "endpoint": endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            }
        )
        encrypted = pusher.encode(payload.encode("utf-8"), "aes128gcm")
        headers = {
            **self.vapid_headers(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(TTL_SECONDS),
            "Urgency": "high",
        }
        timeout = aiohttp.ClientTimeout(total=SERVICE_TIMEOUT)
        try:
            # Connected only to the addresses checked, whatever the name resolves to now.
            connector = aiohttp.TCPConnector(resolver=PinnedResolver(resolved), use_dns_cache=False)
            async with (
                aiohttp.ClientSession(timeout=timeout, connector=connector) as client,
                client.post(
                    endpoint, data=encrypted["body"], headers=headers, allow_redirects=False
                ) as response,
            ):
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            # The error's text may hold the endpoint, which is a secret.
            raise PushServiceError(f"push service not reached ({type(error).__name__})") from None
