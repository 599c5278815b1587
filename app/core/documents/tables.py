"""Report tables: translated headings and rows of values, chosen by the face, written
as an Excel workbook or as a PDF for printing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal

from app.core.documents.pdf import StemmaPDF, pdf_text, wrap_lines
from app.core.documents.spreadsheets import Sheet, write_xlsx_sheets
from app.core.i18n import _, format_locale
from app.core.models.base import utcnow

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


class ReportElection(Protocol):
    """The election a printed report is about, as its first lines name it."""

    @property
    def name(self) -> str: ...

    @property
    def election_day(self) -> dt.date: ...


def display(value: Any) -> str:
    """A value as a reader of the current language expects it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return f"{format_date(value, format='short', locale=format_locale())} {value:%H:%M}"
    if isinstance(value, dt.date):
        return format_date(value, format="short", locale=format_locale())
    if isinstance(value, Decimal):
        pattern = "#,##0" if value == value.to_integral_value() else "#,##0.00"
        return format_decimal(value, format=pattern, locale=format_locale())
    return str(value)


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
    table: ReportTable,
    municipality: str,
    election: ReportElection,
    *more: ReportTable,
    timezone: str,
    now: dt.datetime | None = None,
) -> bytes:
    """The table as a PDF for printing: landscape A4, headings repeated on every page;
    each of ``more`` follows as a section under its own title. The date it says it was
    printed is the municipality's (``timezone``), not the server's."""
    pdf = StemmaPDF(
        orientation="landscape",
        running_text=f"{municipality} · {election.name} · {table.title}",
    )
    pdf.set_title(pdf_text(f"{table.title} – {election.name}"))
    pdf.add_page()
    pdf.text_line(municipality, 9, colour=90)
    pdf.text_line(table.title, 16, "B", height=9, role="H1")
    subtitle = _(
        "%(election)s · election day %(day)s · printed %(today)s",
        election=election.name,
        day=display(election.election_day),
        today=display((now or utcnow()).astimezone(ZoneInfo(timezone)).date()),
    )
    pdf.text_line(subtitle, 10, height=6)
    _pdf_section(pdf, table, "H2")
    for section in more:
        pdf.ln(6)
        if pdf.will_page_break(40):
            pdf.add_page()
        pdf.text_line(section.title, 13, "B", height=8, role="H2")
        _pdf_section(pdf, section, "H3")
    return bytes(pdf.output())


def _pdf_section(pdf: StemmaPDF, table: ReportTable, group_heading: str) -> None:
    """A table's notes and rows (grouped under headings of the ``group_heading`` level
    when it has a group column)."""
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
        pdf.text_line(display(group), 12, "B", height=8, role=group_heading)
        rows = [[v for index, v in enumerate(row) if index != key] for row in grouped]
        _pdf_table(pdf, columns, rows, None)
        pdf.ln(5)


#: Row text, padding and colours of a report table (mm, and grey levels or RGB).
_CELL_SIZE, _LINE_HEIGHT, _PAD_X, _PAD_Y = 8.5, 3.8, 1.2, 0.9
_HEADING_FILL, _STRIPE_FILL, _RULE = (220, 226, 232), (244, 244, 244), 200


def _pdf_table(
    pdf: StemmaPDF,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Value]],
    totals: Sequence[Value] | None,
) -> None:
    """Draw a table row by row, headings again on every new page.

    Drawn with plain text calls rather than fpdf2's table(), which lays out each cell
    as a paragraph: a staff list of 11,000 places takes a second instead of half a
    minute. Tagged as a table: a row of headings (``TH``), rows of cells; the headings
    repeated on a later page are an artifact, so they are read once.
    """
    scale = pdf.epw / sum(c.width for c in columns)
    widths = [c.width * scale for c in columns]

    def draw(values: Sequence[str], style: str = "", fill: Any = None, cell: str = "TD") -> None:
        pdf.set_font("helvetica", style, _CELL_SIZE)
        cells = [
            wrap_lines(pdf, text, width - 2 * _PAD_X)
            for text, width in zip(values, widths, strict=True)
        ]
        height = max(len(lines) for lines in cells) * _LINE_HEIGHT + 2 * _PAD_Y
        if pdf.get_y() + height > pdf.page_break_trigger and values is not headings:
            pdf.add_page()
            with pdf.artifact():
                draw(headings, "B", _HEADING_FILL, "TH")
            pdf.set_font("helvetica", style, _CELL_SIZE)
        with pdf.structure("TR"):
            _row(values, cells, height, fill, cell)

    def _row(
        values: Sequence[str], cells: list[list[str]], height: float, fill: Any, cell: str
    ) -> None:
        top, x = pdf.get_y(), pdf.l_margin
        if fill is not None:
            pdf.set_fill_color(*fill)
            pdf.rect(x, top, pdf.epw, height, style="F")
        for lines, width, column in zip(cells, widths, columns, strict=True):
            with pdf.leaf(cell):
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
    with pdf.structure("Table"):
        draw(headings, "B", _HEADING_FILL, "TH")
        for index, values in enumerate(rows):
            draw([pdf_text(display(v)) for v in values], fill=_STRIPE_FILL if index % 2 else None)
        if totals is not None:
            draw([pdf_text(display(v)) for v in totals], "B")
