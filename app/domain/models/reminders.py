"""The reminders that run themselves, set per election, and the record of each one sent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models.base import Base, TenantScoped, utcnow

#: The occasions, in the order a clerk meets them: an offer not answered, the shift
#: coming up, the evening before election day, the morning of the shift.
REMINDER_OCCASIONS = ("offer_unanswered", "shift_reminder", "election_eve", "wake_up")


class ReminderSettings(TenantScoped, Base):
    """Which reminders an election sends, and when (local days and hours of the
    municipality). One row per election; none means every reminder is off."""

    __tablename__ = "reminder_settings"
    __table_args__ = (UniqueConstraint("election_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    #: Mail and SMS ``shift_reminder_days`` before each shift day, at the hour.
    shift_reminder_on: Mapped[bool] = mapped_column(default=False)
    shift_reminder_days: Mapped[int] = mapped_column(default=3)
    shift_reminder_hour: Mapped[int] = mapped_column(default=10)
    #: SMS the evening before election day, at the hour.
    eve_on: Mapped[bool] = mapped_column(default=False)
    eve_hour: Mapped[int] = mapped_column(default=18)
    #: SMS on the morning of each shift day, at the time.
    wake_up_on: Mapped[bool] = mapped_column(default=False)
    wake_up_at: Mapped[dt.time] = mapped_column(Time, default=dt.time(6, 15))
    #: Mail and SMS about an offer not answered ``offer_days`` after it was sent.
    offer_on: Mapped[bool] = mapped_column(default=False)
    offer_days: Mapped[int] = mapped_column(default=3)
    offer_hour: Mapped[int] = mapped_column(default=10)
    updated_by_label: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def any_on(self) -> bool:
        return self.shift_reminder_on or self.eve_on or self.wake_up_on or self.offer_on


class ReminderSent(TenantScoped, Base):
    """One reminder given to one person on one occasion: the claim that makes it once.

    ``ref`` names what it was about: the shift day (``2026-09-13``) or the offer
    (``a<assignment id>``). A second worker, or a run after a restart, finds the row
    (the unique constraint decides a race) and sends nothing.
    """

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("election_id", "occasion", "person_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"))
    occasion: Mapped[str] = mapped_column(String(24))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(String(40))
    #: The channels it went out on ("email sms"; empty: the person had neither).
    channels: Mapped[str] = mapped_column(String(24), default="")
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
