"""Equipment handed out one item at a time, and taken back at the depot.

A hand-out gives one asset (by its tag) to a station, with its delivery or alone, or
to a person (a clerk, a lead, a driver) with who handed it, when, and when it is due
back. It is open until the item is taken back, with who took it, when, and its
condition (ok, damaged, missing). An asset is out to one holder at a time: a partial
unique index on the open hand-outs says so in the database as well. The holder's name
is never copied here: it is read from the person or the station, so erasing a person
leaves the history without their name.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models.base import Base, TenantScoped, utcnow
from app.domain.models.materials import MaterialAsset

RETURN_CONDITIONS = ("ok", "damaged", "missing")


class MaterialHandout(TenantScoped, Base):
    """One asset out to a station or a person, until it is taken back."""

    __tablename__ = "material_handouts"
    __table_args__ = (
        CheckConstraint("(station_id IS NOT NULL) <> (person_id IS NOT NULL)", name="one_holder"),
        Index(
            "uq_material_handouts_open_asset",
            "asset_id",
            unique=True,
            postgresql_where=text("returned_at IS NULL"),
            sqlite_where=text("returned_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("material_assets.id", ondelete="CASCADE"), index=True
    )
    #: The election it was handed out for (a station's, or the one chosen for a person).
    election_id: Mapped[int | None] = mapped_column(
        ForeignKey("elections.id", ondelete="SET NULL"), index=True
    )
    station_id: Mapped[int | None] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("material_deliveries.id", ondelete="SET NULL"), index=True
    )
    handed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    handed_by_label: Mapped[str] = mapped_column(String(254), default="")
    handed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_back: Mapped[dt.date | None] = mapped_column()
    note: Mapped[str] = mapped_column(String(500), default="")
    returned_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    returned_by_label: Mapped[str] = mapped_column(String(254), default="")
    returned_at: Mapped[dt.datetime | None] = mapped_column()
    #: ``RETURN_CONDITIONS`` once taken back.
    condition: Mapped[str | None] = mapped_column(String(16))
    return_note: Mapped[str] = mapped_column(String(500), default="")
    #: When the last "not returned" reminder was queued to the holder.
    reminded_at: Mapped[dt.datetime | None] = mapped_column()

    asset: Mapped[MaterialAsset] = relationship()
