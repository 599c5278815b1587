"""Delivering the outbox: through a real SMTP server, once each, with retries."""

import asyncio
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import OutboxMessage
from app.core.outbox.mail import FileMailTransport, SmtpMailTransport, queue_email
from app.core.settings import Settings
from app.jobs.outbox import claim_due, deliver_due
from tests.conftest import TEST_DATABASE_URL
from tests.factories import free_port, shift_back


class Recorder:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp_server() -> object:
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, recorder
    finally:
        controller.stop()


def _queue(session: AsyncSession, key: str, to: str = "clerk@lund.test") -> OutboxMessage:
    return queue_email(
        session,
        to=to,
        template="password_reset",
        locale="en",
        idempotency_key=key,
        name="Robin",
        link="http://localhost/password/reset/x",
        minutes=60,
    )


async def test_it_sends_through_a_real_smtp_server(
    smtp_server: tuple[Controller, Recorder],
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
) -> None:
    controller, recorder = smtp_server
    smtp_settings = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": controller.port,
            "smtp_starttls": False,
            "mail_from": "Lunds valkansli <val@lund.test>",
        }
    )
    _queue(db, "k1")
    await db.commit()
    assert await deliver_due(session_factory, SmtpMailTransport(smtp_settings)) == 1
    assert len(recorder.messages) == 1
    mail = message_from_bytes(recorder.messages[0], policy=policy.default)
    assert mail["To"] == "clerk@lund.test"
    assert mail["From"] == "Lunds valkansli <val@lund.test>"
    assert mail["Subject"] == "Choose a new password for Stemma"
    row = (await db.scalars(select(OutboxMessage).execution_options(populate_existing=True))).one()
    assert row.status == "sent" and row.sent_at is not None
    # Running again sends nothing more.
    assert await deliver_due(session_factory, SmtpMailTransport(smtp_settings)) == 0
    assert len(recorder.messages) == 1


async def test_it_refuses_a_second_row_with_the_same_idempotency_key(db: AsyncSession) -> None:
    _queue(db, "same")
    await db.commit()
    _queue(db, "same")
    with pytest.raises(IntegrityError):
        await db.commit()


class FlakyTransport:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[int] = []

    async def send(self, message: OutboxMessage) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("smtp down")
        self.sent.append(message.id)


async def test_it_retries_a_failed_send_later(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    _queue(db, "retry")
    await db.commit()
    transport = FlakyTransport(failures=1)
    assert await deliver_due(session_factory, transport) == 0
    row = (await db.scalars(select(OutboxMessage).execution_options(populate_existing=True))).one()
    assert (row.status, row.attempts) == ("pending", 1)
    assert "smtp down" in (row.last_error or "")
    # Not due again until the backoff has passed.
    assert await deliver_due(session_factory, transport) == 0
    await shift_back(db, OutboxMessage, "next_attempt_at", timedelta(minutes=5))
    assert await deliver_due(session_factory, transport) == 1
    assert transport.sent == [row.id]


async def test_it_writes_eml_files_in_the_embedded_default(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    _queue(db, "file")
    await db.commit()
    folder = settings.outbox_dir / "mail"
    assert await deliver_due(session_factory, FileMailTransport(folder, settings.mail_from)) == 1
    files = list(folder.glob("*.eml"))
    assert len(files) == 1 and not list(folder.glob("*.tmp"))


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="row locks need PostgreSQL")
async def test_it_never_lets_two_workers_claim_the_same_row(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    for number in range(40):
        _queue(db, f"parallel-{number}")
    await db.commit()

    async def claim() -> list[int]:
        async with session_factory() as session:
            return [row.id for row in await claim_due(session, limit=25)]

    first, second = await asyncio.gather(claim(), claim())
    assert not set(first) & set(second)
    assert len(first) + len(second) == 40


async def test_it_blanks_a_sensitive_mail_once_delivered(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    message = _queue(db, "secret")
    message.sensitive = True
    await db.commit()
    await deliver_due(
        session_factory, FileMailTransport(settings.outbox_dir / "mail", settings.mail_from)
    )
    row = (await db.scalars(select(OutboxMessage).execution_options(populate_existing=True))).one()
    assert row.status == "sent"
    assert "password/reset" not in row.body_text and row.body_html is None


async def test_it_never_lets_two_workers_send_the_same_mail(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession
) -> None:
    for number in range(30):
        _queue(db, f"once-{number}")
    await db.commit()

    class Recording:
        def __init__(self) -> None:
            self.sent: list[int] = []

        async def send(self, message: OutboxMessage) -> None:
            await asyncio.sleep(0)
            self.sent.append(message.id)

    transport = Recording()

    async def worker() -> None:
        while await deliver_due(session_factory, transport, limit=4):
            pass

    await asyncio.gather(worker(), worker(), worker())
    assert sorted(transport.sent) == sorted(set(transport.sent))
    assert len(transport.sent) == 30
