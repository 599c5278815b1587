"""Live changes as rows (the replay log of the realtime layer) and one-time socket tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, FetchedValue, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow


class Event(TenantScoped, Base):
    """One live change (a check-in, a station status, an incident), written in the
    transaction of the change and published on the broker after it commits.

    ``id`` is the replay cursor: a client that reconnects asks for the events of its
    topics with a greater id. It must never be reused, hence AUTOINCREMENT on SQLite
    (a plain rowid may hand out the id of a deleted last row again).

    Ids are taken at flush and transactions commit in any order, so "a greater id" alone
    would skip a lower id committed later. On PostgreSQL the database fills ``txid`` and
    ``snap`` (migration 0034) and ``app.core.events.events_after`` also replays the lower
    ids that event N's snapshot did not see committed; SQLite leaves them NULL (one
    writer at a time: commit order is id order).
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_topic_id", "topic", "id"),
        Index("ix_events_tenant_txid", "tenant_id", "txid"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    election_id: Mapped[int | None] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    #: ``t:{tenant}:e:{election}:ops``, ``t:{tenant}:station:{id}`` or ``t:{tenant}:user:{id}``.
    topic: Mapped[str] = mapped_column(String(100))
    #: What happened, namespaced like audit codes (``checkin.arrived``); picks the renderer.
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The writing transaction's id (``pg_current_xact_id()``), set by PostgreSQL.
    txid: Mapped[int | None] = mapped_column(
        BigInteger, server_default=FetchedValue(), deferred=True
    )
    #: The snapshot the INSERT ran in (``pg_current_snapshot()`` as text), set by
    #: PostgreSQL: which transactions had committed when this event was written.
    snap: Mapped[str | None] = mapped_column(Text, server_default=FetchedValue(), deferred=True)


class RealtimeTicket(TenantScoped, Base):
    """A one-time, short-lived pass onto the live socket for a user, issued over the API
    (a kiosk or dashboard with no browser session). Only its SHA-256 is stored; using it
    sets ``used_at`` in one conditional UPDATE, so two processes cannot both accept it."""

    __tablename__ = "realtime_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
