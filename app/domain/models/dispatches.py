"""Dispatches: a message the office writes and sends by e-mail, SMS or both to a chosen
group, and the frozen list of who it went to."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow

DISPATCH_CHANNELS = ("email", "sms")
#: draft: being written, nobody frozen; scheduled: frozen at its time by the worker;
#: queueing: the list is frozen and its messages are being put in the outbox (a worker
#: that died here is resumed); sent: every message is in the outbox; cancelled.
DISPATCH_STATES = ("draft", "scheduled", "queueing", "sent", "cancelled")
#: Why a person of the group gets no message on a channel.
LEFT_OUT_REASONS = ("no_email", "no_mobile", "erased")


class Dispatch(TenantScoped, Base):
    """One message to a group, by filter. ``texts`` holds what the office wrote per
    language: ``{"sv": {"subject": ..., "email": ..., "sms": ...}, ...}``; a recipient
    whose language has none gets the first written (Swedish first). ``message_key``
    names a template instead (the office's saved one, else the system's default)."""

    __tablename__ = "dispatches"
    __table_args__ = (
        # The form's one-time key: the same form sent twice creates one dispatch.
        UniqueConstraint("tenant_id", "request_key"),
        Index("ix_dispatches_due", "state", "send_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int | None] = mapped_column(
        ForeignKey("elections.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channels: Mapped[list[str]] = mapped_column(default=list)
    message_key: Mapped[str | None] = mapped_column(String(64))
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    send_at: Mapped[dt.datetime | None]
    request_key: Mapped[str] = mapped_column(String(64))
    #: "Send again to the failed": the dispatch whose failed messages this one repeats.
    resend_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("dispatches.id", ondelete="SET NULL")
    )
    created_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    frozen_at: Mapped[dt.datetime | None]
    #: The frozen list is queued in the order of its rows' ids, a batch per transaction
    #: under this row's lock: every recipient up to this id is in the outbox (or left
    #: out). Where a worker that died mid-way resumes.
    queued_through: Mapped[int] = mapped_column(default=0, server_default="0")
    sent_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]


class DispatchRecipient(TenantScoped, Base):
    """One person of a dispatch's frozen list on one channel: queued (the outbox row
    whose ``dispatch_recipient_id`` is this row's id, unique there), waiting to be
    queued, or left out and why. ``recipient_key`` is ``p<person id>``
    (or ``a<application id>`` for an applicant not yet in the register); one row per
    (dispatch, recipient, channel), so nothing is frozen or sent twice."""

    __tablename__ = "dispatch_recipients"
    __table_args__ = (UniqueConstraint("dispatch_id", "recipient_key", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatches.id", ondelete="CASCADE"))
    recipient_key: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(8))
    #: A row names a person: it goes with them (and with an applicant's application).
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    #: The place the merge fields speak of (station, shift, role), when there is one.
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignments.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(201), default="")
    first_name: Mapped[str] = mapped_column(String(100), default="")
    #: The place's station, shift and role as frozen (the merge fields are made from
    #: them without reading the assignment again).
    station_id: Mapped[int | None]
    shift_id: Mapped[int | None]
    role_type_id: Mapped[int | None]
    address: Mapped[str] = mapped_column(String(254), default="")
    locale: Mapped[str] = mapped_column(String(8), default="sv")
    left_out: Mapped[str | None] = mapped_column(String(16))
