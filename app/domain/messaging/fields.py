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

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import format_locale, get_locale, locale_scope, named
from app.core.i18n import lazy_gettext as _l
from app.core.models import Tenant
from app.core.tenancy import require_tenant_id
from app.domain.models import (
    Assignment,
    Building,
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
        ("person.first_name", _l("The recipient's first name"), "Åsa"),
        ("person.name", _l("The recipient's full name"), "Åsa Lindqvist"),
        ("municipality.name", _l("The municipality's name"), "Exempelby kommun"),
        ("contact.email", _l("The election office's e-mail"), "val@exempelby.se"),
        ("contact.phone", _l("The election office's phone"), "+46 8 123 45 67"),
        ("portal_link", _l("Link to the clerk portal"), "https://stemma.example/exempelby/portal"),
    ),
    "election": _group(
        ("election.name", _l("The election's name"), "Val till riksdagen 2026"),
        ("election.day", _l("Election day"), "13 september 2026"),
    ),
    "place": _group(
        ("role.name", _l("The role"), "Röstmottagare"),
        ("station.name", _l("The polling station"), "Vallokal Centrum"),
        ("room.name", _l("The room"), "Matsalen"),
        ("address", _l("The station's address"), "Storgatan 1, 123 45 Exempelby"),
        ("map_link", _l("Link to a map of the address"), "https://www.openstreetmap.org/"),
        ("shift.day", _l("The day of the shift"), "13 september 2026"),
        ("shift.starts", _l("When the shift starts"), "07:30"),
        ("shift.ends", _l("When the shift ends"), "21:00"),
        ("pay", _l("The pay"), "1 800 kr per dag"),
    ),
    "offer": _group(
        ("offer.link", _l("Link to accept or decline"), "https://stemma.example/exempelby/offer"),
        ("offer.deadline", _l("Answer by"), "1 september 2026 kl. 12:00"),
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
    }


async def _place(session: AsyncSession, assignment: Assignment) -> dict[str, str]:
    station = await session.get(Station, assignment.station_id)
    shift = await session.get(Shift, assignment.shift_id)
    role = await session.get(RoleType, assignment.role_type_id)
    assert station is not None and shift is not None and role is not None
    room = await session.get(Room, station.room_id) if station.room_id else None
    building = await session.get(Building, room.building_id) if room else None
    return {
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


async def merge_fields(
    session: AsyncSession,
    *,
    person: Person | None = None,
    election: Election | None = None,
    assignment: Assignment | None = None,
    booking: Any = None,
    application: Any = None,
    extra: dict[str, str] | None = None,
    locale: str | None = None,
    base_url: str = "",
) -> dict[str, Any]:
    """The context of one message, in ``locale`` (else the person's language, else the
    current one). ``extra`` adds or overrides dotted fields (``offer.link``, a code).

    ``booking`` and ``application`` are read by the groups that need them (the
    course and application groups add themselves here when they are written).
    """
    language = locale or (person.preferred_language if person else get_locale())
    with locale_scope(language):
        flat = await _common(session, person, base_url)
        if assignment is not None:
            flat.update(await _place(session, assignment))
            if election is None:
                election = await session.get(Election, assignment.election_id)
        if election is not None:
            flat["election.name"] = election.name
            flat["election.day"] = day_text(election.election_day)
        flat.update(extra or {})
    return nest(flat)
