"""Messages from the public site's contact form to the election office's inbox."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import ratelimit
from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import Tenant, utcnow
from app.core.paging import Page, fetch_shown_page
from app.core.validation import EMAIL_PATTERN, Cleaner
from app.domain.messaging.queue import queue_with_fields
from app.domain.models import ContactMessage
from app.domain.site.webparts import site_settings

CONTACT_LIMIT = ratelimit.Limit("public.contact", 5, timedelta(hours=1))
FILTERS = ("unread", "unanswered", "answered")


async def submit_contact_message(
    session: AsyncSession,
    tenant: Tenant,
    data: Mapping[str, Any],
    *,
    locale: str,
    ip_address: str,
) -> ContactMessage:
    """Store a message for the office (and copy it to the office's address when set)."""
    key = ratelimit.address_key(ip_address)
    await ratelimit.check(session, CONTACT_LIMIT, key)
    cleaner = Cleaner(data)
    values = {
        "name": cleaner.text("name", 200, required=True),
        "email": cleaner.raw("email").lower(),
        "subject": cleaner.text("subject", 200, required=True),
        "message": cleaner.text("message", 5000, required=True),
    }
    if not values["email"]:
        cleaner.fail("email", _("Enter your email address."))
    elif len(values["email"]) > 254 or not EMAIL_PATTERN.match(values["email"]):
        cleaner.fail("email", _("Enter a valid email address."))
    cleaner.done()
    # One-line fields: a line break would end up in the office copy's Subject header.
    values["name"] = " ".join(values["name"].split())
    values["subject"] = " ".join(values["subject"].split())
    message = ContactMessage(locale=locale, **values)
    session.add(message)
    await session.flush()
    settings = await site_settings(session)
    if settings.office_email:
        await queue_with_fields(
            session,
            key="contact_received",
            channel="email",
            to=settings.office_email,
            locale=tenant.locale,
            idempotency_key=f"contact:{message.id}",
            sensitive=True,
            extra={
                "form.name": message.name,
                "form.email": message.email,
                "form.subject": message.subject,
                "form.message": message.message,
            },
        )
    await record(session, Actor.system("public"), "contact.message.received", message)
    ratelimit.hit(session, CONTACT_LIMIT, key)
    await session.commit()
    return message


@dataclass(frozen=True)
class MessagePage(Page):
    messages: list[ContactMessage]


def _filtered(statement: Any, state: str | None) -> Any:
    if state == "unread":
        return statement.where(ContactMessage.read_at.is_(None))
    if state == "unanswered":
        return statement.where(ContactMessage.answered_at.is_(None))
    if state == "answered":
        return statement.where(ContactMessage.answered_at.is_not(None))
    return statement


async def list_messages(
    session: AsyncSession, state: str | None = None, page: int = 1, per_page: int = 50
) -> MessagePage:
    state = state if state in FILTERS else None
    messages, total, page = await fetch_shown_page(
        session,
        _filtered(select(ContactMessage), state).order_by(
            ContactMessage.received_at.desc(), ContactMessage.id.desc()
        ),
        page,
        per_page,
    )
    return MessagePage(messages, page=page, per_page=per_page, total=total)


async def count_unread(session: AsyncSession) -> int:
    statement = select(func.count(ContactMessage.id)).where(ContactMessage.read_at.is_(None))
    return await session.scalar(statement) or 0


async def open_message(session: AsyncSession, actor: Actor, message_id: int) -> ContactMessage:
    """A message for reading; the first reading marks it read."""
    message = await session.scalar(select(ContactMessage).where(ContactMessage.id == message_id))
    if message is None:
        raise NotFound(_("Not found."))
    if message.read_at is None:
        message.read_at = utcnow()
        await record(session, actor, "contact.message.read", message)
        await session.commit()
    return message


async def set_answered(
    session: AsyncSession, actor: Actor, message_id: int, answered: bool
) -> ContactMessage:
    """Mark a message answered (or not, when that was a mistake)."""
    message = await open_message(session, actor, message_id)
    if answered and message.answered_at is None:
        message.answered_at = utcnow()
        message.answered_by_label = actor.label
    elif not answered:
        message.answered_at = None
        message.answered_by_label = None
    await record(session, actor, "contact.message.answered", message, data={"answered": answered})
    await session.commit()
    return message
