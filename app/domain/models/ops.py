"""Election-day operations: who checked in, each station's state, incidents and turnout.

Rows here are written while the polls are open, by clerks' phones, station leads and
central coordinators at once; every change is also an ``events`` row (see
``app.core.events``) so the live dashboard and the station's team hear of it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models.base import Base, TenantScoped, utcnow
from app.domain.models.registers import Person, Shift, Station

CHECK_IN_KINDS = ("arrived", "left")
CHECK_IN_SOURCES = ("portal", "api", "coordinator")

STATION_STATES = ("not_opened", "open", "paused", "closed", "counting", "result_reported")
#: Which state may follow which: polls open (and may pause), close, are counted, and the
#: result is reported. Nothing goes back once closed: a mistake is a new incident.
STATION_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "not_opened": ("open",),
    "open": ("paused", "closed"),
    "paused": ("open", "closed"),
    "closed": ("counting",),
    "counting": ("result_reported",),
    "result_reported": (),
}

INCIDENT_CATEGORIES = (
    "queue",
    "material",
    "accessibility",
    "security",
    "staffing",
    "voting_procedure",
    "other",
)
INCIDENT_SEVERITIES = ("low", "medium", "high")
INCIDENT_STATES = ("open", "acknowledged", "assigned", "resolved")

#: The times of day a station reports how many have voted so far.
TURNOUT_SLOTS = ("11:00", "14:00", "17:00", "20:00")


class CheckIn(TenantScoped, Base):
    """A clerk arrived at or left their shift.

    ``checked_at`` is the server's time and the truth; ``device_time`` is what the
    phone said (kept to spot clocks that are off and offline queues sent late). The
    idempotency key is unique per municipality, so a phone that sends again after a
    lost answer never checks in twice.
    """

    __tablename__ = "check_ins"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_check_ins_shift_person", "shift_id", "person_id", "id"),
        Index("ix_check_ins_station_checked_at", "station_id", "checked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    checked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    device_time: Mapped[dt.datetime | None]
    source: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    #: SHA-256 of the request's canonical JSON: the same key with another body is refused.
    payload_hash: Mapped[str] = mapped_column(String(64))
    created_by_label: Mapped[str] = mapped_column(String(254), default="")

    person: Mapped[Person] = relationship()
    shift: Mapped[Shift] = relationship()


class StationStatus(TenantScoped, Base):
    """A station's current state on election day; a station without a row has not opened.

    ``version`` grows with every change, so a screen showing an older state can be told
    that someone else changed it meanwhile.
    """

    __tablename__ = "station_statuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[str] = mapped_column(String(16), default="not_opened")
    version: Mapped[int] = mapped_column(default=0)
    #: Why the station opened without its checks passing (empty when they passed).
    override_reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_label: Mapped[str] = mapped_column(String(254), default="")
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    station: Mapped[Station] = relationship()


class StationStatusChange(TenantScoped, Base):
    """One change of a station's state: the history the incident log and reports read."""

    __tablename__ = "station_status_changes"
    __table_args__ = (Index("ix_station_status_changes_station_id", "station_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    override_reason: Mapped[str] = mapped_column(Text, default="")
    #: What the opening checks found: ``{"present", "minimum", "lead_present", "shift_id"}``.
    checks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    changed_by_label: Mapped[str] = mapped_column(String(254), default="")
    changed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Incident(TenantScoped, Base):
    """Something that went wrong at a station and must be logged, handled and reported.

    ``version`` grows with every change of state or assignee: two coordinators acting on
    the same incident are told when the other was first.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_election_state", "election_id", "state"),
        Index("ix_incidents_station_id", "station_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(24))
    severity: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="open")
    version: Mapped[int] = mapped_column(default=0)
    assigned_to_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    reported_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reported_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None]
    assigned_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    station: Mapped[Station] = relationship()
    notes: Mapped[list[IncidentNote]] = relationship(
        order_by="IncidentNote.id", cascade="all, delete-orphan"
    )


class IncidentNote(TenantScoped, Base):
    """A note on how an incident was handled, with its author (the exported log's lines)."""

    __tablename__ = "incident_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TurnoutReport(TenantScoped, Base):
    """How many had voted at a station by one of the day's reporting times.

    One per station and time: a correction replaces the count (the old one stays in the
    audit log).
    """

    __tablename__ = "turnout_reports"
    __table_args__ = (
        UniqueConstraint("station_id", "slot"),
        CheckConstraint("voters >= 0", name="voters_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(5))
    voters: Mapped[int] = mapped_column(default=0)
    reported_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reported_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StationMessage(TenantScoped, Base):
    """A coordinators' message to the phones of one station, a district's stations or
    all stations of an election; each station it went to has its ``StationMessageRead``."""

    __tablename__ = "station_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    #: "station", "district" or "all".
    scope: Mapped[str] = mapped_column(String(16))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="SET NULL"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(String(1000))
    sent_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StationMessageRead(TenantScoped, Base):
    """One station a message went to, and whether (when, by whom) it was read there."""

    __tablename__ = "station_message_reads"
    __table_args__ = (UniqueConstraint("message_id", "station_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("station_messages.id", ondelete="CASCADE"), index=True
    )
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    read_at: Mapped[dt.datetime | None] = mapped_column()
    read_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
