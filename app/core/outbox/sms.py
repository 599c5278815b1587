"""Putting text messages in the outbox, and the transports that deliver them.

As with email, services never send directly: they call ``queue_sms`` inside their
transaction and the outbox worker (``app.jobs.outbox``) delivers after commit. The
embedded default writes each message as a JSON file under ``<data_dir>/outbox/sms``;
production posts to a 46elks-style HTTP gateway.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxMessage, utcnow
from app.core.outbox.rows import add_outbox_message
from app.core.settings import Settings

#: Seconds to wait for the gateway before the send counts as failed (and is retried).
GATEWAY_TIMEOUT = 30


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
    async def send(self, message: OutboxMessage) -> None: ...


class SmsGatewayError(Exception):
    """The gateway answered, but not with success; the outbox retries later."""


class FileSmsTransport:
    """Writes each text message as a JSON file, for the embedded default and development."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    async def send(self, message: OutboxMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{message.id:08d}.json"
        temporary = path.with_suffix(".tmp")
        record = {
            "id": message.id,
            "from": self.sender,
            "to": message.recipient,
            "message": message.body_text,
            "written_at": utcnow().isoformat(),
        }
        temporary.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(temporary, path)


class HttpSmsTransport:
    """Posts to a 46elks-style API: form fields ``from``, ``to``, ``message``, basic auth.

    Uses the standard library in a thread: one small request per message does not
    justify another HTTP client dependency.
    """

    def __init__(self, settings: Settings) -> None:
        assert settings.sms_api_url
        self.url = settings.sms_api_url
        self.sender = settings.sms_from
        credentials = f"{settings.sms_api_username or ''}:{settings.sms_api_password or ''}"
        self._authorization = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")

    async def send(self, message: OutboxMessage) -> None:
        form = {"from": self.sender, "to": message.recipient, "message": message.body_text}
        await asyncio.to_thread(self._post, urllib.parse.urlencode(form).encode("utf-8"))

    def _post(self, body: bytes) -> None:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in Settings
            self.url,
            data=body,
            method="POST",
            headers={
                "Authorization": self._authorization,
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "Stemma",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=GATEWAY_TIMEOUT) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as error:
            # The gateway's own words help the operator; a short piece of them is enough.
            detail = error.read(300).decode("utf-8", "replace").strip()
            raise SmsGatewayError(f"gateway answered {error.code}: {detail}") from None


def sms_transport_for(settings: Settings) -> SmsTransport:
    if settings.sms_api_url:
        return HttpSmsTransport(settings)
    return FileSmsTransport(settings.outbox_dir / "sms", settings.sms_from)
