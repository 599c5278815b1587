"""Pay: the rules per election and role, manual adjustments, the approved lines per
district, and each municipality's payroll file layout."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow

#: How a role's fee is counted: once per shift worked, once per day worked, or per hour.
PAY_BASES = ("shift", "day", "hour")
#: The kinds of pay line; each gets its own pay code (löneart) in the payroll file.
PAY_LINE_KINDS = (
    "fee",
    "hours_weekday",
    "hours_evening",
    "hours_weekend",
    "supplement",
    "counting",
    "training",
    "travel",
    "adjustment",
)
PAY_EXPORT_FORMATS = ("csv", "xlsx")

_MONEY = Numeric(10, 2)


class PayRule(TenantScoped, Base):
    """How one role is paid in one election.

    ``amount`` is the fee per shift or per day, or the hourly rate on weekdays before
    ``evening_from``; ``evening_rate`` applies on weekdays from ``evening_from``,
    ``weekend_rate`` all day on Saturdays and Sundays (empty: the weekday rate).
    """

    __tablename__ = "pay_rules"
    __table_args__ = (
        UniqueConstraint("election_id", "role_type_id"),
        CheckConstraint(
            "amount >= 0 AND day_supplement >= 0 AND counting_supplement >= 0"
            " AND training_fee >= 0 AND travel_allowance >= 0"
            " AND (evening_rate IS NULL OR evening_rate >= 0)"
            " AND (weekend_rate IS NULL OR weekend_rate >= 0)",
            name="amounts_not_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    role_type_id: Mapped[int] = mapped_column(
        ForeignKey("role_types.id", ondelete="CASCADE"), index=True
    )
    basis: Mapped[str] = mapped_column(String(8), default="day")
    amount: Mapped[Decimal] = mapped_column(_MONEY, default=Decimal("0"))
    evening_rate: Mapped[Decimal | None] = mapped_column(_MONEY)
    weekend_rate: Mapped[Decimal | None] = mapped_column(_MONEY)
    evening_from: Mapped[dt.time] = mapped_column(Time, default=dt.time(18, 0))
    #: A fixed fee is cut in proportion when the person left early.
    prorate_early_leave: Mapped[bool] = mapped_column(default=True)
    #: Added once per day worked (e.g. the chair's responsibility).
    day_supplement: Mapped[Decimal] = mapped_column(_MONEY, default=Decimal("0"))
    #: Added for each election-day shift that runs into the count after the polls close.
    counting_supplement: Mapped[Decimal] = mapped_column(_MONEY, default=Decimal("0"))
    training_fee: Mapped[Decimal] = mapped_column(_MONEY, default=Decimal("0"))
    #: The training fee is paid only to those who then worked a shift.
    training_only_if_served: Mapped[bool] = mapped_column(default=True)
    #: Paid once per day worked; zero where the municipality pays none.
    travel_allowance: Mapped[Decimal] = mapped_column(_MONEY, default=Decimal("0"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PayAdjustment(TenantScoped, Base):
    """A manual addition to (or, negative, deduction from) a person's pay, with why."""

    __tablename__ = "pay_adjustments"
    __table_args__ = (Index("ix_pay_adjustments_election_person", "election_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(_MONEY)
    reason: Mapped[str] = mapped_column(Text)
    created_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PayApproval(TenantScoped, Base):
    """A planner approved a district's pay (``district_id`` None: advance voting)."""

    __tablename__ = "pay_approvals"
    __table_args__ = (Index("ix_pay_approvals_election_district", "election_id", "district_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="CASCADE"))
    approved_by_label: Mapped[str] = mapped_column(String(254), default="")
    approved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    lines: Mapped[int] = mapped_column(default=0)
    amount: Mapped[Decimal] = mapped_column(_MONEY, default=Decimal("0"))


class PayEntry(TenantScoped, Base):
    """One locked pay line, written when its district was approved.

    Entries are never changed: what changes later is approved again as a correction
    entry holding the difference, so payroll sees every change as its own line.
    """

    __tablename__ = "pay_entries"
    __table_args__ = (
        Index("ix_pay_entries_election_district", "election_id", "district_id"),
        Index("ix_pay_entries_election_person", "election_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="CASCADE"))
    approval_id: Mapped[int] = mapped_column(
        ForeignKey("pay_approvals.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("role_types.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    rate: Mapped[Decimal] = mapped_column(_MONEY)
    amount: Mapped[Decimal] = mapped_column(_MONEY)
    text: Mapped[str] = mapped_column(String(300), default="")
    #: A correction of lines approved before (the difference), not a first approval.
    correction: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PayExportLayout(TenantScoped, Base):
    """A municipality's payroll file: format, columns in order and pay codes.

    ``columns`` is a list of ``{"field": <PAYROLL_FIELDS key>, "header": str}``;
    ``pay_codes`` maps each of ``PAY_LINE_KINDS`` to the payroll system's code.
    """

    __tablename__ = "pay_export_layouts"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_format: Mapped[str] = mapped_column(String(8), default="csv")
    columns: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    pay_codes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaySettlement(TenantScoped, Base):
    """The office's word on the hours of one place where the check-ins cannot say:
    arrived but never left, left without arriving, a check-in without a place, a
    station that did not check in. ``worked_from`` None: not worked, nothing paid.

    Times are local wall-clock times on the shift's day; an end before the start runs
    past midnight. It replaces the check-ins of that shift and person for pay only.
    """

    __tablename__ = "pay_settlements"
    __table_args__ = (UniqueConstraint("shift_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    shift_id: Mapped[int] = mapped_column(ForeignKey("shifts.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    worked_from: Mapped[dt.time | None] = mapped_column(Time)
    worked_until: Mapped[dt.time | None] = mapped_column(Time)
    reason: Mapped[str] = mapped_column(Text)
    created_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
