"""Materials reports of an election: needed, packed, delivered and returned per station
and per article, and what is still out, on a page and as Excel and PDF.

Read with ``planning.view``, as the depot's other pages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from quart import Response, abort, g

from app.core.auth import requires
from app.core.documents.tables import (
    Column,
    ReportTable,
    Value,
    write_report_pdf,
    write_report_xlsx,
)
from app.core.downloads import attachment, slug
from app.core.i18n import _, lazy_gettext
from app.core.routes import Routes
from app.core.web import db, render
from app.domain.elections.elections import get_election
from app.domain.materials.labels import DELIVERY_LABELS
from app.domain.materials.reports import (
    ArticleCounts,
    Counts,
    MaterialsReport,
    StationCounts,
    StillOut,
    materials_report,
)

routes = Routes()

FORMATS = ("xlsx", "pdf")
REPORT_KINDS = ("all", "stations", "articles", "out")
REPORT_TITLES = {
    "all": lazy_gettext("Materials report"),
    "stations": lazy_gettext("Materials per station"),
    "articles": lazy_gettext("Materials per article"),
    "out": lazy_gettext("Materials still out"),
}


def _count_columns() -> list[Column]:
    return [
        Column(_("Needed"), 0.9, True),
        Column(_("Packed"), 0.9, True),
        Column(_("Delivered"), 0.9, True),
        Column(_("Returned"), 0.9, True),
        Column(_("Missing"), 0.9, True),
        Column(_("Damaged"), 0.9, True),
        Column(_("Still out"), 0.9, True),
    ]


def _counts(c: Counts) -> list[Value]:
    return [c.needed, c.packed, c.delivered, c.returned, c.missing, c.damaged, c.out]


def _state(state: str) -> str:
    return str(DELIVERY_LABELS[state]) if state in DELIVERY_LABELS else "–"


def stations_table(rows: Sequence[StationCounts], total: Counts) -> ReportTable:
    columns = [
        Column(_("Station"), 2.4),
        Column(_("District"), 1.8),
        Column(_("Delivery"), 1.1),
        *_count_columns(),
    ]
    body: list[list[Value]] = [
        [r.station, r.district or _("Advance voting"), _state(r.state), *_counts(r.counts)]
        for r in rows
    ]
    totals: list[Value] = [_("Total"), "", "", *_counts(total)]
    return ReportTable(
        "stations", str(REPORT_TITLES["stations"]), columns, body, totals if body else None
    )


def articles_table(rows: Sequence[ArticleCounts], total: Counts) -> ReportTable:
    columns = [Column(_("Article"), 3.0), Column(_("Unit"), 0.7), *_count_columns()]
    body: list[list[Value]] = [[r.article, r.unit, *_counts(r.counts)] for r in rows]
    totals: list[Value] = [_("Total"), "", *_counts(total)]
    return ReportTable(
        "articles",
        str(REPORT_TITLES["articles"]),
        columns,
        body,
        totals if body else None,
        notes=[_("Counts of different articles add up to a total of pieces, whatever the unit.")],
    )


def still_out_table(rows: Sequence[StillOut], zone: ZoneInfo) -> ReportTable:
    columns = [
        Column(_("Station"), 2.2),
        Column(_("District"), 1.6),
        Column(_("Article"), 2.6),
        Column(_("Still out"), 0.9, True),
        Column(_("Unit"), 0.6),
        Column(_("Delivery"), 1.0),
        Column(_("Delivery confirmed by"), 1.8),
        Column(_("Confirmed"), 1.3),
    ]
    body: list[list[Value]] = [
        [
            r.station,
            r.district or _("Advance voting"),
            r.article,
            r.out,
            r.unit,
            _state(r.state),
            r.had_by,
            r.delivered_at.astimezone(zone) if r.delivered_at else None,
        ]
        for r in rows
    ]
    return ReportTable(
        "out",
        str(REPORT_TITLES["out"]),
        columns,
        body,
        notes=[
            _(
                "What a station confirmed and the depot has not counted back yet, "
                "and what was missing at the count."
            ),
            _("Times are the municipality's local time (%(zone)s).", zone=str(zone)),
        ],
    )


def report_tables(report: MaterialsReport, kind: str, zone: ZoneInfo) -> list[ReportTable]:
    tables = {
        "stations": lambda: stations_table(report.stations, report.total),
        "articles": lambda: articles_table(report.articles, report.total),
        "out": lambda: still_out_table(report.still_out, zone),
    }
    if kind == "all":
        return [tables["articles"](), tables["stations"](), tables["out"]()]
    return [tables[kind]()]


@routes.get("/materials/elections/<int:election_id>/reports")
@requires("planning.view")
async def material_reports(election_id: int) -> str:
    """The reports' figures per article on the page, and their downloads."""
    election = await get_election(db(), election_id)
    report = await materials_report(db(), election.id)
    return await render(
        "planning/materials/reports.html",
        election=election,
        report=report,
        kinds=REPORT_KINDS,
        titles=REPORT_TITLES,
        labels=DELIVERY_LABELS,
    )


@routes.get("/materials/elections/<int:election_id>/reports/<kind>.<format>")
@requires("planning.view")
async def material_report_download(election_id: int, kind: str, format: str) -> Response:
    """A report as Excel (a sheet per table) or PDF (a section per table)."""
    if kind not in REPORT_KINDS or format not in FORMATS:
        abort(404)
    election = await get_election(db(), election_id)
    zone = ZoneInfo(g.tenant.timezone)
    tables = report_tables(await materials_report(db(), election.id), kind, zone)
    name = f"{slug(str(REPORT_TITLES[kind]))}-{slug(election.name)}"
    if format == "xlsx":
        body = await asyncio.to_thread(write_report_xlsx, *tables)
    else:
        first, *more = tables
        body = await asyncio.to_thread(
            write_report_pdf, first, g.tenant.name, election, *more, timezone=g.tenant.timezone
        )
    return attachment(body, format, name)
