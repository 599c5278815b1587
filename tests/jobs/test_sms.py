"""Delivering text messages: to a real local HTTP gateway, or to files; retried like email."""

import base64
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import OutboxMessage
from app.core.outbox.mail import queue_email
from app.core.outbox.sms import FileSmsTransport, HttpSmsTransport, queue_sms, sms_transport_for
from app.core.settings import Settings, SettingsError, load_settings
from app.jobs.outbox import deliver_due
from tests.factories import free_port, shift_back


class Gateway:
    """A 46elks-style SMS API on loopback that records what it was sent."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode("utf-8")
                gateway.received.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization", ""),
                        "content_type": self.headers.get("Content-Type", ""),
                        "form": {key: values[0] for key, values in parse_qs(body).items()},
                    }
                )
                answer = (
                    json.dumps({"status": "created", "id": "s1"})
                    if gateway.status == 200
                    else "Invalid to number"
                ).encode()
                self.send_response(gateway.status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/a1/sms"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    running = Gateway()
    thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield running
    finally:
        running.server.shutdown()
        running.server.server_close()


def _gateway_settings(settings: Settings, gateway: Gateway) -> Settings:
    return settings.model_copy(
        update={
            "sms_api_url": gateway.url,
            "sms_api_username": "u0123456789",
            "sms_api_password": "the-api-password",
            "sms_from": "Lund",
        }
    )


def _queue(session: AsyncSession, key: str, sensitive: bool = False) -> OutboxMessage:
    return queue_sms(
        session,
        to="+46701112233",
        text="123456 är din inloggningskod till Stemma.",
        idempotency_key=key,
        sensitive=sensitive,
    )


async def test_it_posts_the_form_with_basic_auth_to_the_gateway(
    gateway: Gateway,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
) -> None:
    gateway_settings = _gateway_settings(settings, gateway)
    assert isinstance(sms_transport_for(gateway_settings), HttpSmsTransport)
    _queue(db, "s1", sensitive=True)
    await db.commit()
    sms = HttpSmsTransport(gateway_settings)
    assert await deliver_due(session_factory, FailingMail(), sms=sms) == 1
    [request] = gateway.received
    assert request["path"] == "/a1/sms"
    assert request["content_type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {
        "from": "Lund",
        "to": "+46701112233",
        "message": "123456 är din inloggningskod till Stemma.",
    }
    user, password = base64.b64decode(request["authorization"].removeprefix("Basic ")).split(b":")
    assert (user, password) == (b"u0123456789", b"the-api-password")
    row = (await db.scalars(select(OutboxMessage).execution_options(populate_existing=True))).one()
    assert row.status == "sent" and row.sent_at is not None
    # The code is gone from the database once it is on its way.
    assert "123456" not in row.body_text
    assert await deliver_due(session_factory, FailingMail(), sms=sms) == 0
    assert len(gateway.received) == 1


async def test_it_retries_when_the_gateway_refuses(
    gateway: Gateway,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
) -> None:
    gateway.status = 403
    sms = HttpSmsTransport(_gateway_settings(settings, gateway))
    _queue(db, "refused")
    await db.commit()
    assert await deliver_due(session_factory, FailingMail(), sms=sms) == 0
    row = (await db.scalars(select(OutboxMessage).execution_options(populate_existing=True))).one()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "gateway answered 403: Invalid to number" in (row.last_error or "")
    gateway.status = 200
    await shift_back(db, OutboxMessage, "next_attempt_at", timedelta(minutes=5))
    assert await deliver_due(session_factory, FailingMail(), sms=sms) == 1
    assert len(gateway.received) == 2


async def test_it_retries_when_the_gateway_is_down(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    down = settings.model_copy(
        update={
            "sms_api_url": f"http://127.0.0.1:{free_port()}/a1/sms",
            "sms_api_username": "u",
            "sms_api_password": "p",
        }
    )
    _queue(db, "down")
    await db.commit()
    assert await deliver_due(session_factory, FailingMail(), sms=HttpSmsTransport(down)) == 0
    row = (await db.scalars(select(OutboxMessage).execution_options(populate_existing=True))).one()
    assert (row.status, row.attempts) == ("pending", 1)


async def test_it_writes_each_text_to_a_file_by_default(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    transport = sms_transport_for(settings)
    assert isinstance(transport, FileSmsTransport)
    message = _queue(db, "file")
    await db.commit()
    assert await deliver_due(session_factory, FailingMail(), sms=transport) == 1
    folder: Path = settings.outbox_dir / "sms"
    [path] = folder.glob("*.json")
    assert path.name == f"{message.id:08d}.json"
    written = json.loads(path.read_text("utf-8"))
    assert (written["from"], written["to"]) == ("Stemma", "+46701112233")
    assert written["message"] == "123456 är din inloggningskod till Stemma."
    assert not list(folder.glob("*.tmp"))


class FailingMail:
    """Mail must not be used for a text message."""

    async def send(self, message: OutboxMessage) -> None:
        raise AssertionError(f"mail transport used for {message.channel}")


class RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, message: OutboxMessage) -> None:
        self.sent.append((message.channel, message.recipient))


async def test_it_sends_each_row_through_its_own_channel(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    queue_email(
        db,
        to="clerk@lund.test",
        template="password_reset",
        locale="en",
        idempotency_key="mail",
        name="Robin",
        link="http://localhost/password/reset/x",
        minutes=60,
    )
    _queue(db, "text")
    await db.commit()
    mail, sms = RecordingTransport(), RecordingTransport()
    assert await deliver_due(session_factory, mail, sms=sms) == 2
    assert mail.sent == [("email", "clerk@lund.test")]
    assert sms.sent == [("sms", "+46701112233")]


async def test_it_keeps_a_text_for_later_when_the_worker_has_no_sms_transport(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    _queue(db, "later")
    await db.commit()
    assert await deliver_due(session_factory, RecordingTransport()) == 0
    row = (await db.scalars(select(OutboxMessage).execution_options(populate_existing=True))).one()
    assert row.status == "pending"
    assert "no transport for channel 'sms'" in (row.last_error or "")


def test_it_refuses_a_bad_sender_or_a_gateway_without_credentials(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="STEMMA_SMS_FROM"):
        load_settings(data_dir=tmp_path, sms_from="Valkansliet Lund")
    with pytest.raises(SettingsError, match="STEMMA_SMS_API_USERNAME"):
        load_settings(data_dir=tmp_path, sms_api_url="https://api.46elks.com/a1/sms")
    number = load_settings(data_dir=tmp_path, sms_from="+46766861004")
    assert number.sms_from == "+46766861004"
