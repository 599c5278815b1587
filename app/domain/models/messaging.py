"""The office's wording of the messages: its own templates and every saved version."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow


class MessageTemplate(TenantScoped, Base):
    """A message the office made itself, for dispatches: its name and channels.

    The system's messages have no row (their keys are in the catalogue); an own
    template's key is ``own_<id>``. Its texts are versions like theirs.
    """

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    channels: Mapped[list[str]] = mapped_column(default=list)
    created_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[dt.datetime | None]


class MessageTemplateVersion(TenantScoped, Base):
    """One saved text of a message in one channel and language.

    Versions are never changed: every save writes a new one, so the history shows who
    wrote what and when. The newest is what is sent; one with ``is_default`` set says
    "back to the default text" (its subject and body are empty).
    """

    __tablename__ = "message_template_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key", "channel", "locale", "number"),
        Index("ix_message_template_versions_lookup", "tenant_id", "key", "channel", "locale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(8))
    locale: Mapped[str] = mapped_column(String(8))
    number: Mapped[int]
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    is_default: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def as_source(self) -> tuple[str, str]:
        return self.subject, self.body
