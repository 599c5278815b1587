"""The registers and the election structure: people, premises, elections, districts,
stations, opening hours, shifts, role types and staffing norms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    case,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models.base import Base, TenantScoped, utcnow

PERSON_STATUSES = ("applicant", "active", "inactive")
ELECTION_KINDS = ("parliament", "region", "municipal", "eu", "referendum", "church", "combined")
ELECTION_STATUSES = ("planning", "active", "closed", "archived")
STATION_KINDS = ("polling", "advance")
#: The kinds of work a role may do (as ``rules.work_kinds_for`` names a shift's).
ROLE_WORK_KINDS = ("election_day", "advance", "counting")
PAY_UNITS = ("day", "hour")


class Person(TenantScoped, Base):
    """Someone who may work in an election: applicant, clerk, teacher."""

    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("tenant_id", "national_id"),
        Index("ix_people_tenant_email", "tenant_id", "email", unique=True),
        Index("ix_people_tenant_last_first", "tenant_id", "last_name", "first_name"),
        Index("ix_people_tenant_search_name", "tenant_id", "search_name"),
        Index("ix_people_tenant_search_name_reversed", "tenant_id", "search_name_reversed"),
        Index("ix_people_tenant_national_id", "tenant_id", "national_id"),
        Index("ix_people_tenant_mobile", "tenant_id", "mobile"),
        # One person per account in a municipality: the portal finds "me" by it.
        Index("uq_people_tenant_user", "tenant_id", "user_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    # Lower-cased copy of "first last" for case-insensitive prefix search on both databases.
    search_name: Mapped[str] = mapped_column(String(201))
    #: "last first", lower-cased, so a surname prefix is an index range too.
    search_name_reversed: Mapped[str] = mapped_column(String(201))
    national_id_country: Mapped[str | None] = mapped_column(String(2))
    national_id: Mapped[str | None] = mapped_column(String(12))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(20))
    street_address: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    #: Protected identity (skyddad identitet, navne- og adressebeskyttelse): the address
    #: is never shown or exported, the name only to the office
    #: (``app.domain.registers.protection``).
    address_protected: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: What the population register last said (``app.domain.registers.population``):
    #: the day the person died, the day they moved out of the municipality (None: not
    #: known), and when the register was last asked about them.
    died_on: Mapped[dt.date | None] = mapped_column(Date)
    moved_out_on: Mapped[dt.date | None] = mapped_column(Date)
    register_checked_at: Mapped[dt.datetime | None]
    preferred_language: Mapped[str] = mapped_column(String(8), default="sv")
    spoken_languages: Mapped[list[str]] = mapped_column(default=list)
    tags: Mapped[list[str]] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    #: The person's own account for the clerk portal, once they have one.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: Home coordinates, when known: the optimiser prefers stations nearby.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    #: Earlier elections worked: none, some (one or two) or much (three or more).
    experience: Mapped[str] = mapped_column(String(8), default="none")
    #: The account pay goes to (an IBAN), encrypted by ``app.core.crypto``; shown masked.
    bank_account_encrypted: Mapped[str | None] = mapped_column(Text)
    #: SHA-256 of the secret in the person's calendar feed address; None: no feed.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Random per feed address, so the portal can show the address again
    #: (``app.domain.clerks.calendar_feed``); useless without the app's secret key.
    calendar_token_nonce: Mapped[str | None] = mapped_column(String(32))
    #: When the person last asked to be removed; the office decides what to erase.
    removal_requested_at: Mapped[dt.datetime | None]
    #: When the office refused the last request, and why (the clerk is told both).
    removal_refused_at: Mapped[dt.datetime | None]
    removal_refusal_reason: Mapped[str] = mapped_column(Text, default="")
    #: When the person was erased (``app.domain.registers.erasure``); the row stays,
    #: anonymous, so that past assignments and pay keep their person.
    erased_at: Mapped[dt.datetime | None]
    #: An erased person's id number and bank account are kept for the pay records
    #: until this day, then erased by the retention job; None: nothing is kept.
    pay_data_kept_until: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Building(TenantScoped, Base):
    """Premises: a school, a library, a town hall."""

    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    street_address: Mapped[str] = mapped_column(String(200), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    step_free_access: Mapped[bool] = mapped_column(default=False)
    accessible_toilet: Mapped[bool] = mapped_column(default=False)
    parking: Mapped[bool] = mapped_column(default=False)
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    access_notes: Mapped[str] = mapped_column(Text, default="")

    rooms: Mapped[list[Room]] = relationship(
        back_populates="building", order_by="Room.name", cascade="all, delete-orphan"
    )


class Room(TenantScoped, Base):
    __tablename__ = "rooms"
    __table_args__ = (
        UniqueConstraint("building_id", "name"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(
        ForeignKey("buildings.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(default=0)
    has_power: Mapped[bool] = mapped_column(default=True)
    has_network: Mapped[bool] = mapped_column(default=False)
    tables: Mapped[int] = mapped_column(default=0)
    booths: Mapped[int] = mapped_column(default=0)
    notes: Mapped[str] = mapped_column(Text, default="")

    building: Mapped[Building] = relationship(back_populates="rooms")


class Election(TenantScoped, Base):
    __tablename__ = "elections"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    election_day: Mapped[dt.date] = mapped_column(Date)
    advance_start: Mapped[dt.date | None] = mapped_column(Date)
    advance_end: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="planning")
    rolled_over_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("elections.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    districts: Mapped[list[District]] = relationship(
        back_populates="election", order_by="District.code", cascade="all, delete-orphan"
    )


class District(TenantScoped, Base):
    __tablename__ = "districts"
    __table_args__ = (UniqueConstraint("election_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    eligible_voters: Mapped[int] = mapped_column(default=0)

    election: Mapped[Election] = relationship(back_populates="districts")


class Station(TenantScoped, Base):
    """A polling station of one district, or an advance-voting station."""

    __tablename__ = "stations"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'polling' AND district_id IS NOT NULL)"
            " OR (kind = 'advance' AND district_id IS NULL)",
            name="district_matches_kind",
        ),
        UniqueConstraint("election_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="CASCADE"), index=True
    )
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("rooms.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    #: Languages voters here often need (codes like "ar"); staffing prefers speakers.
    languages: Mapped[list[str]] = mapped_column(default=list)

    district: Mapped[District | None] = relationship()
    room: Mapped[Room | None] = relationship()
    openings: Mapped[list[StationOpening]] = relationship(
        order_by="StationOpening.day", cascade="all, delete-orphan"
    )
    shifts: Mapped[list[Shift]] = relationship(
        order_by="(Shift.day, Shift.starts_at)", cascade="all, delete-orphan"
    )


class StationOpening(TenantScoped, Base):
    """Opening hours of a station on one day."""

    __tablename__ = "station_openings"
    __table_args__ = (
        UniqueConstraint("station_id", "day"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[dt.date] = mapped_column(Date)
    opens_at: Mapped[dt.time] = mapped_column(Time)
    closes_at: Mapped[dt.time] = mapped_column(Time)


class Shift(TenantScoped, Base):
    """A working window at a station on one day (early, late, counting)."""

    __tablename__ = "shifts"
    __table_args__ = (
        UniqueConstraint("station_id", "day", "name"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[dt.date] = mapped_column(Date)
    #: The name in the municipality's language; ``names`` the other languages' (optional).
    name: Mapped[str] = mapped_column(String(100))
    names: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    starts_at: Mapped[dt.time] = mapped_column(Time)
    ends_at: Mapped[dt.time] = mapped_column(Time)

    norms: Mapped[list[StaffingNorm]] = relationship(cascade="all, delete-orphan")


class RoleType(TenantScoped, Base):
    """A role at a station with its pay: the five defaults (chair, vice chair, clerk,
    reserve, host) and the office's own (team leader, counting clerk, ...)."""

    __tablename__ = "role_types"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    #: The name in the municipality's language; ``names`` the other languages' (optional).
    name: Mapped[str] = mapped_column(String(100))
    names: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    #: Chair and vice chair: one of them must be present on every open shift.
    leads_station: Mapped[bool] = mapped_column(default=False)
    pay_amount: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    pay_unit: Mapped[str] = mapped_column(String(8), default="day")
    sort_order: Mapped[int] = mapped_column(default=0)
    #: Counts toward the legal minimum of people present at a station (a host does not).
    counts_toward_minimum: Mapped[bool] = mapped_column(default=True, server_default=true())
    #: Where the role may work, of ``ROLE_WORK_KINDS``: a shift whose kinds of work
    #: include none of these cannot have the role (the board and the optimiser refuse).
    work_kinds: Mapped[list[str]] = mapped_column(
        default=lambda: list(ROLE_WORK_KINDS),
        server_default='["election_day", "advance", "counting"]',
    )
    #: Retired: kept for the history (assignments, norms, pay) but offered for no new norm.
    retired: Mapped[bool] = mapped_column(default=False, server_default=false())


class StaffingNorm(TenantScoped, Base):
    """How many of a role a shift needs at least, and ideally."""

    __tablename__ = "staffing_norms"
    __table_args__ = (
        UniqueConstraint("shift_id", "role_type_id"),
        CheckConstraint("minimum >= 0 AND target >= minimum", name="target_at_least_minimum"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"), index=True)
    role_type_id: Mapped[int] = mapped_column(
        ForeignKey("role_types.id", ondelete="CASCADE"), index=True
    )
    minimum: Mapped[int] = mapped_column(default=0)
    target: Mapped[int] = mapped_column(default=0)

    role_type: Mapped[RoleType] = relationship()

    @property
    def counted_minimum(self) -> int:
        """The minimum as the legal minimum of a station counts it: a role that does not
        count toward it (a host) has a target only, whatever its norm's minimum says."""
        return self.minimum if self.role_type.counts_toward_minimum else 0


def counted_minimum() -> ColumnElement[int]:
    """``StaffingNorm.counted_minimum`` in SQL, for a query that joins the norm's
    ``RoleType`` (every count of a station's minimum reads it, never the bare column)."""
    return case((RoleType.counts_toward_minimum, StaffingNorm.minimum), else_=0)


class NormTemplate(TenantScoped, Base):
    """A reusable set of shifts with norms, applied to many stations at once.

    ``shifts`` is a list of ``{"name", "starts_at": "HH:MM", "ends_at": "HH:MM",
    "norms": {role_code: [minimum, target]}}``.
    """

    __tablename__ = "norm_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    station_kind: Mapped[str] = mapped_column(String(16))
    shifts: Mapped[list[dict[str, Any]]] = mapped_column(default=list)


class ImportBatch(TenantScoped, Base):
    """An uploaded file waiting for the planner to confirm its preview.

    Rows are kept as the file had them and validated again on commit, so what is
    written is checked against the register as it is then.
    """

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    election_id: Mapped[int | None] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    rows: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    committed_at: Mapped[dt.datetime | None]
