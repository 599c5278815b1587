"""The rules of conduct an office sets beyond the staffing norms: working time per day
and rest between shifts, whether clerks must sign the confidentiality undertaking,
and each signature given."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow


class WorkingRules(TenantScoped, Base):
    """One row per municipality; none means no working-time limit and no undertaking."""

    __tablename__ = "working_rules"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The most a person may work on one day, all their shifts together; None: no limit.
    max_day_minutes: Mapped[int | None]
    #: The least time between the end of one shift and the start of the next.
    min_rest_minutes: Mapped[int | None]
    #: Clerks must sign the confidentiality undertaking before their first shift.
    undertaking_required: Mapped[bool] = mapped_column(default=False)
    #: Signatures given before this time no longer count (the office asked everyone to
    #: sign a new version); None: every signature counts.
    undertaking_signed_since: Mapped[dt.datetime | None]
    updated_by_label: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UndertakingSignature(TenantScoped, Base):
    """A person's signature of the confidentiality undertaking: which text (language,
    version and a digest of the words read), when, and from which browser."""

    __tablename__ = "undertaking_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: The office's version signed; None: the default text.
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("message_template_versions.id", ondelete="SET NULL"), index=True
    )
    locale: Mapped[str] = mapped_column(String(8))
    #: The version's number in its language; 0 for the default text.
    version_number: Mapped[int] = mapped_column(default=0)
    #: SHA-256 of the text as the person read it.
    text_digest: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
