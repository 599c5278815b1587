"""A clerk's personal calendar feed (iCalendar) at a secret address.

Calendar apps cannot sign in, so the address itself is the key: ``/<tenant>/portal/
calendar/<token>.ics``. The token is an HMAC of (tenant, person, a random nonce) under a
key derived from the app's secret key. The database keeps the nonce and the token's
SHA-256, never the token: a copy of the database alone opens no feed, while the portal
can still show the clerk their address again. Resetting draws a new nonce, so the old
address stops working at once.

What the feed lists comes from ``FEED_SOURCES``: one async function per kind of
event, each returning the person's ``FeedEvent`` items.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.crypto import derive_key, keyed_digest
from app.core.i18n import _, named
from app.core.models import Tenant
from app.core.models.base import utcnow
from app.core.security import hash_token
from app.domain.courses.notices import place_of
from app.domain.models import (
    Assignment,
    Building,
    CourseBooking,
    CourseSession,
    Person,
    Room,
    Shift,
    Station,
)
from app.domain.staffing.queries import assignments_of_person

#: States of an assignment the person's calendar shows.
FEED_STATES = ("offered", "accepted")
#: How far back the feed reaches; older shifts stay in the portal's history.
PAST_DAYS = 400
_KEY_PURPOSE = "calendar-feed"


@dataclass(frozen=True)
class FeedEvent:
    """One event in the feed. Times are aware, in the municipality's time zone."""

    uid: str
    summary: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    location: str = ""
    description: str = ""
    #: False for something not yet settled (an offer): shown as tentative.
    confirmed: bool = True
    last_modified: dt.datetime | None = None
    latitude: float | None = None
    longitude: float | None = None


FeedSource = Callable[[AsyncSession, Tenant, Person], Awaitable[list[FeedEvent]]]


# --- the secret address ------------------------------------------------------------------


def _token(secret_key: str, tenant_id: int, person_id: int, nonce: str) -> str:
    key = derive_key(secret_key, _KEY_PURPOSE)
    return keyed_digest(key, f"{tenant_id}:{person_id}:{nonce}")


def feed_token(secret_key: str, person: Person) -> str | None:
    """The token of the person's current feed address, or None when they have none (or
    it was made with a secret key this server no longer has: then they make a new one)."""
    if not person.calendar_token_nonce or not person.calendar_token_hash:
        return None
    token = _token(secret_key, person.tenant_id, person.id, person.calendar_token_nonce)
    return token if hash_token(token) == person.calendar_token_hash else None


async def reset_feed(session: AsyncSession, actor: Actor, secret_key: str, person: Person) -> str:
    """Give the person a new feed address (their first, or one that replaces the old,
    which stops working at once). Returns the new token."""
    replaced = person.calendar_token_hash is not None
    nonce = secrets.token_hex(16)
    token = _token(secret_key, person.tenant_id, person.id, nonce)
    person.calendar_token_nonce = nonce
    person.calendar_token_hash = hash_token(token)
    code = "portal.calendar.reset" if replaced else "portal.calendar.created"
    await record(session, actor, code, person)
    await session.commit()
    return token


async def stop_feed(session: AsyncSession, actor: Actor, person: Person) -> None:
    """Turn the feed off: the address stops working and none is shown."""
    if person.calendar_token_hash is None:
        return
    person.calendar_token_hash = None
    person.calendar_token_nonce = None
    await record(session, actor, "portal.calendar.stopped", person)
    await session.commit()


async def person_for_token(session: AsyncSession, token: str) -> Person | None:
    """The person (of the current tenant) whose feed address carries ``token``."""
    if not token or len(token) > 100:
        return None
    return await session.scalar(
        select(Person).where(Person.calendar_token_hash == hash_token(token))
    )


# --- what the feed lists --------------------------------------------------------------------


def feed_since(zone: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """The first day the feed lists: counted from the municipality's local date (shift
    and course days are local days), not the server's, which is a day behind or ahead
    around midnight."""
    return (now or utcnow()).astimezone(zone).date() - dt.timedelta(days=PAST_DAYS)


def _address(station: Station, building: Building | None) -> str:
    if building is None:
        return ""
    parts = [building.name] if building.name.strip().lower() != station.name.lower() else []
    parts += [building.street_address, f"{building.postal_code} {building.city}".strip()]
    return ", ".join(part for part in parts if part.strip())


async def shift_events(session: AsyncSession, tenant: Tenant, person: Person) -> list[FeedEvent]:
    """The person's offered and accepted shifts: "Role · Station" at the building's address."""
    zone = ZoneInfo(tenant.timezone)
    since = feed_since(zone)
    rows = await session.execute(
        assignments_of_person(person.id)
        .add_columns(Room, Building)
        .outerjoin(Room, Room.id == Station.room_id)
        .outerjoin(Building, Building.id == Room.building_id)
        .where(Assignment.state.in_(FEED_STATES), Shift.day >= since)
    )
    events = []
    for assignment, election, station, shift, role, room, building in rows:
        summary = f"{named(role)} · {station.name}"
        offered = assignment.state == "offered"
        lines = [election.name]
        if room is not None:
            lines.append(_("Room: %(room)s", room=room.name))
        if building is not None and building.access_notes.strip():
            lines.append(building.access_notes.strip())
        if offered:
            summary = _("Offer: %(what)s", what=summary)
            lines.append(_("This is an offer: accept or decline it in the portal."))
        events.append(
            FeedEvent(
                uid=f"assignment-{assignment.id}.{tenant.slug}@stemma",
                summary=summary,
                starts_at=dt.datetime.combine(shift.day, shift.starts_at, tzinfo=zone),
                ends_at=dt.datetime.combine(shift.day, shift.ends_at, tzinfo=zone),
                location=_address(station, building),
                description="\n".join(lines),
                confirmed=not offered,
                last_modified=assignment.updated_at,
                latitude=building.latitude if building else None,
                longitude=building.longitude if building else None,
            )
        )
    return events


async def course_events(session: AsyncSession, tenant: Tenant, person: Person) -> list[FeedEvent]:
    """The course sessions the person has a seat on, and those they attended (not the
    waiting list, nothing cancelled): "Course: name" at the room, with what to bring."""
    zone = ZoneInfo(tenant.timezone)
    since = feed_since(zone)
    rows = await session.scalars(
        select(CourseBooking)
        .join(CourseSession, CourseSession.id == CourseBooking.session_id)
        .where(
            CourseBooking.person_id == person.id,
            CourseBooking.state.in_(("booked", "attended")),
            CourseSession.status == "open",
            CourseSession.day >= since,
        )
        .options(
            selectinload(CourseBooking.session).selectinload(CourseSession.course),
            selectinload(CourseBooking.session)
            .selectinload(CourseSession.room)
            .selectinload(Room.building),
        )
        .order_by(CourseSession.day, CourseSession.starts_at, CourseBooking.id)
    )
    events = []
    for booking in rows:
        course_session = booking.session
        course = course_session.course
        lines = []
        if course.materials.strip():
            lines.append(_("Bring: %(materials)s", materials=course.materials.strip()))
        if course.external_url:
            lines.append(course.external_url)
        building = course_session.room.building if course_session.room else None
        events.append(
            FeedEvent(
                # One event per booking: moving to another session moves the event.
                uid=f"course-booking-{booking.id}.{tenant.slug}@stemma",
                summary=_("Course: %(name)s", name=course.name),
                starts_at=dt.datetime.combine(
                    course_session.day, course_session.starts_at, tzinfo=zone
                ),
                ends_at=dt.datetime.combine(
                    course_session.day, course_session.ends_at, tzinfo=zone
                ),
                location=place_of(course_session),
                description="\n".join(lines),
                last_modified=booking.seated_at,
                latitude=building.latitude if building else None,
                longitude=building.longitude if building else None,
            )
        )
    return events


#: Every kind of event the feed lists.
FEED_SOURCES: tuple[FeedSource, ...] = (shift_events, course_events)


async def feed_events(
    session: AsyncSession,
    tenant: Tenant,
    person: Person,
    sources: Sequence[FeedSource] = FEED_SOURCES,
) -> list[FeedEvent]:
    events = [event for source in sources for event in await source(session, tenant, person)]
    return sorted(events, key=lambda event: (event.starts_at, event.uid))


def write_calendar(
    tenant: Tenant, events: Sequence[FeedEvent], portal_url: str, now: dt.datetime | None = None
) -> bytes:
    """The feed as iCalendar text (RFC 5545), with the time zone it uses."""
    stamp = now or utcnow()
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Stemma//Clerk portal//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _("%(municipality)s: my shifts", municipality=tenant.name))
    calendar.add("x-wr-timezone", tenant.timezone)
    # Calendar apps poll a subscription; hourly is enough for shifts planned weeks ahead.
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for item in events:
        event = icalendar.Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", item.starts_at)
        event.add("dtend", item.ends_at)
        event.add("summary", item.summary)
        if item.location:
            event.add("location", item.location)
        if item.latitude is not None and item.longitude is not None:
            event.add("geo", (item.latitude, item.longitude))
        description = "\n\n".join(part for part in (item.description, portal_url) if part)
        event.add("description", description)
        event.add("url", portal_url)
        event.add("status", "CONFIRMED" if item.confirmed else "TENTATIVE")
        if item.last_modified is not None:
            event.add("last-modified", item.last_modified)
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
