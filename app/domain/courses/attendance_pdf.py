"""The attendance list to sign at a session, as a PDF: the session above, then one row
per person with room for a handwritten signature. Who is on it is read by
``reports.attendance_sheet``."""

from __future__ import annotations

from collections.abc import Sequence

from fpdf.enums import XPos, YPos

from app.core.documents.pdf import StemmaPDF, pdf_text
from app.core.documents.tables import display
from app.core.i18n import _
from app.domain.courses.reports import AttendanceSheet

#: Row height of the attendance list: room for a handwritten signature (mm).
_SIGNATURE_ROW = 10.0
#: Empty lines printed after the people, for those who come without a seat.
EXTRA_LINES = 3


def write_attendance_pdf(sheet: AttendanceSheet, municipality: str) -> bytes:
    """The attendance list as a portrait A4 PDF: the session above, then one row per
    person with an empty box to sign in, and a few empty rows for walk-ins."""
    title = _("Attendance list")
    pdf = StemmaPDF(running_text=f"{municipality} · {sheet.course} · {display(sheet.day)}")
    pdf.set_title(pdf_text(f"{title} – {sheet.course} {sheet.day.isoformat()}"))
    pdf.add_page()
    pdf.text_line(municipality, 9, colour=90)
    pdf.text_line(title, 16, "B", height=9, role="H1")
    pdf.text_line(sheet.course, 12, "B", height=7, role="H2")
    for detail in _session_details(sheet):
        pdf.paragraph(detail, 10, line_height=5.5)
    if sheet.status == "cancelled":
        pdf.text_line(_("The session is cancelled."), 10, "B", height=6)
    pdf.ln(4)
    with pdf.structure("Table"):
        _write_signature_table(pdf, sheet)
    pdf.ln(4)
    if not sheet.lines:
        pdf.text_line(_("Nobody is booked on this session."), 10, "I", height=6)
    pdf.set_font("helvetica", size=9)
    pdf.cell(
        text=pdf_text(
            _(
                "%(count)s booked · %(seats)s printed",
                count=len(sheet.lines),
                seats=len(sheet.lines) + EXTRA_LINES,
            )
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    return bytes(pdf.output())


def _session_details(sheet: AttendanceSheet) -> list[str]:
    """The lines under the course's name: when, and where, who teaches and the
    election, when known."""
    details = [
        _(
            "%(day)s, %(start)s–%(end)s",
            day=display(sheet.day),
            start=sheet.starts_at.strftime("%H:%M"),
            end=sheet.ends_at.strftime("%H:%M"),
        )
    ]
    if sheet.place:
        details.append(_("Place: %(place)s", place=sheet.place))
    if sheet.teachers:
        details.append(_("Teachers: %(names)s", names=", ".join(sheet.teachers)))
    if sheet.election:
        details.append(_("Election: %(name)s", name=sheet.election))
    return details


def _write_signature_table(pdf: StemmaPDF, sheet: AttendanceSheet) -> None:
    """One numbered row per person, then the empty rows for walk-ins; the station
    column only when someone holds a place. The heading repeats on each page."""
    with_places = any(line.places for line in sheet.lines)
    headings = [_("No."), _("Name"), _("Born")]
    widths = [10.0, 62.0, 16.0]
    if with_places:
        headings.append(_("Station (role)"))
        widths.append(44.0)
    headings.append(_("Signature"))
    widths.append(pdf.epw - sum(widths))
    _write_heading(pdf, headings, widths)
    for number, line in enumerate(sheet.lines, start=1):
        values = [str(number), line.name, str(line.birth_year or "")]
        if with_places:
            values.append(line.places)
        _write_row(pdf, headings, widths, [*values, ""])
    for number in range(len(sheet.lines) + 1, len(sheet.lines) + 1 + EXTRA_LINES):
        _write_row(pdf, headings, widths, [str(number)] + [""] * (len(headings) - 1))


def _write_heading(pdf: StemmaPDF, headings: Sequence[str], widths: Sequence[float]) -> None:
    """The table's heading row, shaded (a ``TR`` of ``TH``)."""
    pdf.set_font("helvetica", "B", 9)
    pdf.set_fill_color(220, 226, 232)
    with pdf.structure("TR"):
        for text, width in zip(headings, widths, strict=True):
            with pdf.leaf("TH"):
                pdf.cell(width, 7, pdf_text(text), border=1, fill=True)
    pdf.ln(7)


def _write_row(
    pdf: StemmaPDF, headings: Sequence[str], widths: Sequence[float], values: Sequence[str]
) -> None:
    """A row tall enough to sign in, each cell cut to its width; on a new page when the
    row would not fit, under the heading again (read once: an artifact there)."""
    if pdf.get_y() + _SIGNATURE_ROW > pdf.page_break_trigger:
        pdf.add_page()
        with pdf.artifact():
            _write_heading(pdf, headings, widths)
    pdf.set_font("helvetica", "", 9)
    with pdf.structure("TR"):
        for text, width in zip(values, widths, strict=True):
            fitted = pdf_text(text)
            while fitted and pdf.get_string_width(fitted) > width - 2 * pdf.c_margin:
                fitted = fitted[:-1]
            with pdf.leaf("TD"):
                pdf.cell(width, _SIGNATURE_ROW, fitted, border=1)
    pdf.ln(_SIGNATURE_ROW)
