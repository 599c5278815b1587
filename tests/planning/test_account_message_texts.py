"""The accounts' mail in the office's words: an invitation edited on the Meddelanden page
is what the invited user receives (through a real SMTP server); a text that drops the
link or names an unknown field is refused at the field and saves nothing; a password
reset of a member is the municipality's, and an account of no municipality gets the
fixed text."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.accounts.passwords import request_password_reset
from app.core.accounts.second_factor_admin import reset_second_factor
from app.core.audit import Actor
from app.core.models import Membership, Tenant, User
from app.core.outbox.mail import SmtpMailTransport
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.domain.messaging import editing
from app.domain.models import MessageTemplateVersion
from app.jobs.outbox import deliver_due
from tests.factories import free_port, login, make_user, post_form
from tests.jobs.test_mail_delivery import Server

EDITOR = "/{slug}/planning/message-templates/invitation/email/sv"
INVITATION = {
    "subject": "Välkommen till valet i {{ municipality.name }}",
    "body": (
        "Hej {{ person.first_name }}!\n\n"
        "Valnämnden har gett dig ett konto. Välj ditt lösenord här:\n\n"
        "{{ account.link }}\n\n"
        "Länken gäller i {{ account.valid_for }}."
    ),
}


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Server]]:
    server = Server()
    controller = Controller(server, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, server
    finally:
        controller.stop()


async def _deliver(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    smtp: tuple[Controller, Server],
) -> dict[str, EmailMessage]:
    controller, server = smtp
    transport = SmtpMailTransport(
        settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": controller.port, "smtp_starttls": False}
        )
    )
    await deliver_due(session_factory, transport)
    mails = [message_from_bytes(raw, policy=policy.default) for raw in server.messages]
    return {str(mail["To"]): mail for mail in mails}  # type: ignore[misc]


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]


async def _versions(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(MessageTemplateVersion)) or 0)


async def test_an_edited_invitation_is_what_the_invited_user_receives(
    client: QuartClient,
    admin: User,
    tenant: Tenant,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    smtp: tuple[Controller, Server],
) -> None:
    await login(client, admin)
    editor = EDITOR.format(slug=tenant.slug)
    page = await (await client.get(editor)).get_data(as_text=True)
    # The default is today's text, with the link as a field.
    assert "Du har fått ett konto i Stemma" in page and "{{ account.link }}" in page
    saved = await post_form(client, editor, INVITATION)
    assert saved.status_code == 302
    invited = await post_form(
        client,
        f"/{tenant.slug}/planning/admin/users",
        {"name": "Nora Ny", "email": "nora@lund.test", "role": "coordinator"},
    )
    assert invited.status_code == 302
    mail = (await _deliver(settings, session_factory, smtp))["nora@lund.test"]
    assert mail["Subject"] == f"Välkommen till valet i {tenant.name}"
    text = _text(mail)
    assert text.startswith("Hej Nora!\n\nValnämnden har gett dig ett konto.")
    assert "http://localhost/password/reset?token=" in text
    assert "Länken gäller i 1 vecka." in text
    # The link works: it opens the page that sets the password.
    link = next(line for line in text.splitlines() if "/password/reset?token=" in line)
    opened = await client.get(link.removeprefix("http://localhost"))
    assert opened.headers["Location"].endswith("/password/reset")
    form = await client.get("/password/reset")
    assert form.status_code == 200


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("Hej {{ person.first_name }}! Välkommen.", "{{ account.link }}"),
        ("Hej!\n\n{% if contact.phone %}{{ account.link }}{% endif %}", "{{ account.link }}"),
        ("Hej!\n\n{{ account.link | upper }}", "{{ account.link }}"),
        ("Hej {{ person.personnummer }}!\n\n{{ account.link }}", "person.personnummer"),
    ],
)
async def test_a_text_without_the_link_or_with_an_unknown_field_is_refused_at_the_field(
    client: QuartClient, admin: User, tenant: Tenant, db: AsyncSession, body: str, words: str
) -> None:
    await login(client, admin)
    editor = EDITOR.format(slug=tenant.slug).replace("invitation", "password_reset")
    response = await post_form(client, editor, {"subject": "Nytt lösenord", "body": body})
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert words in page and 'id="error-summary"' in page
    assert "Behåll fältet" in page or "okänt fält" in page
    with tenant_scope(tenant.id):
        assert await _versions(db) == 0


async def test_a_members_password_reset_is_the_municipalitys_and_a_strangers_the_fixed(
    db: AsyncSession,
    tenant: Tenant,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    smtp: tuple[Controller, Server],
) -> None:
    member = await make_user(db, tenant, "planner", email="member@lund.test")
    loner = User(email="loner@lund.test", name="Ola Ensam", password_hash=None)
    db.add(loner)
    await db.commit()
    with tenant_scope(tenant.id):
        await editing.save_text(
            db,
            Actor.system("test"),
            "password_reset",
            "email",
            "sv",
            {"subject": "Lösenord hos {{ municipality.name }}", "body": "{{ account.link }}"},
        )
        assert await db.scalar(select(Membership.id).where(Membership.user_id == member.id))
    for address in ("member@lund.test", "loner@lund.test"):
        await request_password_reset(db, settings, address, "sv", "127.0.0.1")
    mails = await _deliver(settings, session_factory, smtp)
    assert mails["member@lund.test"]["Subject"] == f"Lösenord hos {tenant.name}"
    assert _text(mails["member@lund.test"]).startswith("http://localhost/password/reset?token=")
    assert mails["loner@lund.test"]["Subject"] == "Välj ett nytt lösenord för Stemma"
    assert "Hej Ola Ensam!" in _text(mails["loner@lund.test"])


async def test_a_second_factor_reset_is_told_in_the_offices_words(
    db: AsyncSession,
    tenant: Tenant,
    admin: User,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    smtp: tuple[Controller, Server],
) -> None:
    member = await make_user(db, tenant, "planner", email="lost@lund.test")
    with tenant_scope(tenant.id):
        await editing.save_text(
            db,
            Actor.system("test"),
            "second_factor_reset",
            "email",
            "sv",
            {
                "subject": "Din app är borttagen",
                "body": "Ring {{ contact.email }}, {{ person.name }}.",
            },
        )
        membership = await db.scalar(select(Membership).where(Membership.user_id == member.id))
        assert membership is not None
        await reset_second_factor(db, Actor.for_user(admin, "127.0.0.1"), membership.id, "sv")
    mail = (await _deliver(settings, session_factory, smtp))["lost@lund.test"]
    assert mail["Subject"] == "Din app är borttagen"
    assert _text(mail).startswith("Ring ") and f", {member.name}." in _text(mail)
