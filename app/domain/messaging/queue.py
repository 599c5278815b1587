"""``queue_message``: render a message and put it in the outbox in the caller's
transaction, the one way a service sends mail or text to a person."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxMessage
from app.core.outbox.rows import add_outbox_message
from app.domain.messaging.fields import merge_fields
from app.domain.messaging.render import render_message
from app.domain.models import Application, Person


async def queue_message(
    session: AsyncSession,
    *,
    key: str,
    channel: str,
    to: str,
    locale: str,
    fields: dict[str, Any],
    idempotency_key: str,
    sensitive: bool = False,
    dispatch_recipient_id: int | None = None,
) -> OutboxMessage:
    """Render ``key`` for ``channel`` in ``locale`` with ``fields`` (``merge_fields``)
    and add it to the outbox of the current municipality; the caller commits.

    ``sensitive`` messages (a link that signs in, a code) are blanked once delivered.
    ``dispatch_recipient_id`` ties the row to a dispatch's recipient when the outbox
    row has that column (h/dispatches adds it); otherwise it is not kept.
    """
    rendered = await render_message(session, key, channel, locale, fields)
    message = add_outbox_message(
        session,
        tenant_id=None,
        channel=channel,
        recipient=to,
        subject=rendered.subject,
        body_text=rendered.text,
        body_html=rendered.html or None,
        idempotency_key=idempotency_key,
        sensitive=sensitive,
    )
    if dispatch_recipient_id is not None and hasattr(message, "dispatch_recipient_id"):
        message.dispatch_recipient_id = dispatch_recipient_id
    return message


async def queue_with_fields(
    session: AsyncSession,
    *,
    key: str,
    channel: str,
    to: str,
    locale: str,
    idempotency_key: str,
    person: Person | None = None,
    extra: dict[str, str] | None = None,
    sensitive: bool = False,
) -> OutboxMessage:
    """``queue_message`` with the fields made here: the person's (when the recipient is
    one of the register) and ``extra`` (an applicant's name, a link, the office's words)."""
    fields = await merge_fields(session, person=person, extra=extra, locale=locale)
    return await queue_message(
        session,
        key=key,
        channel=channel,
        to=to,
        locale=locale,
        fields=fields,
        idempotency_key=idempotency_key,
        sensitive=sensitive,
    )


def applicant(application: Application) -> dict[str, str]:
    """An applicant's name as the person fields, for mail about their application."""
    return {
        "person.first_name": application.first_name,
        "person.name": f"{application.first_name} {application.last_name}".strip(),
    }
