"""Staffing reports of one election: unfilled places, staffing per district, people per
role and a staff list per station; each as plain rows, as a table with translated
headings, and written to Excel or PDF.

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
from fpdf.enums import TableBordersLayout, TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace
from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _, get_locale, lazy_gettext
from app.domain.elections import get_election
from app.domain.identity import format_phone
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
from app.domain.roles import list_role_types
from app.domain.spreadsheets import write_xlsx
from app.domain.staffing.board import BoardFilters, DistrictSummary, district_summaries
from app.domain.staffing.board import staffing_board as load_board

REPORT_KINDS = ("unfilled", "districts", "roles", "staff")
REPORT_TITLES = {
    "unfilled": lazy_gettext("Unfilled places"),
    "districts": lazy_gettext("Staffing per district"),
    "roles": lazy_gettext("People per role"),
    "staff": lazy_gettext("Staff list per station"),
}
ASSIGNMENT_STATE = {
    "proposed": lazy_gettext("Proposed"),
    "offered": lazy_gettext("Offered"),
    "accepted": lazy_gettext("Accepted"),
    "declined": lazy_gettext("Declined"),
    "withdrawn": lazy_gettext("Withdrawn"),
}


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

#: What a table cell may hold: Excel keeps numbers and dates as such.
Value = str | int | Decimal | dt.date | None


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


async def report_table(
    session: AsyncSession, election_id: int, kind: str, station_id: int | None = None
) -> ReportTable:
    """One report of an election as a table; ``station_id`` narrows the staff list."""
    if kind == "unfilled":
        return unfilled_table(await unfilled_places(session, election_id))
    if kind == "districts":
        return districts_table(await staffing_per_district(session, election_id))
    if kind == "roles":
        return roles_table(await people_per_role(session, election_id))
    if kind == "staff":
        return staff_table(await staff_list(session, election_id, station_id))
    raise NotFound(_("Not found."))


def _hours(starts: dt.time, ends: dt.time) -> str:
    return f"{starts:%H:%M}–{ends:%H:%M}"


def _district_or_advance(district: str) -> str:
    return district or _("Advance voting")


def unfilled_table(places: Sequence[UnfilledPlace]) -> ReportTable:
    columns = [
        Column(_("Station"), 2.2),
        Column(_("District"), 1.8),
        Column(_("Day"), 1.1),
        Column(_("Shift"), 1.8),
        Column(_("Role"), 1.5),
        Column(_("Minimum"), 0.8, True),
        Column(_("Target"), 0.8, True),
        Column(_("Filled"), 0.8, True),
        Column(_("Missing"), 0.8, True),
    ]
    rows: list[list[Value]] = [
        [
            p.station,
            _district_or_advance(p.district),
            p.day,
            f"{p.shift} {_hours(p.starts_at, p.ends_at)}",
            p.role,
            p.minimum,
            p.target,
            p.filled,
            p.missing,
        ]
        for p in places
    ]
    below = sum(max(0, p.minimum - p.filled) for p in places)
    totals: list[Value] = [_("Total"), "", None, "", "", None, None, None]
    totals.append(sum(p.missing for p in places))
    return ReportTable(
        "unfilled",
        str(REPORT_TITLES["unfilled"]),
        columns,
        rows,
        totals if places else None,
        notes=[
            _(
                "%(missing)s places missing, %(below)s of them below the minimum.",
                missing=sum(p.missing for p in places),
                below=below,
            )
        ],
    )


def districts_table(summaries: Sequence[DistrictSummary]) -> ReportTable:
    columns = [
        Column(_("District code"), 1.0),
        Column(_("District"), 2.6),
        Column(_("Stations"), 1.0, True),
        Column(_("Places"), 1.0, True),
        Column(_("Filled"), 1.0, True),
        Column(_("Missing below minimum"), 1.6, True),
    ]
    rows: list[list[Value]] = [
        [
            s.code,
            s.name if s.district_id is not None else _("Advance voting stations"),
            s.stations,
            s.places,
            s.filled,
            s.missing_minimum,
        ]
        for s in summaries
    ]
    totals: list[Value] = [
        _("Total"),
        "",
        sum(s.stations for s in summaries),
        sum(s.places for s in summaries),
        sum(s.filled for s in summaries),
        sum(s.missing_minimum for s in summaries),
    ]
    return ReportTable(
        "districts", str(REPORT_TITLES["districts"]), columns, rows, totals if rows else None
    )


def roles_table(counts: Sequence[RoleCount]) -> ReportTable:
    columns = [
        Column(_("Role"), 2.0),
        Column(_("People"), 1.0, True),
        Column(_("Accepted"), 1.0, True),
        Column(_("Offered"), 1.0, True),
        Column(_("Proposed"), 1.0, True),
        Column(_("Pay"), 1.1, True),
        Column(_("Per"), 0.9),
        Column(_("Days or hours"), 1.2, True),
        Column(_("Pay estimate"), 1.4, True),
    ]
    units = {"day": _("day"), "hour": _("hour")}
    rows: list[list[Value]] = [
        [
            c.role,
            c.people,
            c.accepted,
            c.offered,
            c.proposed,
            c.pay_amount,
            units.get(c.pay_unit, c.pay_unit),
            c.units,
            c.pay_estimate,
        ]
        for c in counts
    ]
    totals: list[Value] = [
        _("Total"),
        None,
        sum(c.accepted for c in counts),
        sum(c.offered for c in counts),
        sum(c.proposed for c in counts),
        None,
        "",
        None,
        sum((c.pay_estimate for c in counts), Decimal("0")),
    ]
    return ReportTable(
        "roles",
        str(REPORT_TITLES["roles"]),
        columns,
        rows,
        totals if rows else None,
        notes=[
            _(
                "The estimate counts every place held (proposed, offered and accepted): "
                "a fee per day once per person and day, a fee per hour for each hour."
            )
        ],
    )


def staff_table(rows_: Sequence[StaffListRow]) -> ReportTable:
    columns = [
        Column(_("Station"), 2.0),
        Column(_("Day"), 1.0),
        Column(_("Shift"), 1.7),
        Column(_("Role"), 1.4),
        Column(_("Name"), 2.0),
        Column(_("Mobile"), 1.5),
        Column(_("Email"), 2.4),
        Column(_("State"), 1.0),
    ]
    rows: list[list[Value]] = [
        [
            f"{r.station} ({_district_or_advance(r.district)})",
            r.day,
            f"{r.shift} {_hours(r.starts_at, r.ends_at)}",
            r.role,
            r.name,
            r.mobile,
            r.email,
            str(ASSIGNMENT_STATE.get(r.state, r.state)),
        ]
        for r in rows_
    ]
    return ReportTable("staff", str(REPORT_TITLES["staff"]), columns, rows, group_column=0)


# --- writing them ------------------------------------------------------------------------


def write_report_xlsx(table: ReportTable) -> bytes:
    """The table as an Excel sheet, every text cell kept from running as a formula."""
    rows = list(table.rows)
    if table.totals is not None:
        rows.append(table.totals)
    return write_xlsx(table.title, [c.label for c in table.columns], rows)


def write_report_pdf(table: ReportTable, municipality: str, election: Election) -> bytes:
    """The table as a PDF for printing: landscape A4, headings repeated on every page."""
    pdf = StemmaPDF(
        orientation="landscape",
        running_text=f"{municipality} · {election.name} · {table.title}",
    )
    pdf.set_title(pdf_text(f"{table.title} – {election.name}"))
    pdf.add_page()
    pdf.set_font("helvetica", size=9)
    pdf.set_text_color(90)
    pdf.cell(text=pdf_text(municipality), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(text=pdf_text(table.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=10)
    subtitle = _(
        "%(election)s · election day %(day)s · printed %(today)s",
        election=election.name,
        day=display(election.election_day),
        today=display(dt.date.today()),
    )
    pdf.cell(text=pdf_text(subtitle), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for note in table.notes:
        pdf.multi_cell(0, 5, pdf_text(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    if not table.rows:
        pdf.set_font("helvetica", "I", 10)
        pdf.cell(text=pdf_text(_("Nothing to show.")), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return bytes(pdf.output())
    if table.group_column is None:
        _pdf_table(pdf, table.columns, table.rows, table.totals)
        return bytes(pdf.output())
    key = table.group_column
    columns = [c for index, c in enumerate(table.columns) if index != key]
    for group, grouped in groupby(table.rows, key=lambda row: row[key]):
        if pdf.will_page_break(25):
            pdf.add_page()
        pdf.set_font("helvetica", "B", 12)
        pdf.cell(text=pdf_text(display(group)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
        rows = [[v for index, v in enumerate(row) if index != key] for row in grouped]
        _pdf_table(pdf, columns, rows, None)
        pdf.ln(5)
    return bytes(pdf.output())


def _pdf_table(
    pdf: FPDF,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Value]],
    totals: Sequence[Value] | None,
) -> None:
    pdf.set_font("helvetica", size=8.5)
    align = tuple("RIGHT" if c.numeric else "LEFT" for c in columns)
    with pdf.table(
        col_widths=tuple(c.width for c in columns),
        text_align=align,
        width=pdf.epw,
        line_height=pdf.font_size * 1.6,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        cell_fill_color=(242, 242, 242),
        cell_fill_mode=TableCellFillMode.ROWS,
        headings_style=FontFace(emphasis="BOLD", fill_color=(220, 226, 232)),
        repeat_headings=1,
        padding=(0.8, 1.2),
    ) as grid:
        heading = grid.row()
        for column in columns:
            heading.cell(pdf_text(column.label))
        for values in rows:
            row = grid.row()
            for value in values:
                row.cell(pdf_text(display(value)))
        if totals is not None:
            row = grid.row()
            for value in totals:
                row.cell(pdf_text(display(value)), style=FontFace(emphasis="BOLD"))


def display(value: Any) -> str:
    """A value as a reader of the current language expects it."""
    if value is None:
        return ""
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
