"""Staffing reports of one election: unfilled places, staffing per district, people per
role and a staff list per station, each as plain rows; and a report table (headings and
values, chosen by the face) written to Excel or PDF.

PDFs use the PDF standard fonts (Helvetica) in the Windows-1252 encoding: every reader
has them, nothing is embedded, and they draw å, ä, ö, æ, ø, é, ü and the dashes and
quotes typed in names. What they cannot draw (Ł, Arabic script) is replaced by its
nearest Latin letter or a question mark, so an unusual name never breaks a report.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.documents.spreadsheets import Sheet, write_xlsx_sheets
from app.core.errors import NotFound
from app.core.i18n import _, get_locale
from app.domain.elections.elections import get_election
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    District,
    Election,
    Person,
    RoleType,
    Shift,
    Station,
)
from app.domain.registers.identity import format_phone
from app.domain.registers.roles import list_role_types
from app.domain.staffing.board import BoardFilters, DistrictSummary, district_summaries
from app.domain.staffing.board import staffing_board as load_board

# --- the reports as rows -----------------------------------------------------------------


@dataclass(frozen=True)
class UnfilledPlace:
    """A role on a shift with fewer people holding a place than its target."""

    station_id: int
    station: str
    district: str  # "code name"; empty for an advance voting station
    day: dt.date
    shift: str
    starts_at: dt.time
    ends_at: dt.time
    role: str
    minimum: int
    target: int
    filled: int

    @property
    def missing(self) -> int:
        return self.target - self.filled

    @property
    def below_minimum(self) -> bool:
        return self.filled < self.minimum


async def unfilled_places(session: AsyncSession, election_id: int) -> list[UnfilledPlace]:
    """Every place below its target, district by district, the board's way of counting
    (proposed, offered and accepted people hold a place)."""
    board = await load_board(session, election_id, BoardFilters())
    result = []
    for row in board.stations:
        district = f"{row.district.code} {row.district.name}" if row.district else ""
        for shift_row in row.shifts:
            shift = shift_row.shift
            for cell in shift_row.cells:
                if cell.filled >= cell.target:
                    continue
                result.append(
                    UnfilledPlace(
                        row.station.id,
                        row.station.name,
                        district,
                        shift.day,
                        shift.name,
                        shift.starts_at,
                        shift.ends_at,
                        cell.role_name,
                        cell.minimum,
                        cell.target,
                        cell.filled,
                    )
                )
    # Polling stations district by district, then advance voting; the board's order within.
    codes = {d.id: d.code for d in board.districts}
    order = {
        row.station.id: (row.district is None, codes.get(row.station.district_id or 0, ""))
        for row in board.stations
    }
    result.sort(key=lambda place: order[place.station_id])
    return result


async def staffing_per_district(session: AsyncSession, election_id: int) -> list[DistrictSummary]:
    """Stations, places, filled places and places missing below the minimum per district;
    the advance voting stations together as the last line (without a district id)."""
    election = await get_election(session, election_id)
    return await district_summaries(session, election.id)


@dataclass(frozen=True)
class RoleCount:
    """People and places of one role, and what they would be paid if all of them work."""

    role_type_id: int
    role: str
    people: int
    accepted: int
    offered: int
    proposed: int
    pay_amount: Decimal
    pay_unit: str
    #: Days (for pay per day: one per person and day) or hours worked.
    units: Decimal
    pay_estimate: Decimal


async def people_per_role(session: AsyncSession, election_id: int) -> list[RoleCount]:
    """For each role: the people holding a place, the places by state, and an estimate of
    the fees. A fee per day is paid once per person and day, however many shifts they
    work that day; a fee per hour for each hour of every shift."""
    election = await get_election(session, election_id)
    rows = await session.execute(
        select(
            Assignment.role_type_id,
            Assignment.person_id,
            Assignment.state,
            Shift.day,
            Shift.starts_at,
            Shift.ends_at,
        )
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
    )
    people: dict[int, set[int]] = {}
    person_days: dict[int, set[tuple[int, dt.date]]] = {}
    minutes: dict[int, int] = {}
    states: dict[tuple[int, str], int] = {}
    for role_id, person_id, state, day, starts, ends in rows:
        people.setdefault(role_id, set()).add(person_id)
        person_days.setdefault(role_id, set()).add((person_id, day))
        minutes[role_id] = minutes.get(role_id, 0) + _minutes(starts, ends)
        states[(role_id, state)] = states.get((role_id, state), 0) + 1
    result = []
    for role in await list_role_types(session):
        if role.pay_unit == "hour":
            units = (Decimal(minutes.get(role.id, 0)) / 60).quantize(Decimal("0.01"))
        else:
            units = Decimal(len(person_days.get(role.id, ())))
        result.append(
            RoleCount(
                role.id,
                role.name,
                len(people.get(role.id, ())),
                states.get((role.id, "accepted"), 0),
                states.get((role.id, "offered"), 0),
                states.get((role.id, "proposed"), 0),
                role.pay_amount,
                role.pay_unit,
                units,
                (role.pay_amount * units).quantize(Decimal("0.01")),
            )
        )
    return result


def _minutes(starts: dt.time, ends: dt.time) -> int:
    return (ends.hour * 60 + ends.minute) - (starts.hour * 60 + starts.minute)


@dataclass(frozen=True)
class StaffListRow:
    station_id: int
    station: str
    district: str
    day: dt.date
    shift: str
    starts_at: dt.time
    ends_at: dt.time
    role: str
    person_id: int
    name: str
    mobile: str
    email: str
    state: str


async def staff_list(
    session: AsyncSession, election_id: int, station_id: int | None = None
) -> list[StaffListRow]:
    """Who holds a place at each station (or one station), shift by shift and role by
    role, with the phone number and email to reach them."""
    election = await get_election(session, election_id)
    statement = (
        select(Assignment.state, Station, District, Shift, RoleType, Person)
        .join(Station, Station.id == Assignment.station_id)
        .outerjoin(District, District.id == Station.district_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .join(Person, Person.id == Assignment.person_id)
        .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
        .order_by(
            Station.kind.desc(),
            District.code,
            Station.name,
            Shift.day,
            Shift.starts_at,
            RoleType.sort_order,
            Person.last_name,
            Person.first_name,
            Person.id,
        )
    )
    if station_id is not None:
        station = await session.scalar(
            select(Station.id).where(Station.id == station_id, Station.election_id == election.id)
        )
        if station is None:
            raise NotFound(_("Not found."))
        statement = statement.where(Assignment.station_id == station_id)
    return [
        StaffListRow(
            station.id,
            station.name,
            f"{district.code} {district.name}" if district else "",
            shift.day,
            shift.name,
            shift.starts_at,
            shift.ends_at,
            role.name,
            person.id,
            person.full_name,
            format_phone(person.mobile),
            person.email or "",
            state,
        )
        for state, station, district, shift, role, person in await session.execute(statement)
    ]


@dataclass(frozen=True)
class StationStaffing:
    """A station where someone holds a place: how many places, how many people accepted."""

    station_id: int
    station: str
    district: str
    held: int
    accepted_people: int


async def stations_with_staff(session: AsyncSession, election_id: int) -> list[StationStaffing]:
    """The stations of an election where anyone holds a place, for per-station downloads."""
    election = await get_election(session, election_id)
    accepted = func.count(distinct(Assignment.person_id)).filter(Assignment.state == "accepted")
    rows = await session.execute(
        select(
            Station.id,
            Station.name,
            District.code,
            District.name,
            func.count(Assignment.id),
            accepted,
        )
        .join(Assignment, Assignment.station_id == Station.id)
        .outerjoin(District, District.id == Station.district_id)
        .where(Station.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
        .group_by(Station.id, Station.name, Station.kind, District.code, District.name)
        .order_by(Station.kind.desc(), District.code, Station.name)
    )
    return [
        StationStaffing(sid, name, f"{code} {dname}" if code else "", held, people)
        for sid, name, code, dname, held, people in rows
    ]


# --- the reports as tables ---------------------------------------------------------------

#: What a table cell may hold: Excel keeps numbers, dates and times as such. A moment is
#: an aware datetime in the municipality's zone: Excel gets its wall-clock time, a CSV
#: file the time with its UTC offset, a PDF the short date and HH:MM.
Value = str | int | Decimal | dt.date | dt.datetime | None


@dataclass(frozen=True)
class Column:
    label: str
    #: Relative width in the PDF.
    width: float = 1.0
    numeric: bool = False


@dataclass
class ReportTable:
    """A report ready to show or write: translated title and headings, rows of values.

    With ``group_column`` the PDF prints that column as a heading above each group of
    rows (one station after another) instead of repeating it on every row.
    """

    kind: str
    title: str
    columns: list[Column]
    rows: list[list[Value]]
    totals: list[Value] | None = None
    group_column: int | None = None
    notes: list[str] = field(default_factory=list)


# --- writing them ------------------------------------------------------------------------


def write_report_xlsx(table: ReportTable, *more: ReportTable) -> bytes:
    """The table as an Excel sheet (and each of ``more`` as a sheet after it), every
    text cell kept from running as a formula."""
    sheets: list[Sheet] = []
    for each in (table, *more):
        rows = list(each.rows)
        if each.totals is not None:
            rows.append(each.totals)
        sheets.append((each.title, [c.label for c in each.columns], rows))
    return write_xlsx_sheets(sheets)


def write_report_pdf(
    table: ReportTable, municipality: str, election: Election, *more: ReportTable
) -> bytes:
    """The table as a PDF for printing: landscape A4, headings repeated on every page;
    each of ``more`` follows as a section under its own title."""
    pdf = StemmaPDF(
        orientation="landscape",
        running_text=f"{municipality} · {election.name} · {table.title}",
    )
    pdf.set_title(pdf_text(f"{table.title} – {election.name}"))
    pdf.add_page()
    pdf.text_line(municipality, 9, colour=90)
    pdf.text_line(table.title, 16, "B", height=9)
    subtitle = _(
        "%(election)s · election day %(day)s · printed %(today)s",
        election=election.name,
        day=display(election.election_day),
        today=display(dt.date.today()),
    )
    pdf.text_line(subtitle, 10, height=6)
    _pdf_section(pdf, table)
    for section in more:
        pdf.ln(6)
        if pdf.will_page_break(40):
            pdf.add_page()
        pdf.text_line(section.title, 13, "B", height=8)
        _pdf_section(pdf, section)
    return bytes(pdf.output())


def _pdf_section(pdf: StemmaPDF, table: ReportTable) -> None:
    """A table's notes and rows (grouped under headings when it has a group column)."""
    for note in table.notes:
        pdf.paragraph(note, 10)
    pdf.ln(3)
    if not table.rows:
        pdf.text_line(_("Nothing to show."), 10, "I")
        return
    if table.group_column is None:
        _pdf_table(pdf, table.columns, table.rows, table.totals)
        return
    key = table.group_column
    columns = [c for index, c in enumerate(table.columns) if index != key]
    for group, grouped in groupby(table.rows, key=lambda row: row[key]):
        if pdf.will_page_break(25):
            pdf.add_page()
        pdf.text_line(display(group), 12, "B", height=8)
        rows = [[v for index, v in enumerate(row) if index != key] for row in grouped]
        _pdf_table(pdf, columns, rows, None)
        pdf.ln(5)


#: Row text, padding and colours of a report table (mm, and grey levels or RGB).
_CELL_SIZE, _LINE_HEIGHT, _PAD_X, _PAD_Y = 8.5, 3.8, 1.2, 0.9
_HEADING_FILL, _STRIPE_FILL, _RULE = (220, 226, 232), (244, 244, 244), 200


def _pdf_table(
    pdf: FPDF,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Value]],
    totals: Sequence[Value] | None,
) -> None:
    """Draw a table row by row, headings again on every new page.

    Drawn with plain text calls rather than fpdf2's table(), which lays out each cell
    as a paragraph: a staff list of 11,000 places takes a second instead of half a
    minute.
    """
    scale = pdf.epw / sum(c.width for c in columns)
    widths = [c.width * scale for c in columns]

    def draw(values: Sequence[str], style: str = "", fill: Any = None) -> None:
        pdf.set_font("helvetica", style, _CELL_SIZE)
        cells = [
            _wrap(pdf, text, width - 2 * _PAD_X) for text, width in zip(values, widths, strict=True)
        ]
        height = max(len(lines) for lines in cells) * _LINE_HEIGHT + 2 * _PAD_Y
        if pdf.get_y() + height > pdf.page_break_trigger and values is not headings:
            pdf.add_page()
            draw(headings, "B", _HEADING_FILL)
            pdf.set_font("helvetica", style, _CELL_SIZE)
        top, x = pdf.get_y(), pdf.l_margin
        if fill is not None:
            pdf.set_fill_color(*fill)
            pdf.rect(x, top, pdf.epw, height, style="F")
        for lines, width, column in zip(cells, widths, columns, strict=True):
            for number, line in enumerate(lines):
                left = x + _PAD_X
                if column.numeric:
                    left = x + width - _PAD_X - pdf.get_string_width(line)
                pdf.text(left, top + _PAD_Y + (number + 0.78) * _LINE_HEIGHT, line)
            x += width
        pdf.set_draw_color(_RULE)
        pdf.set_line_width(0.2)
        pdf.line(pdf.l_margin, top + height, pdf.l_margin + pdf.epw, top + height)
        pdf.set_y(top + height)

    headings = [pdf_text(c.label) for c in columns]
    draw(headings, "B", _HEADING_FILL)
    for index, values in enumerate(rows):
        draw([pdf_text(display(v)) for v in values], fill=_STRIPE_FILL if index % 2 else None)
    if totals is not None:
        draw([pdf_text(display(v)) for v in totals], "B")


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """The lines ``text`` takes in a column ``width`` wide: broken between words, and
    inside a word (an email address) only when the word alone is too wide."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if pdf.get_string_width(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while len(word) > 1 and pdf.get_string_width(word) > width:
                cut = len(word) - 1
                while cut > 1 and pdf.get_string_width(word[:cut]) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def display(value: Any) -> str:
    """A value as a reader of the current language expects it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{format_date(value, format='short', locale=get_locale())} {value:%H:%M}"
    if isinstance(value, dt.date):
        return format_date(value, format="short", locale=get_locale())
    if isinstance(value, Decimal):
        pattern = "#,##0" if value == value.to_integral_value() else "#,##0.00"
        return format_decimal(value, format=pattern, locale=get_locale())
    return str(value)


class StemmaPDF(FPDF):
    """A4 with the standard Helvetica and a footer: what the document is, and the page."""

    def __init__(
        self, orientation: str = "portrait", running_text: str = "", page_numbers: bool = True
    ) -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.page_numbers = page_numbers
        # The standard fonts are written with WinAnsiEncoding, which is Windows-1252.
        self.core_fonts_encoding = "cp1252"
        self.running_text = running_text
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=16)
        self.set_creator("Stemma")
        self.set_lang(get_locale())

    def text_line(
        self, text: str, size: float, style: str = "", height: float = 0, colour: int = 0
    ) -> None:
        """One line of text in Helvetica, then on to the next line."""
        self.set_font("helvetica", style, size)
        self.set_text_color(colour)
        self.cell(h=height or size * 0.45, text=pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0)

    def paragraph(
        self, text: str, size: float = 11, indent: float = 0, line_height: float = 6
    ) -> None:
        """Text wrapped to the page width (less ``indent``), flush left."""
        self.set_font("helvetica", size=size)
        width = self.epw - indent
        for line in _wrap(self, pdf_text(text), width - 2 * self.c_margin):
            self.set_x(self.l_margin + indent)
            self.cell(width, line_height, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("helvetica", size=7.5)
        self.set_text_color(110)
        half = self.epw / 2
        self.cell(half, 5, pdf_text(self.running_text), new_x=XPos.RIGHT, new_y=YPos.TOP)
        if not self.page_numbers:
            self.set_text_color(0)
            return
        page = _("Page %(page)s of %(pages)s", page=self.page_no(), pages="{nb}")
        self.cell(half, 5, pdf_text(page), align="R")
        self.set_text_color(0)


#: Letters the standard fonts lack, and the Latin letter a reader would write instead.
_NEAREST = {
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Ŧ": "T",
    "ŧ": "t", "ĸ": "k", "Ŋ": "N", "ŋ": "n", "ƒ": "f", "\u2010": "-", "\u2011": "-",
    "\u2212": "-", "\u2032": "'", "\u2033": '"',
}  # fmt: skip


def _drawable(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def pdf_text(value: object) -> str:
    """Text the standard PDF fonts can draw: Windows-1252 characters as they are, others
    by their nearest Latin letter (Ł → L, ğ → g) or else a question mark; control and
    direction marks are dropped."""
    text = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\t", " ")
    out = []
    for char in text:
        if char == "\n":
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        elif _drawable(char):
            out.append(char)
        elif char in _NEAREST:
            out.append(_NEAREST[char])
        else:
            plain = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            out.append(plain if plain and all(_drawable(c) for c in plain) else "?")
    return "".join(out)
