"""Side effects waiting to be delivered: written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow


class OutboxMessage(Base):
    """An email, SMS or push to send. Workers claim, send, and mark each row once.

    A row belongs to the municipality whose change queued it (``tenant_id``; none for
    account mail sent outside any), and on PostgreSQL its row policy shows it to that
    municipality only, sign-in links included. Not ``TenantScoped`` for the ORM: the
    delivery worker asks which municipalities have rows due (``app.core.across_tenants``)
    and claims each one's in its scope, and the rows of none outside any.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        Index("ix_outbox_messages_tenant_due", "tenant_id", "status"),
        # A gateway's delivery report finds its row by the gateway's id; unique, so an
        # SMS the gateway holds is never taken as two rows' (see ``outbox.reconcile``).
        Index("ix_outbox_messages_provider_id", "provider_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    #: Bodies holding a secret (a password link) are blanked once delivered.
    sensitive: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    #: Which worker's claim this is; a worker only finishes rows it still holds.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The gateway's id of the SMS, or the mail's Message-ID: what its reports name.
    provider_id: Mapped[str | None] = mapped_column(String(100))
    #: What became of it after sending (``status`` is the sending): None while nothing
    #: is known; an SMS ``sent`` (to the operator), ``delivered`` or ``failed`` by the
    #: gateway's reports; a mail ``refused`` by the SMTP server (5xx).
    delivery_state: Mapped[str | None] = mapped_column(String(16))
    #: A short word of the gateway's or the SMTP server's on it (no number, no text).
    delivery_detail: Mapped[str | None] = mapped_column(String(300))
    delivery_reported_at: Mapped[datetime | None]
    #: The dispatch recipient (``dispatch_recipients.id``) this message is for: unique,
    #: so a dispatch queues each recipient's message on a channel once. No foreign key:
    #: the platform's table does not lean on the election model's.
    dispatch_recipient_id: Mapped[int | None] = mapped_column(unique=True)


#: ``OutboxMessage.status``: the sending. ``uncertain``: a send whose answer was lost
#: (the gateway timed out after the request went out, or the worker died mid-send); it
#: is never sent again before the gateway's own list says it does not hold it.
OUTBOX_STATUSES = ("pending", "sending", "uncertain", "sent", "failed")
#: ``OutboxMessage.delivery_state``, in the order they can follow each other.
DELIVERY_STATES = ("sent", "delivered", "failed", "refused")


class MessageSender(TenantScoped, Base):
    """How one municipality signs its mail and SMS: the From name and address, the
    Reply-To, the SMS sender id; and the secret in its gateway callback addresses.

    Unset fields fall back to the instance's ``mail_from`` and ``sms_from``. One row
    per municipality, made when first needed.
    """

    __tablename__ = "message_senders"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mail_from_name: Mapped[str] = mapped_column(String(100), default="")
    mail_from_address: Mapped[str] = mapped_column(String(254), default="")
    mail_reply_to: Mapped[str] = mapped_column(String(254), default="")
    sms_sender: Mapped[str] = mapped_column(String(16), default="")
    #: In the gateway's callback addresses (delivery reports, incoming SMS): random,
    #: compared in constant time; never logged.
    callback_token: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
