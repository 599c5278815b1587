"""Recruiting clerks: applications from the public site, contact messages, and what an
approved application leaves in the register (availability and district preferences)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models.base import Base, TenantScoped, utcnow

APPLICATION_STATUSES = ("new", "more_info", "approved", "rejected")
#: Statuses still waiting for the office; they are erased after the retention period.
OPEN_STATUSES = ("new", "more_info")
WORK_KINDS = ("election_day", "advance", "counting")
EXPERIENCE_LEVELS = ("none", "some", "much")


class Application(TenantScoped, Base):
    """Someone's wish to work in one or more elections, waiting for the office's review.

    One per applicant: applying again with the same id number updates it.
    """

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "national_id"),
        Index("ix_applications_tenant_email", "tenant_id", "email"),
        Index("ix_applications_tenant_status_submitted", "tenant_id", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="new")
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    national_id_country: Mapped[str] = mapped_column(String(2))
    national_id: Mapped[str] = mapped_column(String(12))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    email: Mapped[str] = mapped_column(String(254))
    mobile: Mapped[str] = mapped_column(String(20))
    street_address: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    preferred_language: Mapped[str] = mapped_column(String(8), default="sv")
    spoken_languages: Mapped[list[str]] = mapped_column(default=list)
    experience: Mapped[str] = mapped_column(String(8), default="none")
    experience_notes: Mapped[str] = mapped_column(Text, default="")
    preferred_areas: Mapped[str] = mapped_column(String(300), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    privacy_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("web_part_versions.id", ondelete="SET NULL")
    )
    privacy_version_number: Mapped[int] = mapped_column(default=0)
    privacy_locale: Mapped[str] = mapped_column(String(8), default="sv")
    consented_at: Mapped[dt.datetime]
    #: The applicant declared they are not a candidate in the elections they apply for
    #: (candidates cannot serve); False when they left it unticked.
    declared_not_candidate: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(8), default="web")
    times_submitted: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: The last thing the office wrote to the applicant (rejection or question).
    office_message: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime | None]
    decided_by_label: Mapped[str | None] = mapped_column(String(254))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    #: Hash of the secret in the confirmation email's "see my data" link.
    access_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: When that link stops working; a link without one (sent before links expired) is
    #: expired. The applicant asks for a fresh link by their email address.
    access_token_expires_at: Mapped[dt.datetime | None]

    choices: Mapped[list[ApplicationElection]] = relationship(
        cascade="all, delete-orphan", order_by="ApplicationElection.election_id"
    )
    days: Mapped[list[ApplicationDay]] = relationship(
        cascade="all, delete-orphan", order_by="(ApplicationDay.election_id, ApplicationDay.day)"
    )
    districts: Mapped[list[ApplicationDistrict]] = relationship(cascade="all, delete-orphan")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class ApplicationElection(TenantScoped, Base):
    """An election an application is for, and the kinds of work wanted in it."""

    __tablename__ = "application_elections"
    __table_args__ = (UniqueConstraint("application_id", "election_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    work_kinds: Mapped[list[str]] = mapped_column(default=list)


class ApplicationDay(TenantScoped, Base):
    """A day the applicant can work in an election."""

    __tablename__ = "application_days"
    __table_args__ = (
        UniqueConstraint("application_id", "election_id", "day"),
        Index("ix_application_days_election_day", "election_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)


class ApplicationDistrict(TenantScoped, Base):
    """A district the applicant would like to work in."""

    __tablename__ = "application_districts"
    __table_args__ = (UniqueConstraint("application_id", "district_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    district_id: Mapped[int] = mapped_column(
        ForeignKey("districts.id", ondelete="CASCADE"), index=True
    )


class Availability(TenantScoped, Base):
    """A person can work this kind of work on this day of an election.

    Staffing reads it: an assignment needs the person available that day for the
    station's kind of work.
    """

    __tablename__ = "availabilities"
    __table_args__ = (
        UniqueConstraint("person_id", "election_id", "day", "work_kind"),
        Index("ix_availabilities_election_day_kind", "election_id", "day", "work_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    work_kind: Mapped[str] = mapped_column(String(16))


class DistrictPreference(TenantScoped, Base):
    """A district a person would like to work in (a soft wish staffing tries to meet)."""

    __tablename__ = "district_preferences"
    __table_args__ = (UniqueConstraint("person_id", "district_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    district_id: Mapped[int] = mapped_column(
        ForeignKey("districts.id", ondelete="CASCADE"), index=True
    )


class ContactMessage(TenantScoped, Base):
    """A message from the public site's contact form to the election office."""

    __tablename__ = "contact_messages"
    __table_args__ = (Index("ix_contact_messages_tenant_received", "tenant_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8), default="sv")
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None]
    answered_at: Mapped[dt.datetime | None]
    answered_by_label: Mapped[str | None] = mapped_column(String(254))
