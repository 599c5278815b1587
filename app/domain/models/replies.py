"""SMS that clerks send to the municipality's number: the office reads them in its inbox."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow


class IncomingSms(TenantScoped, Base):
    """One SMS the gateway passed on (its incoming-message callback).

    ``person_id`` is the person whose mobile number it came from, when exactly one
    person of the municipality has it; ``in_reply_to_id`` the last message sent to
    that number before it came, which it most likely answers. The number itself is
    kept to answer and to match later, and shown in the inbox only.
    """

    __tablename__ = "incoming_sms"
    __table_args__ = (
        # The gateway repeats a callback it got no 2xx for: one row per its id.
        UniqueConstraint("tenant_id", "provider_id"),
        Index("ix_incoming_sms_tenant_received", "tenant_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(100))
    from_number: Mapped[str] = mapped_column(String(20))
    to_number: Mapped[str] = mapped_column(String(20), default="")
    message: Mapped[str] = mapped_column(Text)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    in_reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL")
    )
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]
