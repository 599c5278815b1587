"""Putting emails in the outbox, rendering them, and the transports that deliver them.

Services never send directly: they call ``queue_email`` inside their transaction, and
the outbox worker (``app.jobs.outbox``) delivers after commit. The embedded default
writes each message as an ``.eml`` file under ``<data_dir>/outbox/mail``; production
sends through SMTP.
"""

from __future__ import annotations

import os
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import locale_scope, raw_gettext, raw_ngettext
from app.core.models import OutboxMessage
from app.core.outbox.rows import SendReceipt, add_outbox_message
from app.core.outbox.senders import current_sender
from app.core.settings import Settings

EMAIL_TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "emails"

_email_env = Environment(
    loader=FileSystemLoader(EMAIL_TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    extensions=["jinja2.ext.i18n"],
    keep_trailing_newline=True,
)
_email_env.install_gettext_callables(raw_gettext, raw_ngettext, newstyle=True)  # type: ignore[attr-defined]


def render_email(template: str, locale: str, **context: Any) -> tuple[str, str, str]:
    """Render ``emails/<template>.subject.txt``, ``.txt`` and ``.html`` in ``locale``."""
    with locale_scope(locale):
        subject = _email_env.get_template(f"{template}.subject.txt").render(**context)
        # A header is one line, whatever the context held.
        subject = " ".join(subject.split())
        text = _email_env.get_template(f"{template}.txt").render(**context)
        html = _email_env.get_template(f"{template}.html").render(**context)
    return subject, text, html


def queue_email(
    session: AsyncSession,
    *,
    to: str,
    template: str,
    locale: str,
    idempotency_key: str,
    tenant_id: int | None = None,
    sensitive: bool = False,
    **context: Any,
) -> OutboxMessage:
    """Add a rendered email to the outbox in the caller's transaction.

    ``sensitive`` mail (a password link) has its bodies blanked once delivered, so
    the database never keeps a working secret.
    """
    subject, text, html = render_email(template, locale, **context)
    return add_outbox_message(
        session,
        tenant_id=tenant_id,
        channel="email",
        recipient=to,
        subject=subject,
        body_text=text,
        body_html=html,
        idempotency_key=idempotency_key,
        sensitive=sensitive,
    )


def build_email(message: OutboxMessage, sender: str) -> EmailMessage:
    """The mail as the current municipality signs it (``current_sender``): its name
    and address, its Reply-To; ``sender`` (the instance's) for what it leaves empty."""
    identity = current_sender()
    email = EmailMessage()
    email["From"] = identity.mail_from(sender) if identity else sender
    if identity and identity.mail_reply_to:
        email["Reply-To"] = identity.mail_reply_to
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(idstring=f"stemma-{message.id}")
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    return email


class MailTransport(Protocol):
    async def send(self, message: OutboxMessage) -> SendReceipt | None: ...


class MailRefused(Exception):
    """The SMTP server refused the mail for good (a 5xx reply): it is not retried."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


def _reply_of(error: aiosmtplib.SMTPException) -> tuple[int, str]:
    """The code and words of the server's refusal; of the first recipient when the
    server refused them all."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        error = error.recipients[0]
    code = getattr(error, "code", 0) or 0
    words = " ".join(str(getattr(error, "message", "") or error).split())
    return int(code), f"{code} {words}"[:300]


class FileMailTransport:
    """Writes each email as an .eml file, for the embedded default and development."""

    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    async def send(self, message: OutboxMessage) -> SendReceipt | None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{message.id:08d}.eml"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(bytes(build_email(message, self.sender)))
        os.replace(temporary, path)
        return None


class SmtpMailTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: OutboxMessage) -> SendReceipt:
        """Hand the mail to the SMTP server. A 5xx refusal raises MailRefused (for
        good); a 4xx one or a lost connection an ordinary error (tried again later)."""
        settings = self.settings
        assert settings.smtp_host
        email = build_email(message, settings.mail_from)
        try:
            await aiosmtplib.send(
                email,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=settings.smtp_password,
                start_tls=settings.smtp_starttls,
                timeout=30,
            )
        except (
            aiosmtplib.SMTPRecipientsRefused,
            aiosmtplib.SMTPSenderRefused,
            aiosmtplib.SMTPDataError,
            aiosmtplib.SMTPResponseException,
        ) as error:
            code, reply = _reply_of(error)
            if 500 <= code < 600:
                raise MailRefused(reply) from None
            raise
        return SendReceipt(provider_id=str(email["Message-ID"])[:100])


def mail_transport_for(settings: Settings) -> MailTransport:
    if settings.smtp_host:
        return SmtpMailTransport(settings)
    return FileMailTransport(settings.outbox_dir / "mail", settings.mail_from)
