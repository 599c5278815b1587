"""The statistics' own table: the pay budget the office sets per role and per district."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow

#: What a budget line is for: one role, one district, or the advance voting stations
#: (which belong to no district).
BUDGET_SCOPES = ("role", "district", "advance")


class PayBudget(TenantScoped, Base):
    """The pay budgeted for one role, one district or advance voting in an election.

    The role lines and the district lines are two views of the same money: each is held
    against the pay computed for its role or district.
    """

    __tablename__ = "pay_budgets"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint(
            "(scope = 'role' AND role_type_id IS NOT NULL AND district_id IS NULL)"
            " OR (scope = 'district' AND district_id IS NOT NULL AND role_type_id IS NULL)"
            " OR (scope = 'advance' AND role_type_id IS NULL AND district_id IS NULL)",
            name="scope_matches_keys",
        ),
        Index(
            "uq_pay_budgets_election_role",
            "election_id",
            "role_type_id",
            unique=True,
            postgresql_where=text("scope = 'role'"),
            sqlite_where=text("scope = 'role'"),
        ),
        Index(
            "uq_pay_budgets_election_district",
            "election_id",
            "district_id",
            unique=True,
            postgresql_where=text("scope = 'district'"),
            sqlite_where=text("scope = 'district'"),
        ),
        Index(
            "uq_pay_budgets_election_advance",
            "election_id",
            unique=True,
            postgresql_where=text("scope = 'advance'"),
            sqlite_where=text("scope = 'advance'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(8))
    role_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("role_types.id", ondelete="CASCADE"), index=True
    )
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    updated_by_label: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
