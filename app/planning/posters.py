"""A check-in poster per station: a QR code that opens the station's check-in on the
clerk's phone, to print and put up at the entrance.

The code holds ``<base url>/<tenant>/portal/election-day?station=<id>``: the clerk signs
in (once) and lands on the check-in for that station. The page draws it as an inline
``<svg>`` (allowed by the Content-Security-Policy); the PDF draws the same modules as
vector squares, so both print sharp at any size.
"""

from __future__ import annotations

import asyncio

import segno
from fpdf.enums import XPos, YPos
from markupsafe import Markup
from quart import Response, g, url_for

from app.core.auth import requires
from app.core.documents.pdf import StemmaPDF, pdf_text
from app.core.i18n import _
from app.core.routes import Routes
from app.core.web import app_settings, db, render
from app.domain.elections import elections
from app.domain.elections.stations import get_station

routes = Routes()


def check_in_url(station_id: int) -> str:
    """The absolute address the station's poster opens."""
    path = url_for("portal.election_day", station=station_id)
    return app_settings().base_url.rstrip("/") + path


def qr_code(url: str) -> segno.QRCode:
    # Error correction "Q" (25 %): a poster gets scuffed, taped over and photographed
    # at an angle; the address is short enough that the code stays coarse.
    return segno.make_qr(url, error="q")


def poster_svg(url: str, title: str) -> Markup:
    """The QR code as an inline ``<svg>`` element that scales with its box."""
    svg = qr_code(url).svg_inline(
        scale=10, border=4, omitsize=True, title=title, svgclass="poster-qr", lineclass=None
    )
    return Markup(svg)  # noqa: S704 - written by segno, which escapes the title


def poster_pdf(url: str, municipality: str, election: str, station: str) -> bytes:
    """The poster as one portrait A4 page: the station, the code, what to do."""
    pdf = StemmaPDF(running_text=municipality, page_numbers=False)
    pdf.set_title(pdf_text(f"{_('Check-in poster')} – {station}"))
    pdf.add_page()
    pdf.text_line(municipality, 12, colour=90, height=7)
    pdf.text_line(election, 12, colour=90, height=7)
    pdf.ln(4)
    pdf.set_font("helvetica", "B", 30)
    with pdf.leaf("H1"):
        pdf.multi_cell(0, 13, pdf_text(station), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.text_line(_("Poll clerks: check in here"), 20, "B", height=10, role="H2")
    pdf.ln(4)
    matrix = [list(row) for row in qr_code(url).matrix_iter(scale=1, border=4)]
    side = 130.0
    module = side / len(matrix)
    left = (pdf.w - side) / 2
    top = pdf.get_y()
    pdf.set_fill_color(0)
    alt = _("QR code that opens the check-in for %(station)s", station=station)
    with pdf.figure(pdf_text(alt)):
        for y, row in enumerate(matrix):
            for x, dark in enumerate(row):
                if dark:
                    pdf.rect(left + x * module, top + y * module, module, module, style="F")
    pdf.set_y(top + side + 4)
    pdf.paragraph(
        _("Scan the code with your phone's camera, sign in and tap “I have arrived”."),
        14,
        line_height=7,
    )
    pdf.ln(2)
    pdf.paragraph(_("Or open: %(url)s", url=url), 10, line_height=5)
    return bytes(pdf.output())


@routes.get("/elections/<int:election_id>/stations/<int:station_id>/poster")
@requires("registers.view")
async def station_poster(election_id: int, station_id: int) -> str:
    """The poster to print from the browser."""
    election = await elections.get_election(db(), election_id)
    station = await get_station(db(), station_id, election.id)
    url = check_in_url(station.id)
    return await render(
        "planning/elections/poster.html",
        election=election,
        station=station,
        url=url,
        qr=poster_svg(url, _("Check in at %(station)s", station=station.name)),
    )


@routes.get("/elections/<int:election_id>/stations/<int:station_id>/poster.pdf")
@requires("registers.view")
async def station_poster_pdf(election_id: int, station_id: int) -> Response:
    """The same poster as a PDF, for a print shop or a page of several stations."""
    election = await elections.get_election(db(), election_id)
    station = await get_station(db(), station_id, election.id)
    body = await asyncio.to_thread(
        poster_pdf, check_in_url(station.id), g.tenant.name, election.name, station.name
    )
    response = Response(body, content_type="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="poster-{station.id}.pdf"'
    return response
