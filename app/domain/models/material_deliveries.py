"""Materials on their way: each station's delivery (packed, delivered, counted back),
its lines, the drivers' runs, and the shortages a station reports on election day.

A delivery's ``code`` is the random token its crates' QR codes carry: a lead who scans
it opens the delivery without learning anything of another's (never a sequential id).
Who packed, confirmed and counted back is kept with the time; the lead who confirmed a
delivery is the one "who had them" when something is missing at the return.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow

DELIVERY_STATES = ("planned", "packed", "delivered", "returned")
SHORTAGE_STATES = ("reported", "sent", "delivered")


class MaterialRun(TenantScoped, Base):
    """A driver's round with the deliveries of one district on one day."""

    __tablename__ = "material_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="SET NULL"), index=True
    )
    driver_name: Mapped[str] = mapped_column(String(200), default="")
    driver_phone: Mapped[str] = mapped_column(String(40), default="")
    day: Mapped[dt.date | None] = mapped_column()


class MaterialDelivery(TenantScoped, Base):
    """What one station of an election gets: planned → packed → delivered → returned."""

    __tablename__ = "material_deliveries"
    __table_args__ = (UniqueConstraint("election_id", "station_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("material_runs.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default="planned")
    #: The random token of the crates' QR codes (``secrets.token_urlsafe``).
    code: Mapped[str] = mapped_column(String(40), unique=True)
    #: How many crates or boxes it is packed in: one QR label each.
    crates: Mapped[int] = mapped_column(Integer, default=1)
    packed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    packed_by_label: Mapped[str] = mapped_column(String(254), default="")
    packed_at: Mapped[dt.datetime | None] = mapped_column()
    delivered_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    #: The station's lead who confirmed the delivery (who had the materials).
    delivered_by_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    delivered_by_label: Mapped[str] = mapped_column(String(254), default="")
    delivered_at: Mapped[dt.datetime | None] = mapped_column()
    returned_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    returned_by_label: Mapped[str] = mapped_column(String(254), default="")
    returned_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MaterialDeliveryLine(TenantScoped, Base):
    """One article (or one tracked asset) of a delivery, counted at each step."""

    __tablename__ = "material_delivery_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("material_deliveries.id", ondelete="CASCADE"), index=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("material_articles.id", ondelete="CASCADE"), index=True
    )
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("material_assets.id", ondelete="SET NULL"), index=True
    )
    #: What the needs asked for when the delivery was planned.
    needed: Mapped[int] = mapped_column(Integer, default=0)
    packed: Mapped[int] = mapped_column(Integer, default=0)
    #: The count the station's lead confirmed (None: not yet).
    delivered: Mapped[int | None] = mapped_column(Integer)
    returned: Mapped[int | None] = mapped_column(Integer)
    missing: Mapped[int] = mapped_column(Integer, default=0)
    damaged: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(500), default="")


class MaterialShortage(TenantScoped, Base):
    """A station out of something on election day: reported → sent → delivered."""

    __tablename__ = "material_shortages"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("material_articles.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(16), default="reported")
    reported_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_by_label: Mapped[str] = mapped_column(String(254), default="")
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    delivered_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    delivered_by_label: Mapped[str] = mapped_column(String(254), default="")
    delivered_at: Mapped[dt.datetime | None] = mapped_column()
