"""Address labels on A4 label sheets: the common layouts sold in Sweden and Denmark,
one address per label in reading order (row by row), tagged like every PDF.

A layout is measured in millimetres from the sheet's top left corner: the first
label's corner, each label's size and the pitch from one label to the next (the label
and the gap after it). The text keeps a margin inside each label, since no printer
draws to the very edge of a sheet whose labels touch it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from babel.numbers import format_decimal

from app.core.documents.pdf import pdf_text
from app.core.documents.tagged_pdf import TaggedPDF
from app.core.i18n import format_locale, get_locale

A4_WIDTH, A4_HEIGHT = 210.0, 297.0


@dataclass(frozen=True)
class SheetLayout:
    """A sheet of ``columns`` × ``rows`` labels of ``width`` × ``height`` mm."""

    key: str
    columns: int
    rows: int
    width: float
    height: float
    left: float
    top: float
    pitch_x: float
    pitch_y: float
    #: Sheets sold with this layout, to recognise it in the shop.
    examples: str

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows

    def position(self, index: int) -> tuple[float, float]:
        """The top left corner of the ``index``-th label of a sheet (row by row)."""
        row, column = divmod(index % self.per_sheet, self.columns)
        return self.left + column * self.pitch_x, self.top + row * self.pitch_y

    @property
    def label(self) -> str:
        """The layout as the office recognises it, in the reader's language."""
        width, height = (
            format_decimal(v, locale=format_locale()) for v in (self.width, self.height)
        )
        size = f"{width} × {height} mm"
        return f"{self.columns} × {self.rows} ({self.per_sheet}), {size}, {self.examples}"


LAYOUTS: dict[str, SheetLayout] = {
    layout.key: layout
    for layout in (
        SheetLayout("3x8", 3, 8, 70.0, 37.0, 0.0, 0.5, 70.0, 37.0, "Avery 3474"),
        SheetLayout("2x7", 2, 7, 99.1, 38.1, 4.65, 15.15, 101.6, 38.1, "Avery L7163"),
        SheetLayout("3x7", 3, 7, 63.5, 38.1, 7.25, 15.15, 66.0, 38.1, "Avery L7160"),
    )
}
DEFAULT_LAYOUT = "3x8"

#: Inside a label: the text's margin left and right, its size and line height (mm, pt).
_INSET_X, _FONT_SIZE, _SMALLEST_SIZE, _LINE_HEIGHT = 6.0, 10.5, 7.0, 4.8


class LabelSheetPDF(TaggedPDF):
    """A4 without margins, footer or page breaks of its own: the labels place the text."""

    def __init__(self) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = "cp1252"
        self.set_margins(0, 0, 0)
        self.set_auto_page_break(False)
        self.set_creator("Stemma")
        self.set_lang(get_locale())


def write_labels_pdf(
    addresses: Sequence[Sequence[str]],
    layout: SheetLayout,
    *,
    title: str,
    author: str,
    skip: int = 0,
) -> bytes:
    """One label per address (its lines top down), the first ``skip`` labels of the
    first sheet left empty (a sheet already partly used). Each label is one paragraph
    of the tagged document."""
    pdf = LabelSheetPDF()
    pdf.set_title(pdf_text(title))
    pdf.set_author(pdf_text(author))
    skip = max(0, min(skip, layout.per_sheet - 1))
    for number, lines in enumerate(addresses, start=skip):
        if number % layout.per_sheet == 0 or pdf.page == 0:
            pdf.add_page()
        _label(pdf, layout, number, [pdf_text(line) for line in lines if line.strip()])
    if pdf.page == 0:
        pdf.add_page()  # nothing to print is an empty sheet, still a valid document
    return bytes(pdf.output())


def _label(pdf: LabelSheetPDF, layout: SheetLayout, number: int, lines: list[str]) -> None:
    left, top = layout.position(number)
    width = layout.width - 2 * _INSET_X
    size = _FONT_SIZE
    pdf.set_font("helvetica", size=size)
    widest = max((pdf.get_string_width(line) for line in lines), default=0)
    if widest > width:
        size = max(_SMALLEST_SIZE, size * width / widest)
        pdf.set_font("helvetica", size=size)
    most = int((layout.height - 4) // _LINE_HEIGHT)
    lines = [fitted(pdf, line, width) for line in lines[:most]]
    first = top + (layout.height - len(lines) * _LINE_HEIGHT) / 2
    with pdf.leaf("P"):
        for row, line in enumerate(lines):
            # The baseline sits about three quarters down its line.
            pdf.text(left + _INSET_X, first + (row + 0.75) * _LINE_HEIGHT, line)


def fitted(pdf: TaggedPDF, line: str, width: float) -> str:
    """The line as it is, or cut with an ellipsis to fit ``width`` at the current font."""
    if pdf.get_string_width(line) <= width:
        return line
    while line and pdf.get_string_width(line + "…") > width:
        line = line[:-1]
    return line.rstrip() + "…"
