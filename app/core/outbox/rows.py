"""One outbox row, added in the caller's transaction: what mail, SMS and push share."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxMessage
from app.core.tenancy import TenantNotSetError, current_tenant_id

#: Set in ``session.info`` when a row was added: the web process then wakes its outbox
#: worker once the request is answered.
OUTBOX_QUEUED = "outbox_queued"


@dataclass(frozen=True)
class SendReceipt:
    """What a transport learnt of a send it made: the provider's id of the message
    (the gateway's SMS id, the mail's Message-ID), which its reports name."""

    provider_id: str | None
    detail: str | None = None


def add_outbox_message(
    session: AsyncSession,
    *,
    tenant_id: int | None,
    channel: str,
    recipient: str,
    body_text: str,
    idempotency_key: str,
    subject: str = "",
    body_html: str | None = None,
    sensitive: bool = False,
) -> OutboxMessage:
    """Add a message for the worker to deliver after commit. ``idempotency_key`` is
    unique among all rows, so the same message is never queued twice; a ``sensitive``
    body is blanked once delivered.

    The row belongs to the current municipality (none: account mail outside any), and
    is written in its scope: on PostgreSQL its row policy refuses it otherwise.
    """
    current = current_tenant_id()
    if tenant_id is None:
        tenant_id = current
    elif tenant_id != current:
        raise TenantNotSetError("an outbox message is written in its municipality's scope")
    message = OutboxMessage(
        tenant_id=tenant_id,
        channel=channel,
        recipient=recipient,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        idempotency_key=idempotency_key,
        sensitive=sensitive,
    )
    session.add(message)
    session.info[OUTBOX_QUEUED] = True
    return message
