"""Putting text messages in the outbox, and the transports that deliver them.

As with email, services never send directly: they call ``queue_sms`` inside their
transaction and the outbox worker (``app.jobs.outbox``) delivers after commit. The
embedded default writes each message as a JSON file under ``<data_dir>/outbox/sms``;
production posts to a 46elks-style HTTP gateway.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import AsyncIterator
from contextvars import ContextVar
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxMessage, utcnow
from app.core.outbox.rows import SendReceipt, add_outbox_message
from app.core.outbox.senders import callback_url, current_sender
from app.core.outbox.throttle import Throttle, throttle_for
from app.core.settings import Settings

#: Seconds to wait for the gateway before the send counts as failed (and is retried).
GATEWAY_TIMEOUT = 30
#: The gateway's clock and ours may differ: its list is read from this much earlier.
LIST_SKEW = timedelta(minutes=2)
#: Pages of the gateway's list read at most (100 SMS each) when looking for a send.
LIST_PAGES = 20


def queue_sms(
    session: AsyncSession,
    *,
    to: str,
    text: str,
    idempotency_key: str,
    tenant_id: int | None = None,
    sensitive: bool = False,
) -> OutboxMessage:
    """Add a text message for ``to`` (E.164) to the outbox in the caller's transaction.

    ``sensitive`` messages (a sign-in code) have their text blanked once delivered.
    """
    return add_outbox_message(
        session,
        tenant_id=tenant_id,
        channel="sms",
        recipient=to,
        body_text=text,
        idempotency_key=idempotency_key,
        sensitive=sensitive,
    )


class SmsTransport(Protocol):
    async def send(self, message: OutboxMessage) -> SendReceipt | None: ...


class SmsGatewayError(Exception):
    """The gateway answered, but not with success; the outbox retries later."""


class SmsOutcomeUnknown(Exception):
    """The request went out and its answer was lost: the gateway may hold the SMS."""


class FileSmsTransport:
    """Writes each text message as a JSON file, for the embedded default and development."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    async def send(self, message: OutboxMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{message.id:08d}.json"
        temporary = path.with_suffix(".tmp")
        identity = current_sender()
        record = {
            "id": message.id,
            "from": (identity.sms_sender if identity else "") or self.sender,
            "to": message.recipient,
            "message": message.body_text,
            "written_at": utcnow().isoformat(),
        }
        temporary.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(temporary, path)


class HttpSmsTransport:
    """Posts to a 46elks-style API: form fields ``from``, ``to``, ``message`` and
    ``whendelivered``, basic auth; keeps the gateway's id of each SMS.

    An answer lost after the request went out (a timeout, a dropped connection) raises
    ``SmsOutcomeUnknown``: the gateway may hold the SMS, so the worker does not post it
    again before ``find_sent`` has looked for it in the gateway's own list.
    """

    #: How many posts one worker has in flight at once.
    concurrency = 32

    def __init__(
        self,
        settings: Settings,
        throttle: Throttle | None = None,
        timeout: float = GATEWAY_TIMEOUT,
    ) -> None:
        assert settings.sms_api_url
        self.timeout = timeout
        self.url = settings.sms_api_url
        self.sender = settings.sms_from
        self.base_url = settings.base_url if settings.sms_delivery_reports else None
        credentials = f"{settings.sms_api_username or ''}:{settings.sms_api_password or ''}"
        self._authorization = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
        self.throttle = throttle or throttle_for(
            settings.sms_rate, settings.redis_url, settings.redis_channel_prefix
        )
        self._client: ContextVar[aiohttp.ClientSession | None] = ContextVar(
            "stemma_sms_client", default=None
        )

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        """Keep connections to the gateway open for the sends within (a round of the
        worker's); closed after."""
        client = aiohttp.ClientSession(
            headers={"Authorization": self._authorization, "User-Agent": "Stemma"},
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            connector=aiohttp.TCPConnector(limit=self.concurrency),
        )
        token = self._client.set(client)
        try:
            yield
        finally:
            self._client.reset(token)
            await client.close()

    def form_for(self, message: OutboxMessage) -> dict[str, str]:
        identity = current_sender()
        form = {
            "from": (identity.sms_sender if identity else "") or self.sender,
            "to": message.recipient,
            "message": message.body_text,
        }
        if identity is not None and self.base_url:
            form["whendelivered"] = callback_url(self.base_url, identity, "delivered")
        return form

    async def send(self, message: OutboxMessage) -> SendReceipt:
        client = self._client.get()
        if client is None:
            async with self.connected():
                return await self.send(message)
        form = self.form_for(message)
        await self.throttle.take()
        try:
            async with client.post(self.url, data=form) as response:
                body = await response.text()
                status = response.status
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as error:
            # Never connected: the gateway has nothing, an ordinary retry is safe.
            raise SmsGatewayError(f"gateway unreachable: {type(error).__name__}") from None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise SmsOutcomeUnknown(f"no answer from the gateway: {type(error).__name__}") from None
        if status >= 400:
            # The gateway's own words help the operator; a short piece of them is enough.
            raise SmsGatewayError(f"gateway answered {status}: {body[:300].strip()}")
        try:
            answer = json.loads(body)
            return SendReceipt(provider_id=str(answer["id"])[:100])
        except (ValueError, KeyError, TypeError):
            # Accepted, but no id to follow its delivery by.
            return SendReceipt(provider_id=None, detail=f"gateway answered {status}")

    async def find_sent(self, message: OutboxMessage, since: datetime) -> list[str]:
        """The gateway's ids of SMS it holds to this message's number with its text,
        created since ``since`` (oldest first): the sends whose answer was lost.
        Raises SmsGatewayError when the list cannot be read (then nothing is known)."""
        client = self._client.get()
        if client is None:
            async with self.connected():
                return await self.find_sent(message, since)
        after = (since - LIST_SKEW).replace(tzinfo=None).isoformat()
        params = {"to": message.recipient, "end": after, "limit": "100"}
        found: list[str] = []
        for _page in range(LIST_PAGES):
            try:
                async with client.get(self.url, params=params) as response:
                    if response.status >= 400:
                        raise SmsGatewayError(f"gateway list answered {response.status}")
                    answer = await response.json(content_type=None)
            except (TimeoutError, aiohttp.ClientError, ValueError) as error:
                raise SmsGatewayError(f"gateway list unreadable: {type(error).__name__}") from None
            for sms in answer.get("data", []):
                if (
                    sms.get("direction", "outgoing") == "outgoing"
                    and sms.get("to") == message.recipient
                    and sms.get("message") == message.body_text
                    and str(sms.get("created", "")) >= after
                ):
                    found.append(str(sms["id"]))
            if not answer.get("next"):
                return found[::-1]  # the gateway lists the newest first
            params = {**params, "start": str(answer["next"])}
        raise SmsGatewayError("gateway list longer than we read")


def sms_transport_for(settings: Settings) -> SmsTransport:
    if settings.sms_api_url:
        return HttpSmsTransport(settings)
    return FileSmsTransport(settings.outbox_dir / "sms", settings.sms_from)
