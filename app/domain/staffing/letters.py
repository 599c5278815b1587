"""Appointment letters (förordnande, beskikkelse): the election committee's formal
decision that a person works the election, one page per person with an accepted place,
in the person's own language.

The letter's text is the office's (``app.domain.documents``, key
``appointment_letter``), written with merge fields; around it every letter has the
municipality's letterhead (its logo, the committee, the office's contact), the
recipient's address placed for a window envelope, the heading and the lines for the
signature. A person's page lists all their accepted places in the election, so the
letter is the same whether it is printed alone, for their station or for the whole
election.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.documents.pdf import StemmaPDF, pdf_text
from app.core.errors import NotFound
from app.core.i18n import (
    _,
    collation_key,
    format_locale,
    get_locale,
    locale_scope,
    named,
    pick_locale,
)
from app.core.models import Tenant
from app.core.tenancy import require_tenant_id
from app.domain.documents.texts import current_texts, default_text, render_in_use
from app.domain.elections.elections import get_election
from app.domain.messaging.fields import nest
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
from app.domain.registers.protection import postal_address
from app.domain.site.webparts import site_settings
from app.domain.staffing.offer_terms import fee_text

LETTER = "appointment_letter"


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


@dataclass(frozen=True)
class LetterFrame:
    """What every letter of a municipality carries beside the person's places: its
    name, logo and contact, and the letter's text in each language (the default text
    where the office has written none)."""

    municipality: str
    texts: Mapping[str, str] = field(default_factory=dict)
    logo: bytes | None = None
    office_email: str = ""
    office_phone: str = ""

    def text(self, locale: str) -> str:
        language = pick_locale(locale)
        return self.texts.get(language) or default_text(LETTER, language)


async def letter_frame(session: AsyncSession) -> LetterFrame:
    """The current municipality's letterhead and its letter texts."""
    tenant = await session.scalar(select(Tenant).where(Tenant.id == require_tenant_id()))
    settings = await site_settings(session)
    assert tenant is not None
    return LetterFrame(
        tenant.name,
        await current_texts(session, LETTER),
        settings.logo,
        settings.office_email or "",
        settings.office_phone or "",
    )


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
        result[-1].places.append(appointed_place(person, station, shift, role, building))
    return election, sorted_by_name(result)


def appointed_place(
    person: Person, station: Station, shift: Shift, role: RoleType, building: Building | None
) -> AppointedPlace:
    """A place as a letter names it, the role in the person's language."""
    return AppointedPlace(
        named(role, person.preferred_language),
        role.pay_amount,
        role.pay_unit,
        station.id,
        station.name,
        station_address(station, building),
        shift.day,
        shift.starts_at,
        shift.ends_at,
    )


def sorted_by_name[T: Appointment](found: Sequence[T]) -> list[T]:
    """Sorted here, not by the database: the reader's alphabet (Å, Ä, Ö after Z) on
    SQLite and PostgreSQL alike."""
    locale = get_locale()
    return sorted(
        found,
        key=lambda a: (
            collation_key(a.person.last_name, locale),
            collation_key(a.person.first_name, locale),
            a.person.id,
        ),
    )


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


def station_address(station: Station, building: Building | None) -> str:
    """The building's name (unless the station is named for it), street and town."""
    if building is None:
        return ""
    parts = [building.name] if building.name.strip().lower() != station.name.lower() else []
    parts.append(building.street_address)
    parts.append(f"{building.postal_code} {building.city}".strip())
    return ", ".join(part for part in parts if part.strip())


# --- the letter's words -----------------------------------------------------------------


def letter_day(day: dt.date) -> str:
    """A day as a letter writes it: "söndagen den 10 juni 2029", "søndag den 10. juni
    2029", "Sunday 10 June 2029"."""
    # Translators: a Babel date pattern (EEEE weekday, d day, MMMM month, y year; text
    # in single quotes is printed as it is). Swedish: EEEE'en den' d MMMM y.
    return format_date(day, format=_("EEEE d MMMM y"), locale=format_locale())


def in_sentence(name: str) -> str:
    """A role's name inside a sentence: "som röstmottagare", but "som EU-valsansvarig"."""
    if len(name) > 1 and name[0].isupper() and not name[1].isupper():
        return name[0].lower() + name[1:]
    return name


def place_text(place: AppointedPlace) -> str:
    where = f"{place.station}, {place.address}" if place.address else place.station
    return _(
        "%(role)s at %(place)s, %(day)s, %(start)s–%(end)s",
        role=place.role,
        place=where,
        day=letter_day(place.day),
        start=f"{place.starts_at:%H:%M}",
        end=f"{place.ends_at:%H:%M}",
    )


def letter_fields(
    frame: LetterFrame, election: Election, appointment: Appointment
) -> dict[str, Any]:
    """The merge fields of one person's letter, in the current language."""
    person, places = appointment.person, appointment.places
    fees = sorted({(p.role, p.pay_amount, p.pay_unit) for p in places})
    flat = {
        "person.first_name": person.first_name,
        "person.name": person.full_name,
        "person.born": _long(person.birth_date) if person.birth_date else "",
        "municipality.name": frame.municipality,
        "contact.email": frame.office_email,
        "contact.phone": frame.office_phone,
        "election.name": election.name,
        "election.day": _long(election.election_day),
        "places": "\n".join(f"– {place_text(place)}" for place in places),
        "fees": "\n".join(
            _("Fee as %(role)s: %(fee)s.", role=in_sentence(role), fee=fee_text(amount, unit))
            for role, amount, unit in fees
        ),
    }
    return nest(flat)


def _long(day: dt.date) -> str:
    return format_date(day, format="long", locale=format_locale())


# --- the PDF ------------------------------------------------------------------------------


def write_letters_pdf(
    frame: LetterFrame, election: Election, found: Sequence[Appointment]
) -> bytes:
    """One page per person, each in the person's preferred language."""
    pdf = StemmaPDF(orientation="portrait", page_numbers=False)
    title = _("Appointment")
    pdf.set_title(pdf_text(f"{title} – {election.name}"))
    pdf.set_author(pdf_text(frame.municipality))
    for appointment in found:
        with locale_scope(appointment.person.preferred_language):
            _letter_page(pdf, frame, election, appointment)
    return bytes(pdf.output())


def _letter_page(
    pdf: StemmaPDF, frame: LetterFrame, election: Election, appointment: Appointment
) -> None:
    person = appointment.person
    pdf.add_page()
    # After add_page: the previous page's footer is drawn as this one starts.
    pdf.running_text = f"{frame.municipality} · {election.name} · {person.full_name}"
    # Each letter is a section in its reader's language (the document's is the sender's).
    with pdf.structure("Sect", lang=get_locale()):
        _letterhead(pdf, frame)
        _recipient(pdf, person)
        pdf.text_line(_("Appointment"), 20, "B", height=10, role="H1")
        day = _long(election.election_day)
        pdf.text_line(_("%(election)s, election day %(day)s", election=election.name, day=day), 11)
        pdf.ln(8)
        locale = pick_locale(get_locale())
        fields = letter_fields(frame, election, appointment)
        text = render_in_use(LETTER, locale, frame.text(locale), fields)
        draw_text(pdf, text)
        _signature_lines(pdf)


#: The logo's box at the top left (mm): as high as the letterhead, at most this wide.
_LOGO_HEIGHT, _LOGO_WIDTH = 20.0, 70.0


def _logo_size(logo: bytes) -> tuple[float, float] | None:
    """The logo's width and height on the page, its proportions kept; None when the
    stored image cannot be read."""
    try:
        with Image.open(io.BytesIO(logo)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    if not width or not height:
        return None
    scale = min(_LOGO_HEIGHT / height, _LOGO_WIDTH / width)
    return width * scale, height * scale


def _letterhead(pdf: StemmaPDF, frame: LetterFrame) -> None:
    """The logo (or the municipality's name) on the left; the municipality, the
    committee and the office's contact on the right."""
    top = pdf.get_y()
    size = _logo_size(frame.logo) if frame.logo else None
    if frame.logo and size:
        alt = _("The logo of %(municipality)s", municipality=frame.municipality)
        with pdf.figure(alt=pdf_text(alt)):
            pdf.image(io.BytesIO(frame.logo), x=pdf.l_margin, y=top, w=size[0], h=size[1])
    width = 85.0
    right = pdf.w - pdf.r_margin - width
    lines = [(frame.municipality, 12, "B"), (_("The election committee"), 10, "")]
    lines += [(value, 9, "") for value in (frame.office_email, frame.office_phone) if value]
    pdf.set_y(top)
    for text, size_pt, style in lines:
        pdf.set_font("helvetica", style, size_pt)
        pdf.set_x(right)
        pdf.cell(width, size_pt * 0.5, pdf_text(text), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), top + _LOGO_HEIGHT) + 12)


def _recipient(pdf: StemmaPDF, person: Person) -> None:
    """The recipient, placed for a window envelope; a protected address is not printed
    (the office sends such a letter the way it has agreed with the person)."""
    address = postal_address(person)
    lines = [person.full_name, *(address.lines if address else [])]
    for line in lines:
        if line.strip():
            pdf.text_line(line.strip(), 11, height=5.5)
    pdf.ln(14)


def draw_text(pdf: StemmaPDF, text: str) -> None:
    """The rendered text: paragraphs at blank lines (line breaks kept); a block whose
    every line starts with a dash is a list."""
    blocks = [block.strip("\n") for block in text.replace("\r\n", "\n").split("\n\n")]
    for block in blocks:
        if not block.strip():
            continue
        lines = block.split("\n")
        if all(line.lstrip().startswith(("–", "-", "•")) for line in lines):
            with pdf.structure("L"):
                for line in lines:
                    with pdf.structure("LI"):
                        _paragraph(pdf, line.strip(), indent=5, role="LBody")
        else:
            _paragraph(pdf, block)
        pdf.ln(2)


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
