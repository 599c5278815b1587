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

from app.core.i18n import _, locale_scope
from app.core.outbox.mail import queue_email
from app.core.outbox.sms import queue_sms
from app.domain.models import CourseBooking, CourseSession, Person


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


def _details(course_session: CourseSession) -> dict[str, Any]:
    return {
        "course": course_session.course.name,
        "day": course_session.day,
        "starts_at": course_session.starts_at.strftime("%H:%M"),
        "ends_at": course_session.ends_at.strftime("%H:%M"),
        "place": place_of(course_session),
        "materials": course_session.course.materials,
    }


def _email(
    sender: Letterhead,
    person: Person,
    template: str,
    key: str,
    course_session: CourseSession,
    db_session: AsyncSession,
    **extra: Any,
) -> None:
    if not person.email:
        return
    queue_email(
        db_session,
        to=person.email,
        template=template,
        locale=person.preferred_language,
        idempotency_key=key,
        tenant_id=sender.tenant_id,
        name=person.first_name,
        municipality=sender.municipality,
        link=sender.portal_link,
        **_details(course_session),
        **extra,
    )


def _text(
    sender: Letterhead, person: Person, key: str, message: str, db_session: AsyncSession
) -> None:
    if person.mobile:
        queue_sms(
            db_session,
            to=person.mobile,
            text=message,
            idempotency_key=key,
            tenant_id=sender.tenant_id,
        )


def _stamp(moment: dt.datetime | None) -> str:
    """A booking's moment as a key part: a person may come back to a session (rebooked
    away and back, reminded again after a change), and each time is its own message."""
    return f"{moment.timestamp():.6f}" if moment is not None else "-"


def booked(db_session: AsyncSession, sender: Letterhead, booking: CourseBooking) -> None:
    """Tell a person they have a seat (or a place on the waiting list)."""
    course_session = booking.session
    template = "course_waiting" if booking.state == "waiting" else "course_booked"
    moment = booking.created_at if booking.state == "waiting" else booking.seated_at
    _email(
        sender,
        booking.person,
        template,
        f"course-{booking.state}:{booking.id}:{course_session.id}:{_stamp(moment)}",
        course_session,
        db_session,
    )


def moved_up(db_session: AsyncSession, sender: Letterhead, booking: CourseBooking) -> None:
    """A seat freed and the first on the waiting list got it."""
    person = booking.person
    course_session = booking.session
    key = f"course-moved-up:{booking.id}:{course_session.id}:{_stamp(booking.seated_at)}"
    _email(sender, person, "course_moved_up", key, course_session, db_session)
    with locale_scope(person.preferred_language):
        message = _(
            "%(municipality)s: a seat freed up and you are now booked on %(course)s, "
            "%(day)s %(start)s. Cancel in the portal if you cannot come.",
            municipality=sender.municipality,
            course=course_session.course.name,
            day=course_session.day.isoformat(),
            start=course_session.starts_at.strftime("%H:%M"),
        )
    _text(sender, person, f"{key}:sms", message, db_session)


def session_cancelled(
    db_session: AsyncSession,
    sender: Letterhead,
    booking: CourseBooking,
    alternatives: Sequence[CourseSession],
    reason: str,
) -> None:
    """The session a person was booked on is cancelled; offer them the others."""
    person = booking.person
    course_session = booking.session
    key = f"course-cancelled:{booking.id}"
    choices = [
        {
            "day": other.day,
            "starts_at": other.starts_at.strftime("%H:%M"),
            "ends_at": other.ends_at.strftime("%H:%M"),
            "place": place_of(other),
        }
        for other in alternatives
    ]
    _email(
        sender,
        person,
        "course_session_cancelled",
        key,
        course_session,
        db_session,
        alternatives=choices,
        reason=reason,
    )
    with locale_scope(person.preferred_language):
        message = _(
            "%(municipality)s: the %(course)s session on %(day)s is cancelled. "
            "Choose another session in the portal or with the link in your email.",
            municipality=sender.municipality,
            course=course_session.course.name,
            day=course_session.day.isoformat(),
        )
    _text(sender, person, f"{key}:sms", message, db_session)


def session_changed(
    db_session: AsyncSession, sender: Letterhead, booking: CourseBooking, when: dt.datetime
) -> None:
    """The day, time or place of a person's session changed."""
    person = booking.person
    course_session = booking.session
    key = f"course-changed:{booking.id}:{course_session.id}:{_stamp(when)}"
    _email(sender, person, "course_session_changed", key, course_session, db_session)
    with locale_scope(person.preferred_language):
        message = _(
            "%(municipality)s: your %(course)s session has changed: now %(day)s "
            "%(start)s–%(end)s, %(place)s.",
            municipality=sender.municipality,
            course=course_session.course.name,
            day=course_session.day.isoformat(),
            start=course_session.starts_at.strftime("%H:%M"),
            end=course_session.ends_at.strftime("%H:%M"),
            place=place_of(course_session),
        )
    _text(sender, person, f"{key}:sms", message, db_session)


def reminder(db_session: AsyncSession, sender: Letterhead, booking: CourseBooking) -> None:
    """The day before: where and when, and what to bring."""
    person = booking.person
    course_session = booking.session
    # ``reminded_at`` is set by the claim that makes each reminder go once.
    key = f"course-reminder:{booking.id}:{course_session.id}:{_stamp(booking.reminded_at)}"
    _email(sender, person, "course_reminder", key, course_session, db_session)
    with locale_scope(person.preferred_language):
        message = _(
            "%(municipality)s: reminder, %(course)s tomorrow %(day)s at %(start)s, %(place)s.",
            municipality=sender.municipality,
            course=course_session.course.name,
            day=course_session.day.isoformat(),
            start=course_session.starts_at.strftime("%H:%M"),
            place=place_of(course_session),
        )
    _text(sender, person, f"{key}:sms", message, db_session)


def letterhead_for(tenant: Any, base_url: str) -> Letterhead:
    """The letterhead of a municipality (a ``Tenant``), as faces and jobs build it."""
    return Letterhead(tenant.id, tenant.name, tenant.slug, base_url.rstrip("/"), tenant.timezone)
