"""The municipality as sender: the From and Reply-To of its mail, the sender id of its
SMS, and the secret in its gateway callback addresses.

The outbox worker reads a municipality's ``SenderIdentity`` once per round and sends
that round's rows as it (``sending_as``); the transports ask ``current_sender()`` and
fall back to the instance's ``mail_from`` and ``sms_from`` for what it leaves empty,
and for mail outside any municipality.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.audit import Actor
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.models import MessageSender, Tenant, utcnow
from app.core.settings import SMS_SENDER_NAME, SMS_SENDER_NUMBER
from app.core.tenancy import require_tenant_id
from app.core.validation import EMAIL_PATTERN, Cleaner, FieldErrors

#: The fields of the settings form, in its order.
SENDER_FIELDS = ("mail_from_name", "mail_from_address", "mail_reply_to", "sms_sender")


class SenderError(DomainError):
    """A sender setting the gateway or a mail server would not take."""


@dataclass(frozen=True)
class SenderIdentity:
    """How one municipality's messages go out; empty fields take the instance's."""

    tenant_id: int
    tenant_slug: str
    #: "Name <address>": the municipality's name (or the name it chose) and its
    #: address, or the instance's address.
    mail_from_name: str
    mail_from_address: str
    mail_reply_to: str
    sms_sender: str
    callback_token: str

    def mail_from(self, fallback: str) -> str:
        fallback_name, fallback_address = parseaddr(fallback)
        return formataddr(
            (self.mail_from_name or fallback_name, self.mail_from_address or fallback_address)
        )


_current: ContextVar[SenderIdentity | None] = ContextVar("stemma_sender", default=None)


def current_sender() -> SenderIdentity | None:
    """The municipality whose messages are being sent now (none: the instance's own)."""
    return _current.get()


@contextlib.contextmanager
def sending_as(identity: SenderIdentity | None) -> Iterator[None]:
    token = _current.set(identity)
    try:
        yield
    finally:
        _current.reset(token)


def new_callback_token() -> str:
    return secrets.token_urlsafe(32)


async def get_sender(session: AsyncSession) -> MessageSender | None:
    """The current municipality's sender settings, if it has saved or used any."""
    return await session.scalar(select(MessageSender))


async def write_sender(session: AsyncSession) -> MessageSender:
    """The current municipality's row, made with a fresh callback secret when missing.
    Does not commit."""
    sender = await get_sender(session)
    if sender is None:
        sender = MessageSender(callback_token=new_callback_token())
        session.add(sender)
        await session.flush()
    return sender


async def sender_identity(session: AsyncSession) -> SenderIdentity:
    """The current municipality's identity for a round of sending; makes (and commits)
    its row the first time, so its callback addresses have their secret."""
    tenant_id = require_tenant_id()
    sender = await get_sender(session)
    if sender is None:
        sender = await write_sender(session)
        await session.commit()
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    return SenderIdentity(
        tenant_id=tenant_id,
        tenant_slug=tenant.slug,
        mail_from_name=sender.mail_from_name or tenant.name,
        mail_from_address=sender.mail_from_address,
        mail_reply_to=sender.mail_reply_to,
        sms_sender=sender.sms_sender,
        callback_token=sender.callback_token,
    )


def _address(cleaner: Cleaner, field: str) -> str:
    value = cleaner.text(field, 254)
    if value and not EMAIL_PATTERN.match(value):
        cleaner.fail(field, _("Enter an e-mail address such as valnamnden@kommun.se."))
    return value


def _sms_sender(cleaner: Cleaner) -> str:
    value = cleaner.text("sms_sender", 20)
    if value.startswith("+"):
        value = re.sub(r"[\s-]", "", value)
    if value and not (SMS_SENDER_NAME.match(value) or SMS_SENDER_NUMBER.match(value)):
        cleaner.fail(
            "sms_sender",
            _(
                "Use 3 to 11 letters A-Z and digits, starting with a letter (no spaces, "
                "dots or å, ä, ö), or a phone number such as +46701234567 to get replies."
            ),
        )
    return value


def clean_sender_form(form: Mapping[str, Any]) -> dict[str, str]:
    """The settings as given, or a FieldErrors naming each wrong field."""
    cleaner = Cleaner(form)
    name = cleaner.text("mail_from_name", 100)
    if any(mark in name for mark in '<>"@'):
        cleaner.fail("mail_from_name", _("A name only: no address, quotes or angle brackets."))
    values = {
        "mail_from_name": name,
        "mail_from_address": _address(cleaner, "mail_from_address"),
        "mail_reply_to": _address(cleaner, "mail_reply_to"),
        "sms_sender": _sms_sender(cleaner),
    }
    if cleaner.errors:
        raise FieldErrors(cleaner.errors)
    return values


async def update_sender(
    session: AsyncSession, actor: Actor, form: Mapping[str, Any]
) -> MessageSender:
    """Save how the current municipality's mail and SMS are signed.

    Refuses an address that is none, or an SMS sender id the gateway would not take,
    with a FieldErrors at each field; nothing is written then.
    """
    values = clean_sender_form(form)
    sender = await write_sender(session)
    changed = {field: value for field, value in values.items() if getattr(sender, field) != value}
    for field, value in changed.items():
        setattr(sender, field, value)
    sender.updated_at = utcnow()
    await audit.record(
        session, actor, "messaging.sender.updated", sender, data={"fields": sorted(changed)}
    )
    await session.commit()
    return sender


async def renew_callback_token(session: AsyncSession, actor: Actor) -> MessageSender:
    """Give the callback addresses a new secret (the old one leaked); the gateway's
    reports to the old addresses are refused from now on."""
    sender = await write_sender(session)
    sender.callback_token = new_callback_token()
    sender.updated_at = utcnow()
    await audit.record(session, actor, "messaging.sender.callback_renewed", sender)
    await session.commit()
    return sender


def callback_url(base_url: str, identity: SenderIdentity, kind: str) -> str:
    """The address the gateway calls for ``kind`` ("delivered": delivery reports,
    "incoming": SMS to the municipality's number). The secret rides as the password
    of Basic auth in the address, so it is in no request line or access log."""
    parts = urlsplit(base_url)
    netloc = f"stemma:{identity.callback_token}@{parts.netloc}"
    path = f"{parts.path.rstrip('/')}/api/gateway/{identity.tenant_slug}/sms/{kind}"
    return urlunsplit((parts.scheme, netloc, path, "", ""))
