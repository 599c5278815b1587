"""Staffing: who works which shift of which station in which role, and the reserves."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models.base import Base, TenantScoped, utcnow
from app.domain.models.registers import Person, RoleType, Shift, Station

ASSIGNMENT_STATES = ("proposed", "offered", "accepted", "declined", "withdrawn")
#: States that hold a place on the shift (the others free it).
HOLDING_STATES = ("proposed", "offered", "accepted")
ASSIGNMENT_SOURCES = ("manual", "optimiser", "team")
#: Soft rules a planner may override (with the override audited); hard rules never.
SOFT_RULES = ("availability", "district_preference")

_HOLDING = "state IN ('proposed', 'offered', 'accepted')"


class Assignment(TenantScoped, Base):
    """A person in a role on a shift of a station, from proposal to acceptance.

    The database refuses the same person twice on one shift while both hold a place,
    so two planners clicking at once never produce a double booking.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        Index(
            "uq_assignments_person_shift_holding",
            "shift_id",
            "person_id",
            unique=True,
            postgresql_where=text(_HOLDING),
            sqlite_where=text(_HOLDING),
        ),
        Index("ix_assignments_election_state", "election_id", "state"),
        Index("ix_assignments_person_election", "person_id", "election_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    role_type_id: Mapped[int] = mapped_column(ForeignKey("role_types.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="proposed")
    source: Mapped[str] = mapped_column(String(16), default="manual")
    #: Soft rules the planner chose to override for this assignment.
    overrides: Mapped[list[str]] = mapped_column(default=list)
    #: Why the optimiser chose this person (shown in the proposal).
    reasons: Mapped[list[str]] = mapped_column(default=list)
    offer_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    offered_at: Mapped[dt.datetime | None]
    #: The answer deadline the offer names (set when it is sent); after it the office
    #: may give the place to someone else.
    answer_by: Mapped[dt.datetime | None]
    responded_at: Mapped[dt.datetime | None]
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    #: When a coordinator sent the person here on election day (``ops.reassign``): the
    #: place is theirs, but shown as "sent" until they confirm it on their phone.
    sent_at: Mapped[dt.datetime | None]
    #: When the person sent confirmed on their phone that they are on their way.
    confirmed_at: Mapped[dt.datetime | None]
    created_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship()
    shift: Mapped[Shift] = relationship()
    station: Mapped[Station] = relationship()
    role_type: Mapped[RoleType] = relationship()


class Reserve(TenantScoped, Base):
    """A person kept ready for an election (optionally for one district's area), not tied
    to a station, to be sent where someone is missing."""

    __tablename__ = "reserves"
    __table_args__ = (UniqueConstraint("election_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship()


class AutostaffRun(TenantScoped, Base):
    """One run of the optimiser: the proposed assignments, waiting for a planner's review.

    ``items`` is a list of ``{"shift_id", "role_type_id", "person_id", "cost",
    "reasons": [str]}``; ``costs`` breaks the total down by part of the cost.
    Accepting items writes them as assignments (checked again against the rules then).
    """

    __tablename__ = "autostaff_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    items: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    costs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seconds: Mapped[float] = mapped_column(default=0.0)
    created_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None]
