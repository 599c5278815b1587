"""People entered twice and merged into one (``app.domain.registers.merging``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow


class PersonMerge(TenantScoped, Base):
    """The tombstone of a person merged into another: the old id leads to the survivor.

    The merged-away row is gone; this keeps only ids, which fields were taken from it
    and how many rows moved, never its values. A later merge of the survivor moves the
    survivor id on, so one look-up always finds the person now."""

    __tablename__ = "person_merges"
    __table_args__ = (Index("ix_person_merges_tenant_merged", "tenant_id", "merged_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The id the merged-away person had (no foreign key: that row is deleted).
    merged_id: Mapped[int]
    survivor_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    #: The fields whose value was taken from the merged-away record.
    fields_taken: Mapped[list[str]] = mapped_column(default=list)
    #: Rows moved to the survivor, by table.
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
    merged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    merged_by_label: Mapped[str] = mapped_column(String(254), default="")
    merged_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
