"""The public site: its look, its editable pages and text blocks, and their versions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow

DEFAULT_BRAND_COLOR = "#1f5f8b"


class SiteSettings(TenantScoped, Base):
    """One row per municipality: colour, logo, where contact mail goes, retention."""

    __tablename__ = "site_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    brand_color: Mapped[str] = mapped_column(String(7), default=DEFAULT_BRAND_COLOR)
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_content_type: Mapped[str | None] = mapped_column(String(32))
    #: A copy of every contact message goes here when set.
    office_email: Mapped[str | None] = mapped_column(String(254))
    #: The office's phone, named in offers beside its e-mail.
    office_phone: Mapped[str | None] = mapped_column(String(20))
    #: An offer asks for an answer within this many days.
    offer_answer_days: Mapped[int] = mapped_column(default=7, server_default="7")
    applications_open: Mapped[bool] = mapped_column(default=True)
    #: Rejected and untouched applications are erased this long after their election.
    retention_months: Mapped[int] = mapped_column(default=12)
    #: People with no place, course or application for this many months are erased;
    #: None: never.
    inactive_retention_months: Mapped[int | None] = mapped_column(default=36)
    #: An erased person's id number and bank account stay this many years after the
    #: end of the last year they were paid for (the accounting law's period).
    pay_retention_years: Mapped[int] = mapped_column(default=7)
    #: Who is responsible for the applicants' and clerks' data, as the privacy notice
    #: names it; None: the municipality's name.
    controller_name: Mapped[str | None] = mapped_column(String(200))
    #: How to reach the controller (address, phone, email); None: the office's email.
    controller_contact: Mapped[str | None] = mapped_column(Text)
    #: How to reach the municipality's data protection officer.
    dpo_contact: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebPartVersion(TenantScoped, Base):
    """One saved text of a page or block in one language.

    Versions are never changed: saving writes a new one, so the history shows who
    wrote what. The newest version with ``published_at`` set is what the public sees;
    a newer one without it is the draft. A consent points at the privacy notice
    version the applicant was shown.
    """

    __tablename__ = "web_part_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key", "locale", "number"),
        Index("ix_web_part_versions_lookup", "tenant_id", "key", "locale", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None]
    published_by_label: Mapped[str | None] = mapped_column(String(254))
