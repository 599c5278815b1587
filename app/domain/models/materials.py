"""Materials and equipment: the catalogue, depots and stock, the rules that say what every
station needs, the computed needs, and what is reserved for a station.

Consumables (ballot papers, envelopes, seals, forms) are counted by number; equipment
(voting screens, ballot boxes, laptops, keys) is tracked one item at a time by its asset
tag. The catalogue, depots, stock and rules belong to the municipality and outlive an
election; needs and reservations belong to one election.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models.base import Base, TenantScoped, utcnow

ARTICLE_KINDS = ("consumable", "equipment")
ARTICLE_CATEGORIES = (
    "ballot_paper",
    "envelope",
    "seal",
    "form",
    "sign",
    "pen",
    "voting_screen",
    "ballot_box",
    "laptop",
    "phone",
    "key",
    "other",
)
ASSET_STATES = ("in_stock", "reserved", "out", "missing", "damaged", "retired")
#: The kinds of station a rule can apply to (counting premises are for a later day).
RULE_STATION_KINDS = ("polling", "advance", "counting")
#: What a rule's quantity is counted from: a fixed number, or one of a station's figures.
STATION_FIGURES = ("voters", "screens", "norm", "opening_days")
RULE_BASES = ("fixed", *STATION_FIGURES)


class MaterialArticle(TenantScoped, Base):
    """Something a station gets: a consumable counted by number or a kind of equipment.

    ``election_id`` limits an article to one election (ballot papers of that election);
    without it the article serves every election and is kept when one is rolled over.
    """

    __tablename__ = "material_articles"
    __table_args__ = (CheckConstraint("pack_size >= 1", name="pack_size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16), default="st")
    kind: Mapped[str] = mapped_column(String(16), default="consumable")
    category: Mapped[str] = mapped_column(String(24), default="other")
    #: The party of a ballot paper (empty for every other article).
    party: Mapped[str | None] = mapped_column(String(100))
    election_id: Mapped[int | None] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    pack_size: Mapped[int] = mapped_column(default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MaterialDepot(TenantScoped, Base):
    """A store where materials are kept and packed."""

    __tablename__ = "material_depots"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")


class MaterialAsset(TenantScoped, Base):
    """One piece of equipment, known by the asset tag on it."""

    __tablename__ = "material_assets"
    __table_args__ = (UniqueConstraint("tenant_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("material_articles.id", ondelete="CASCADE"), index=True
    )
    tag: Mapped[str] = mapped_column(String(64))
    serial: Mapped[str] = mapped_column(String(100), default="")
    depot_id: Mapped[int | None] = mapped_column(
        ForeignKey("material_depots.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default="in_stock")
    note: Mapped[str] = mapped_column(Text, default="")

    article: Mapped[MaterialArticle] = relationship()
    depot: Mapped[MaterialDepot | None] = relationship()


class MaterialNeedRule(TenantScoped, Base):
    """How many of an article a kind of station needs, from one of the station's figures.

    The quantity is ``figure × per ÷ every`` rounded up (``per`` for a fixed rule), at
    least ``minimum``, and rounded up to whole packs when ``round_to_pack``. A rule names
    one article, or a category (every active article of it: the ballot papers of each
    party). ``station_kinds`` is a comma list of ``RULE_STATION_KINDS``.
    """

    __tablename__ = "material_need_rules"
    __table_args__ = (
        CheckConstraint(
            "article_id IS NOT NULL OR category IS NOT NULL", name="article_or_category"
        ),
        CheckConstraint("per >= 0 AND every >= 1 AND minimum >= 0", name="quantities_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("material_articles.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[str | None] = mapped_column(String(24))
    station_kinds: Mapped[str] = mapped_column(String(64), default="polling,advance")
    basis: Mapped[str] = mapped_column(String(16), default="fixed")
    per: Mapped[Decimal] = mapped_column(Numeric(12, 4), default=Decimal("1"))
    every: Mapped[int] = mapped_column(default=1)
    minimum: Mapped[int] = mapped_column(default=0)
    round_to_pack: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    article: Mapped[MaterialArticle | None] = relationship()


class MaterialStationFigure(TenantScoped, Base):
    """A planner's own value of one of a station's figures, used instead of the register's.

    The register says how many are on the roll and how many booths the room has; a
    planner who knows better (a room shared by two districts, screens brought in) sets
    the figure here with a reason.
    """

    __tablename__ = "material_station_figures"
    __table_args__ = (
        UniqueConstraint("station_id", "figure"),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    figure: Mapped[str] = mapped_column(String(16))
    value: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    set_by_label: Mapped[str] = mapped_column(String(254), default="")
    set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class MaterialNeed(TenantScoped, Base):
    """How many of an article a station needs, as the rules last computed it."""

    __tablename__ = "material_needs"
    __table_args__ = (
        UniqueConstraint("station_id", "article_id"),
        Index("ix_material_needs_election_article", "election_id", "article_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(
        ForeignKey("material_articles.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The rule that gave the quantity (the first, when several rules add up).
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("material_need_rules.id", ondelete="SET NULL"), index=True
    )


class MaterialStock(TenantScoped, Base):
    """How many of a consumable a depot holds."""

    __tablename__ = "material_stock"
    __table_args__ = (
        UniqueConstraint("depot_id", "article_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    depot_id: Mapped[int] = mapped_column(
        ForeignKey("material_depots.id", ondelete="CASCADE"), index=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("material_articles.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MaterialReservation(TenantScoped, Base):
    """Stock set aside for a station's need: a count of a consumable from a depot, or
    one piece of equipment (``asset_id``)."""

    __tablename__ = "material_reservations"
    __table_args__ = (
        UniqueConstraint("election_id", "asset_id"),
        Index("ix_material_reservations_election_station", "election_id", "station_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    station_id: Mapped[int] = mapped_column(
        ForeignKey("stations.id", ondelete="CASCADE"), index=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("material_articles.id", ondelete="CASCADE"), index=True
    )
    depot_id: Mapped[int | None] = mapped_column(
        ForeignKey("material_depots.id", ondelete="SET NULL"), index=True
    )
    quantity: Mapped[int] = mapped_column(default=0)
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("material_assets.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
