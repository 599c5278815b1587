"""The mail and texts courses send: booked, moved up from the waiting list, session
cancelled (with other sessions to choose), and the day-before reminder.

Everything goes through the outbox in the caller's transaction; each message has an
idempotency key, so a retried or repeated job never sends it twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import locale_scope
from app.domain.messaging.fields import day_text, merge_fields
from app.domain.messaging.queue import queue_message
from app.domain.models import CourseBooking, CourseSession


@dataclass(frozen=True)
class Letterhead:
    """Who sends course mail and where the portal is: the municipality and base URL."""

    tenant_id: int
    municipality: str
    slug: str
    base_url: str
    timezone: str = "Europe/Stockholm"

    def today(self) -> dt.date:
        """Today in the municipality (deadlines and reminders are local days)."""
        return dt.datetime.now(ZoneInfo(self.timezone)).date()

    @property
    def portal_link(self) -> str:
        return f"{self.base_url}/{self.slug}/portal/courses"


def place_of(course_session: CourseSession) -> str:
    """Where a session is held, as one line (an online session has no room)."""
    room = course_session.room
    if room is None:
        return course_session.course.external_url or ""
    building = room.building
    parts = [building.name, room.name]
    if building.street_address:
        parts.append(f"{building.street_address}, {building.city}".strip(", "))
    return ", ".join(part for part in parts if part)


async def _send(
    db_session: AsyncSession,
    sender: Letterhead,
    booking: CourseBooking,
    message: str,
    key: str,
    channels: tuple[str, ...] = ("email", "sms"),
    extra: dict[str, str] | None = None,
) -> None:
    """The message ``message`` about a session, by e-mail (idempotency ``key``) and by
    SMS (``key:sms``) where the person has an address and the message has the channel."""
    person = booking.person
    locale = person.preferred_language
    fields = await merge_fields(
        db_session, person=person, booking=booking, base_url=sender.base_url, extra=extra
    )
    for channel, to, once in (("email", person.email, key), ("sms", person.mobile, f"{key}:sms")):
        if to and channel in channels:
            await queue_message(
                db_session,
                key=message,
                channel=channel,
                to=to,
                locale=locale,
                fields=fields,
                idempotency_key=once,
            )


def _stamp(moment: dt.datetime | None) -> str:
    """A booking's moment as a key part: a person may come back to a session (rebooked
    away and back, reminded again after a change), and each time is its own message."""
    return f"{moment.timestamp():.6f}" if moment is not None else "-"


async def booked(db_session: AsyncSession, sender: Letterhead, booking: CourseBooking) -> None:
    """Tell a person they have a seat (or a place on the waiting list), by e-mail."""
    course_session = booking.session
    message = "course_waiting" if booking.state == "waiting" else "course_booked"
    moment = booking.created_at if booking.state == "waiting" else booking.seated_at
    key = f"course-{booking.state}:{booking.id}:{course_session.id}:{_stamp(moment)}"
    await _send(db_session, sender, booking, message, key, ("email",))


async def moved_up(db_session: AsyncSession, sender: Letterhead, booking: CourseBooking) -> None:
    """A seat freed and the first on the waiting list got it."""
    course_session = booking.session
    key = f"course-moved-up:{booking.id}:{course_session.id}:{_stamp(booking.seated_at)}"
    await _send(db_session, sender, booking, "course_moved_up", key)


async def session_cancelled(
    db_session: AsyncSession,
    sender: Letterhead,
    booking: CourseBooking,
    alternatives: Sequence[CourseSession],
    reason: str,
) -> None:
    """The session a person was booked on is cancelled; offer them the others."""
    person = booking.person
    with locale_scope(person.preferred_language):
        choices = "\n".join(
            f"- {day_text(other.day)} {other.starts_at.strftime('%H:%M')}–"
            f"{other.ends_at.strftime('%H:%M')}, {place_of(other)}"
            for other in alternatives
        )
    await _send(
        db_session,
        sender,
        booking,
        "course_session_cancelled",
        f"course-cancelled:{booking.id}",
        extra={"course.reason": reason, "course.alternatives": choices},
    )


async def session_changed(
    db_session: AsyncSession, sender: Letterhead, booking: CourseBooking, when: dt.datetime
) -> None:
    """The day, time or place of a person's session changed."""
    course_session = booking.session
    key = f"course-changed:{booking.id}:{course_session.id}:{_stamp(when)}"
    await _send(db_session, sender, booking, "course_session_changed", key)


async def reminder(db_session: AsyncSession, sender: Letterhead, booking: CourseBooking) -> None:
    """The day before: where and when, and what to bring."""
    course_session = booking.session
    # ``reminded_at`` is set by the claim that makes each reminder go once.
    key = f"course-reminder:{booking.id}:{course_session.id}:{_stamp(booking.reminded_at)}"
    await _send(db_session, sender, booking, "course_reminder", key)


def letterhead_for(tenant: Any, base_url: str) -> Letterhead:
    """The letterhead of a municipality (a ``Tenant``), as faces and jobs build it."""
    return Letterhead(tenant.id, tenant.name, tenant.slug, base_url.rstrip("/"), tenant.timezone)
