"""The merge fields: what a template may name, what it means, an example of it, and the
context that fills them from the model.

A field is a dotted name (``person.first_name``) in one of the groups below; a
message kind offers the common group and the groups its catalogue entry names.
Every value is text, written in the reader's language, so a template needs no
formatting of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _, format_locale, get_locale, lazy_gettext, locale_scope, named
from app.core.models import Tenant
from app.core.tenancy import require_tenant_id
from app.domain.models import (
    Application,
    Assignment,
    Building,
    Course,
    CourseBooking,
    CourseSession,
    Election,
    Person,
    RoleType,
    Room,
    Shift,
    Station,
)
from app.domain.site.webparts import site_settings
from app.domain.staffing.offer_terms import fee_text


@dataclass(frozen=True)
class Field:
    name: str
    description: object  # a lazy translation
    example: str


def _group(*fields: tuple[str, object, str]) -> tuple[Field, ...]:
    return tuple(Field(name, description, example) for name, description, example in fields)


FIELD_GROUPS: dict[str, tuple[Field, ...]] = {
    "common": _group(
        ("person.first_name", lazy_gettext("The person's first name"), "Åsa"),
        ("person.name", lazy_gettext("The person's full name"), "Åsa Lindqvist"),
        ("municipality.name", lazy_gettext("The municipality's name"), "Exempelby kommun"),
        ("contact.email", lazy_gettext("The election office's e-mail"), "val@exempelby.se"),
        ("contact.phone", lazy_gettext("The election office's phone"), "+46 8 123 45 67"),
        (
            "portal_link",
            lazy_gettext("Link to the clerk portal"),
            "https://stemma.example/exempelby/portal",
        ),
    ),
    "election": _group(
        ("election.name", lazy_gettext("The election's name"), "Val till riksdagen 2026"),
        ("election.day", lazy_gettext("Election day"), "13 september 2026"),
    ),
    "place": _group(
        ("role.name", lazy_gettext("The role"), "Röstmottagare"),
        ("station.name", lazy_gettext("The polling station"), "Vallokal Centrum"),
        ("room.name", lazy_gettext("The room"), "Matsalen"),
        ("address", lazy_gettext("The station's address"), "Storgatan 1, 123 45 Exempelby"),
        (
            "map_link",
            lazy_gettext("Link to a map of the address"),
            "https://www.openstreetmap.org/",
        ),
        ("shift.day", lazy_gettext("The day of the shift"), "13 september 2026"),
        ("shift.starts", lazy_gettext("When the shift starts"), "07:30"),
        ("shift.ends", lazy_gettext("When the shift ends"), "21:00"),
        ("pay", lazy_gettext("The pay"), "1 800 kr per dag"),
    ),
    "offer": _group(
        (
            "offer.link",
            lazy_gettext("Link to accept or decline"),
            "https://stemma.example/exempelby/offer",
        ),
        (
            "offer.deadline",
            lazy_gettext("Answer by (empty once answered)"),
            "1 september 2026 kl. 12:00",
        ),
    ),
    "change": _group(
        ("change.now", lazy_gettext("The new day and time"), "13 sep. 2026 07:00–14:00"),
        ("change.was", lazy_gettext("The day and time before"), "13 sep. 2026 07:30–14:00"),
    ),
    "course": _group(
        ("course.name", lazy_gettext("The course"), "Grundutbildning för röstmottagare"),
        ("course.day", lazy_gettext("The day of the session"), "2 september 2026"),
        ("course.starts", lazy_gettext("When the session starts"), "18:00"),
        ("course.ends", lazy_gettext("When the session ends"), "20:00"),
        (
            "course.place",
            lazy_gettext("Where the session is"),
            "Stadshuset, Sal B, Storgatan 1, Exempelby",
        ),
        ("course.materials", lazy_gettext("What to bring"), "Legitimation"),
        (
            "course.link",
            lazy_gettext("Link to the bookings in the portal"),
            "https://stemma.example/exempelby/portal/courses",
        ),
    ),
    "course_cancelled": _group(
        ("course.reason", lazy_gettext("Why the session is cancelled"), "Läraren är sjuk."),
        (
            "course.alternatives",
            lazy_gettext("Other sessions with seats, one a line"),
            "- 9 september 2026 18:00–20:00, Stadshuset",
        ),
    ),
    "application": _group(
        (
            "application.elections",
            lazy_gettext("The elections applied for, one a line"),
            "- Val till riksdagen 2026",
        ),
        (
            "application.link",
            lazy_gettext("The applicant's personal link to their application"),
            "https://stemma.example/exempelby/apply/data",
        ),
        ("application.link_days", lazy_gettext("How many days the link works"), "30"),
    ),
    "application_reply": _group(
        (
            "message.text",
            lazy_gettext("The office's message"),
            "Vi behöver veta vilka dagar du kan arbeta.",
        ),
        (
            "application.form_link",
            lazy_gettext("Link to the application form"),
            "https://stemma.example/exempelby/apply",
        ),
    ),
    "office_message": _group(
        (
            "message.text",
            lazy_gettext("The office's message"),
            "Du har ett arvode som inte är utbetalt.",
        ),
    ),
    "contact_form": _group(
        ("form.name", lazy_gettext("Who wrote"), "Per Persson"),
        ("form.email", lazy_gettext("Their e-mail"), "per@example.se"),
        ("form.subject", lazy_gettext("The subject they wrote"), "Fråga om arvode"),
        ("form.message", lazy_gettext("Their message"), "Hej! När betalas arvodet ut?"),
    ),
    "details_changed": _group(
        ("person.changed", lazy_gettext("The contact details that changed"), "e-post, mobilnummer"),
    ),
    "removal": _group(
        ("person.email", lazy_gettext("The person's e-mail"), "asa@example.se"),
        (
            "removal.message",
            lazy_gettext("The person's message"),
            "Jag vill inte vara kvar i registret.",
        ),
        (
            "removal.link",
            lazy_gettext("Link to the person in the register"),
            "https://stemma.example/exempelby/planning/people/1",
        ),
    ),
    "account_link": _group(
        (
            "account.link",
            lazy_gettext("The account's link (it works once)"),
            "https://stemma.example/password/reset?token=example",
        ),
        ("account.valid_for", lazy_gettext("How long the link works"), "15 minuter"),
    ),
    "decline": _group(
        ("decline.reason", lazy_gettext("The reason they gave"), "Jag är sjuk."),
    ),
}


def fields_for(groups: tuple[str, ...]) -> tuple[Field, ...]:
    """The fields a kind offers: the common ones, then its groups'."""
    names = ("common", *groups)
    return tuple(field for name in names for field in FIELD_GROUPS[name])


def field_names(groups: tuple[str, ...]) -> frozenset[str]:
    return frozenset(field.name for field in fields_for(groups))


def nest(flat: dict[str, str]) -> dict[str, Any]:
    """``{"person.name": "x"}`` as ``{"person": {"name": "x"}}``, as templates read it."""
    nested: dict[str, Any] = {}
    for name, value in flat.items():
        head, _dot, tail = name.partition(".")
        if tail:
            nested.setdefault(head, {})[tail] = value
        else:
            nested[head] = value
    return nested


def example_fields(groups: tuple[str, ...]) -> dict[str, Any]:
    return nest({field.name: field.example for field in fields_for(groups)})


def day_text(day: dt.date) -> str:
    return format_date(day, format="long", locale=format_locale())


def address_of(building: Building | None) -> str:
    if building is None or not building.street_address:
        return ""
    town = f"{building.postal_code} {building.city}".strip()
    return f"{building.street_address}, {town}" if town else building.street_address


def map_link(building: Building | None) -> str:
    if building is None or building.latitude is None or building.longitude is None:
        return ""
    return (
        "https://www.openstreetmap.org/?mlat="
        f"{building.latitude:.5f}&mlon={building.longitude:.5f}#map=17/"
        f"{building.latitude:.5f}/{building.longitude:.5f}"
    )


async def _common(session: AsyncSession, person: Person | None, base_url: str) -> dict[str, str]:
    tenant = await session.get(Tenant, require_tenant_id())
    settings = await site_settings(session)
    assert tenant is not None
    return {
        "person.first_name": person.first_name if person else "",
        "person.name": f"{person.first_name} {person.last_name}".strip() if person else "",
        "municipality.name": tenant.name,
        "contact.email": settings.office_email or "",
        "contact.phone": settings.office_phone or "",
        "portal_link": f"{base_url}/{tenant.slug}/portal" if base_url else "",
        # For the HTML mail's frame only (not a merge field).
        "municipality.logo": f"{base_url}/{tenant.slug}/logo" if base_url and settings.logo else "",
    }


def deadline_text(moment: dt.datetime, timezone: str) -> str:
    """A deadline as a date and time in the municipality's time zone."""
    local = moment.astimezone(ZoneInfo(timezone))
    return _(
        "%(day)s at %(time)s",
        day=format_date(local.date(), format="long", locale=format_locale()),
        time=format_time(local.time(), format="HH:mm", locale=format_locale()),
    )


async def _place(session: AsyncSession, assignment: Assignment) -> dict[str, str]:
    station = await session.get(Station, assignment.station_id)
    shift = await session.get(Shift, assignment.shift_id)
    role = await session.get(RoleType, assignment.role_type_id)
    assert station is not None and shift is not None and role is not None
    room = await session.get(Room, station.room_id) if station.room_id else None
    building = await session.get(Building, room.building_id) if room else None
    place = {
        "role.name": named(role),
        "station.name": station.name,
        "room.name": room.name if room else "",
        "address": address_of(building),
        "map_link": map_link(building),
        "shift.day": day_text(shift.day),
        "shift.starts": shift.starts_at.strftime("%H:%M"),
        "shift.ends": shift.ends_at.strftime("%H:%M"),
        "pay": fee_text(role.pay_amount, role.pay_unit),
    }
    if assignment.state == "offered" and assignment.answer_by is not None:
        tenant = await session.get(Tenant, require_tenant_id())
        assert tenant is not None
        place["offer.deadline"] = deadline_text(assignment.answer_by, tenant.timezone)
    return place


async def _course(session: AsyncSession, booking: CourseBooking, base_url: str) -> dict[str, str]:
    """The course group of a booking (its session, course, room and building)."""
    course_session = await session.get(CourseSession, booking.session_id)
    course = await session.get(Course, booking.course_id)
    assert course_session is not None and course is not None
    room = await session.get(Room, course_session.room_id) if course_session.room_id else None
    building = await session.get(Building, room.building_id) if room else None
    if room is None or building is None:
        place = course.external_url or ""
    else:
        place = ", ".join(p for p in (building.name, room.name, address_of(building)) if p)
    tenant = await session.get(Tenant, require_tenant_id())
    assert tenant is not None
    return {
        "course.name": course.name,
        "course.day": day_text(course_session.day),
        "course.starts": course_session.starts_at.strftime("%H:%M"),
        "course.ends": course_session.ends_at.strftime("%H:%M"),
        "course.place": place,
        "course.materials": course.materials,
        "course.link": f"{base_url}/{tenant.slug}/portal/courses" if base_url else "",
    }


def _applicant(application: Application, base_url: str, slug: str) -> dict[str, str]:
    return {
        "person.first_name": application.first_name,
        "person.name": f"{application.first_name} {application.last_name}".strip(),
        "application.form_link": f"{base_url}/{slug}/apply" if base_url else "",
    }


async def merge_fields(
    session: AsyncSession,
    *,
    person: Person | None = None,
    election: Election | None = None,
    assignment: Assignment | None = None,
    booking: CourseBooking | None = None,
    application: Application | None = None,
    extra: dict[str, str] | None = None,
    locale: str | None = None,
    base_url: str = "",
) -> dict[str, Any]:
    """The context of one message, in ``locale`` (else the person's language, else the
    current one). ``extra`` adds or overrides dotted fields (``offer.link``, a code).

    ``booking`` fills the course group; ``application`` the applicant's name (as the
    person's) and the form's link.
    """
    return nest(
        await merge_flat(
            session,
            person=person,
            election=election,
            assignment=assignment,
            booking=booking,
            application=application,
            extra=extra,
            locale=locale,
            base_url=base_url,
        )
    )


async def merge_flat(
    session: AsyncSession,
    *,
    person: Person | None = None,
    election: Election | None = None,
    assignment: Assignment | None = None,
    booking: CourseBooking | None = None,
    application: Application | None = None,
    extra: dict[str, str] | None = None,
    locale: str | None = None,
    base_url: str = "",
) -> dict[str, str]:
    """The fields by dotted name; every field of the catalogue is there, empty when
    the message has nothing for it, so a template naming one never fails to render."""
    if locale is None:
        reader = person or application
        locale = reader.preferred_language if reader is not None else get_locale()
    language = locale
    flat = {field.name: "" for group in FIELD_GROUPS.values() for field in group}
    with locale_scope(language):
        flat.update(await _common(session, person, base_url))
        if assignment is not None:
            flat.update(await _place(session, assignment))
            if election is None:
                election = await session.get(Election, assignment.election_id)
        if election is not None:
            flat["election.name"] = election.name
            flat["election.day"] = day_text(election.election_day)
        if booking is not None:
            flat.update(await _course(session, booking, base_url))
        if application is not None:
            tenant = await session.get(Tenant, require_tenant_id())
            assert tenant is not None
            flat.update(_applicant(application, base_url, tenant.slug))
        flat.update(extra or {})
    return flat
