"""Appointment letters (förordnande, beskikkelse): the election committee's formal
decision that a person works the election, one page per person with an accepted place,
in the person's own language.

A person's page lists all their accepted places in the election, so the letter is the
same whether it is printed alone, for their station or for the whole election.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.documents.pdf import StemmaPDF, pdf_text
from app.core.errors import NotFound
from app.core.i18n import _, collation_key, format_locale, get_locale, locale_scope, named
from app.domain.elections.elections import get_election
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
from app.domain.staffing.offer_terms import fee_text


@dataclass(frozen=True)
class AppointedPlace:
    """One accepted place: the role, where and when, and its fee."""

    role: str
    pay_amount: Decimal
    pay_unit: str
    station_id: int
    station: str
    address: str
    day: dt.date
    starts_at: dt.time
    ends_at: dt.time


@dataclass(frozen=True)
class Appointment:
    person: Person
    places: list[AppointedPlace]


async def appointments(
    session: AsyncSession,
    election_id: int,
    *,
    station_id: int | None = None,
    person_id: int | None = None,
) -> tuple[Election, list[Appointment]]:
    """The people with an accepted place in the election (or at one station, or one
    person), by name, each with all their accepted places in the election."""
    election = await get_election(session, election_id)
    chosen = select(Assignment.person_id).where(
        Assignment.election_id == election.id, Assignment.state == "accepted"
    )
    if station_id is not None:
        found = await session.scalar(
            select(Station.id).where(Station.id == station_id, Station.election_id == election.id)
        )
        if found is None:
            raise NotFound(_("Not found."))
        chosen = chosen.where(Assignment.station_id == station_id)
    if person_id is not None:
        chosen = chosen.where(Assignment.person_id == person_id)
    rows = await session.execute(
        select(Person, Station, Shift, RoleType, Building)
        .select_from(Assignment)
        .join(Person, Person.id == Assignment.person_id)
        .join(Station, Station.id == Assignment.station_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .outerjoin(Room, Room.id == Station.room_id)
        .outerjoin(Building, Building.id == Room.building_id)
        .where(
            Assignment.election_id == election.id,
            Assignment.state == "accepted",
            Assignment.person_id.in_(chosen),
        )
        .order_by(
            Person.last_name, Person.first_name, Person.id, Shift.day, Shift.starts_at, Station.name
        )
    )
    result: list[Appointment] = []
    for person, station, shift, role, building in rows:
        if not result or result[-1].person.id != person.id:
            result.append(Appointment(person, []))
        result[-1].places.append(
            AppointedPlace(
                named(role, person.preferred_language),
                role.pay_amount,
                role.pay_unit,
                station.id,
                station.name,
                _address(station, building),
                shift.day,
                shift.starts_at,
                shift.ends_at,
            )
        )
    # Sorted here, not by the database: the reader's alphabet (Å, Ä, Ö after Z) on
    # SQLite and PostgreSQL alike.
    locale = get_locale()
    result.sort(
        key=lambda a: (
            collation_key(a.person.last_name, locale),
            collation_key(a.person.first_name, locale),
            a.person.id,
        )
    )
    return election, result


async def print_appointments(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    *,
    station_id: int | None = None,
    person_id: int | None = None,
) -> tuple[Election, list[Appointment]]:
    """The appointment letters to print (all, one station's or one person's), with the
    printing audited: who printed, how many letters and for which election. The entry
    names no one: a letter holds a person's name, address and personnummer."""
    election, found = await appointments(
        session, election_id, station_id=station_id, person_id=person_id
    )
    if found:
        scope = "person" if person_id is not None else "station" if station_id else "election"
        data: dict[str, object] = {"count": len(found), "scope": scope}
        if station_id is not None:
            data["station"] = station_id
        await record(session, actor, "staffing.letters.printed", election, data=data)
        await session.commit()
    return election, found


def _address(station: Station, building: Building | None) -> str:
    if building is None:
        return ""
    parts = [building.name] if building.name.strip().lower() != station.name.lower() else []
    parts.append(building.street_address)
    parts.append(f"{building.postal_code} {building.city}".strip())
    return ", ".join(part for part in parts if part.strip())


def write_letters_pdf(municipality: str, election: Election, found: Sequence[Appointment]) -> bytes:
    """One page per person, each in the person's preferred language."""
    pdf = StemmaPDF(orientation="portrait", page_numbers=False)
    title = _("Appointment")
    pdf.set_title(pdf_text(f"{title} – {election.name}"))
    pdf.set_author(pdf_text(municipality))
    for appointment in found:
        with locale_scope(appointment.person.preferred_language):
            _letter_page(pdf, municipality, election, appointment)
    return bytes(pdf.output())


def _day(day: dt.date, format: str = "long") -> str:
    return format_date(day, format=format, locale=format_locale())


def _fee(amount: Decimal, unit: str) -> str:
    return fee_text(amount, unit)


def _place_text(place: AppointedPlace) -> str:
    where = f"{place.station}, {place.address}" if place.address else place.station
    return _(
        "%(role)s at %(place)s, on %(day)s %(start)s–%(end)s",
        role=place.role,
        place=where,
        day=_day(place.day, "full"),
        start=f"{place.starts_at:%H:%M}",
        end=f"{place.ends_at:%H:%M}",
    )


def _letter_page(
    pdf: StemmaPDF, municipality: str, election: Election, appointment: Appointment
) -> None:
    person = appointment.person
    pdf.add_page()
    # After add_page: the previous page's footer is drawn as this one starts.
    pdf.running_text = f"{municipality} · {election.name} · {person.full_name}"
    # Each letter is a section in its reader's language (the document's is the sender's).
    with pdf.structure("Sect", lang=get_locale()):
        _letter_body(pdf, municipality, election, appointment)


def _letter_body(
    pdf: StemmaPDF, municipality: str, election: Election, appointment: Appointment
) -> None:
    person = appointment.person
    pdf.text_line(municipality, 13, "B")
    pdf.text_line(_("The election committee"), 10)
    pdf.ln(10)
    # The recipient, placed for a window envelope.
    for line in (person.full_name, person.street_address, f"{person.postal_code} {person.city}"):
        if line.strip():
            pdf.text_line(line.strip(), 11, height=5.5)
    pdf.ln(14)
    pdf.text_line(_("Appointment"), 20, "B", height=10, role="H1")
    day = _day(election.election_day)
    pdf.text_line(_("%(election)s, election day %(day)s", election=election.name, day=day), 11)
    pdf.ln(8)
    who = person.full_name
    if person.birth_date:
        who = _("%(name)s (born %(born)s)", name=who, born=_day(person.birth_date))
    places = appointment.places
    if len(places) == 1:
        text = _(
            "The election committee of %(municipality)s appoints %(person)s as %(place)s.",
            municipality=municipality,
            person=who,
            place=_place_text(places[0]),
        )
        _paragraph(pdf, text)
    else:
        text = _(
            "The election committee of %(municipality)s appoints %(person)s as:",
            municipality=municipality,
            person=who,
        )
        _paragraph(pdf, text)
        with pdf.structure("L"):
            for place in places:
                with pdf.structure("LI"):
                    _paragraph(pdf, f"– {_place_text(place)}", indent=5, role="LBody")
    pdf.ln(4)
    for role, amount, unit in sorted({(p.role, p.pay_amount, p.pay_unit) for p in places}):
        _paragraph(pdf, _("Fee as %(role)s: %(fee)s.", role=role, fee=_fee(amount, unit)))
    pdf.ln(3)
    _paragraph(pdf, _("Please bring this appointment and proof of identity when you work."))
    _signature_lines(pdf)


def _paragraph(pdf: StemmaPDF, text: str, indent: float = 0, role: str = "P") -> None:
    pdf.paragraph(text, 11, indent, role=role)
    pdf.ln(1)


def _signature_lines(pdf: StemmaPDF) -> None:
    """Place and date on the left, the committee's signature on the right."""
    top = max(pdf.get_y() + 25, pdf.h - 70)
    if top + 25 > pdf.h - pdf.b_margin:
        pdf.add_page()
        top = pdf.t_margin + 25
    width = (pdf.epw - 15) / 2
    left, right = pdf.l_margin, pdf.l_margin + width + 15
    pdf.set_draw_color(0)
    pdf.set_line_width(0.3)
    pdf.line(left, top, left + width, top)
    pdf.line(right, top, right + width, top)
    pdf.set_font("helvetica", size=9)
    pdf.set_xy(left, top + 1)
    pdf.cell(width, 5, pdf_text(_("Place and date")))
    pdf.set_xy(right, top + 1)
    pdf.cell(width, 5, pdf_text(_("Signature, for the election committee")))
    pdf.line(right, top + 15, right + width, top + 15)
    pdf.set_xy(right, top + 16)
    pdf.cell(width, 5, pdf_text(_("Name in print")))
