"""Side effects waiting to be delivered: written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, utcnow


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
    #: The dispatch recipient (``dispatch_recipients.id``) this message is for: unique,
    #: so a dispatch queues each recipient's message on a channel once. No foreign key:
    #: the platform's table does not lean on the election model's.
    dispatch_recipient_id: Mapped[int | None] = mapped_column(unique=True)
