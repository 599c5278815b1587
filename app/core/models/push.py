"""Browsers that asked for web pushes: one row per subscribed browser of a user."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow


class PushSubscription(TenantScoped, Base):
    """What a browser's ``pushManager.subscribe()`` gave us, for one user in one
    municipality.

    The endpoint is a capability URL of the browser vendor's push service: whoever knows
    it can send to that browser, so it is never logged or shown. ``p256dh`` and ``auth``
    are the browser's keys the payload is encrypted to (base64url, as the browser gives
    them). A push service answering 404 or 410 means the browser dropped the
    subscription, and the row is deleted.
    """

    __tablename__ = "push_subscriptions"
    #: One row per browser in each municipality: subscribing in one never touches
    #: another's rows.
    __table_args__ = (UniqueConstraint("tenant_id", "endpoint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000))
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(50))
    #: The browser's own description, so a user could tell their devices apart.
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
