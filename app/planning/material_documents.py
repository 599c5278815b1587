"""The depot's papers: a packing list per station (what goes in, and a label with a QR
code for every crate) and a driver's list per run.

Every crate of a delivery carries the same code, which opens
``<base url>/<tenant>/portal/deliveries/<code>``: the delivery's random token, never its
id. It is placed as one small PNG per delivery (sharp at a scale of 4 pixels a module),
so the whole election's lists stay quick to write.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import segno
from fpdf.enums import XPos, YPos

from app.core.documents.pdf import StemmaPDF, pdf_text
from app.core.i18n import _

#: A crate label's QR code side (mm), and the labels across an A4 page.
QR_SIDE = 42.0
LABELS_ACROSS = 3


@dataclass(frozen=True)
class PackingLine:
    article: str
    unit: str
    packed: int
    tag: str = ""


@dataclass(frozen=True)
class PackingList:
    station: str
    district: str
    address: str
    driver: str
    crates: int
    url: str
    lines: Sequence[PackingLine]


def qr_png(url: str) -> io.BytesIO:
    """The code as a small black-and-white PNG, made once per delivery and placed on
    each of its crates' labels (the PDF keeps one copy of the image)."""
    # Mask 4 (of eight): choosing the best mask tries all eight and took most of the
    # time of a whole election's lists; any mask reads the same.
    png = io.BytesIO()
    segno.make_qr(url, error="q", mask=4).save(png, kind="png", scale=4, border=2)
    png.seek(0)
    return png


def _packing_page(pdf: StemmaPDF, item: PackingList, municipality: str, election: str) -> None:
    pdf.add_page()
    pdf.text_line(f"{municipality} · {election}", 10, colour=90, height=6)
    pdf.text_line(
        _("Packing list: %(station)s", station=item.station), 18, "B", height=10, role="H1"
    )
    details = [item.district, item.address]
    if item.driver:
        details.append(_("Driver: %(driver)s", driver=item.driver))
    pdf.text_line(" · ".join(d for d in details if d), 10, height=6)
    pdf.ln(3)
    widths = (pdf.epw * 0.6, pdf.epw * 0.15, pdf.epw * 0.25)
    pdf.set_font("helvetica", "B", 10)
    with pdf.leaf("P"):
        for width, text in zip(widths, (_("Article"), _("Quantity"), _("Packed")), strict=True):
            pdf.cell(width, 7, pdf_text(text), border="B")
        pdf.ln(7)
    pdf.set_font("helvetica", "", 10)
    for line in item.lines:
        name = f"{line.article} · {line.tag}" if line.tag else line.article
        with pdf.leaf("P"):
            pdf.cell(widths[0], 6.5, pdf_text(name), border="B")
            pdf.cell(widths[1], 6.5, pdf_text(f"{line.packed} {line.unit}"), border="B")
            pdf.cell(widths[2], 6.5, "", border="B", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    pdf.text_line(_("Crate labels: cut out and put one on each crate."), 10, "I", height=6)
    pdf.ln(2)
    label_width = pdf.epw / LABELS_ACROSS
    label_height = QR_SIDE + 16
    code = qr_png(item.url)
    for crate in range(1, item.crates + 1):
        column = (crate - 1) % LABELS_ACROSS
        if column == 0:
            if pdf.will_page_break(label_height):
                pdf.add_page()
            top = pdf.get_y()
        left = pdf.l_margin + column * label_width
        alt = _("QR code to confirm the delivery to %(station)s", station=item.station)
        with pdf.figure(pdf_text(alt)):
            pdf.image(code, x=left + (label_width - QR_SIDE) / 2, y=top, w=QR_SIDE, h=QR_SIDE)
        pdf.set_xy(left, top + QR_SIDE + 1)
        pdf.set_font("helvetica", "B", 9)
        with pdf.leaf("P"):
            pdf.cell(label_width, 5, pdf_text(item.station), align="C")
        pdf.set_xy(left, top + QR_SIDE + 6)
        pdf.set_font("helvetica", "", 9)
        text = _("Crate %(number)s of %(crates)s", number=crate, crates=item.crates)
        with pdf.leaf("P"):
            pdf.cell(label_width, 5, pdf_text(text), align="C")
        if column == LABELS_ACROSS - 1 or crate == item.crates:
            pdf.set_xy(pdf.l_margin, top + label_height)


def packing_lists_pdf(municipality: str, election: str, items: Sequence[PackingList]) -> bytes:
    """Every station's packing list with its crate labels, one station after another."""
    pdf = StemmaPDF(running_text=f"{municipality} · {election} · {_('Packing lists')}")
    pdf.set_title(pdf_text(f"{_('Packing lists')} – {election}"))
    for item in items:
        _packing_page(pdf, item, municipality, election)
    if not items:
        pdf.add_page()
        pdf.text_line(_("Nothing to pack yet."), 12)
    return bytes(pdf.output())


@dataclass(frozen=True)
class DriverStop:
    station: str
    address: str
    crates: int


def driver_list_pdf(
    municipality: str,
    election: str,
    district: str,
    driver: str,
    day: str,
    stops: Sequence[DriverStop],
) -> bytes:
    """The run's stops in order: station, address, crates, and a line for the chair's
    signature."""
    pdf = StemmaPDF(running_text=f"{municipality} · {election} · {_('Driver list')}")
    title = _("Driver list: %(district)s", district=district)
    pdf.set_title(pdf_text(f"{title} – {election}"))
    pdf.add_page()
    pdf.text_line(f"{municipality} · {election}", 10, colour=90, height=6)
    pdf.text_line(title, 18, "B", height=10, role="H1")
    pdf.text_line(" · ".join(part for part in (driver, day) if part), 11, height=7)
    pdf.ln(3)
    widths = (pdf.epw * 0.28, pdf.epw * 0.34, pdf.epw * 0.1, pdf.epw * 0.28)
    pdf.set_font("helvetica", "B", 10)
    labels = (_("Station"), _("Address"), _("Crates"), _("Received by (signature)"))
    with pdf.leaf("P"):
        for width, text in zip(widths, labels, strict=True):
            pdf.cell(width, 7, pdf_text(text), border="B")
        pdf.ln(7)
    pdf.set_font("helvetica", "", 10)
    for stop in stops:
        with pdf.leaf("P"):
            pdf.cell(widths[0], 11, pdf_text(stop.station), border="B")
            pdf.cell(widths[1], 11, pdf_text(stop.address), border="B")
            pdf.cell(widths[2], 11, str(stop.crates), border="B")
            pdf.cell(widths[3], 11, "", border="B", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
