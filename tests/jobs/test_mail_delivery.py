"""Mail from the municipality, through a real SMTP server (aiosmtpd): accepted, refused
for good (5xx: not tried again) or for now (4xx: tried again later)."""

from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant, utcnow
from app.core.outbox.mail import SmtpMailTransport, queue_email
from app.core.outbox.senders import update_sender
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.jobs.outbox import deliver_due
from tests.factories import free_port


class Server:
    """Accepts every mail but to the addresses it is told to refuse."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.refusals: dict[str, str] = {}

    async def handle_RCPT(
        self, server: object, session: object, envelope: object, address: str, options: object
    ) -> str:
        if address in self.refusals:
            return self.refusals[address]
        envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Server]]:
    server = Server()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, server
    finally:
        controller.stop()


def _transport(settings: Settings, controller: Controller) -> SmtpMailTransport:
    return SmtpMailTransport(
        settings.model_copy(
            update={
                "smtp_host": "127.0.0.1",
                "smtp_port": controller.port,
                "smtp_starttls": False,
                "mail_from": "Stemma <no-reply@stemma.test>",
            }
        )
    )


async def _queue(db: AsyncSession, tenant: Tenant | None, to: str) -> None:
    def queue() -> None:
        queue_email(
            db,
            to=to,
            template="password_reset",
            locale="sv",
            idempotency_key=to,
            name="Robin",
            link="http://localhost/password/reset/x",
            minutes=60,
        )

    if tenant is None:
        queue()
    else:
        with tenant_scope(tenant.id):
            queue()
    await db.commit()


async def _row(db: AsyncSession, tenant: Tenant) -> OutboxMessage:
    with tenant_scope(tenant.id):
        return (
            await db.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.tenant_id == tenant.id)
                .execution_options(populate_existing=True)
            )
        ).one()


async def test_mail_goes_from_the_municipality_and_its_acceptance_is_kept(
    smtp: tuple[Controller, Server],
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
) -> None:
    controller, server = smtp
    with tenant_scope(tenant.id):
        await update_sender(
            db,
            Actor.system("test"),
            {
                "mail_from_name": "Valnämnden i Lund",
                "mail_from_address": "valnamnden@lund.test",
                "mail_reply_to": "val@lund.test",
            },
        )
    await _queue(db, tenant, "clerk@lund.test")
    await _queue(db, None, "account@lund.test")
    assert await deliver_due(session_factory, _transport(settings, controller)) == 2
    mails = {
        mail["To"]: mail
        for mail in (message_from_bytes(raw, policy=policy.default) for raw in server.messages)
    }
    municipal = mails["clerk@lund.test"]
    assert municipal["From"] == "Valnämnden i Lund <valnamnden@lund.test>"
    assert municipal["Reply-To"] == "val@lund.test"
    # Mail outside any municipality stays the instance's.
    assert mails["account@lund.test"]["From"] == "Stemma <no-reply@stemma.test>"
    assert mails["account@lund.test"]["Reply-To"] is None
    row = await _row(db, tenant)
    assert row.status == "sent" and row.delivery_state is None
    assert row.provider_id == municipal["Message-ID"]


async def test_a_municipality_that_set_nothing_signs_with_its_name(
    smtp: tuple[Controller, Server],
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
) -> None:
    controller, server = smtp
    await _queue(db, tenant, "clerk@lund.test")
    assert await deliver_due(session_factory, _transport(settings, controller)) == 1
    mail = message_from_bytes(server.messages[0], policy=policy.default)
    assert mail["From"] == "Lunds kommun <no-reply@stemma.test>"


async def test_a_refusal_for_good_is_kept_with_the_servers_reply_and_not_retried(
    smtp: tuple[Controller, Server],
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
) -> None:
    controller, server = smtp
    server.refusals["gone@lund.test"] = "550 5.1.1 No such user here"
    await _queue(db, tenant, "gone@lund.test")
    assert await deliver_due(session_factory, _transport(settings, controller)) == 0
    row = await _row(db, tenant)
    assert row.status == "failed" and row.delivery_state == "refused"
    assert row.delivery_detail is not None and row.delivery_detail.startswith("550")
    assert "No such user" in row.delivery_detail
    assert row.attempts == 1 and server.messages == []


async def test_a_refusal_for_now_is_tried_again_later(
    smtp: tuple[Controller, Server],
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
) -> None:
    controller, server = smtp
    server.refusals["busy@lund.test"] = "451 4.3.0 Mailbox busy, try again later"
    await _queue(db, tenant, "busy@lund.test")
    assert await deliver_due(session_factory, _transport(settings, controller)) == 0
    row = await _row(db, tenant)
    assert row.status == "pending" and row.delivery_state is None
    assert row.next_attempt_at > utcnow()
    assert row.last_error is not None and "451" in row.last_error
