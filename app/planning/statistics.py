"""The statistics page of an election: its charts with their tables, each chart's numbers
as CSV and Excel (and all of them as one workbook), and the pay budget the office sets
per role and per district."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Response, abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.documents.spreadsheets import write_csv
from app.core.documents.tables import ReportTable, write_report_xlsx
from app.core.downloads import attachment, slug
from app.core.errors import DomainError
from app.core.i18n import _, ngettext
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.elections.elections import get_election
from app.domain.ops.access import local_today
from app.domain.statistics import budgets
from app.domain.statistics.overview import election_statistics
from app.planning import statistics_charts as charts

routes = Routes()

FORMATS = ("csv", "xlsx")


@routes.get("/elections/<int:election_id>/statistics")
@requires("reports.view")
async def statistics_page(election_id: int) -> str:
    """Every chart of the election with its table and its downloads."""
    stats = await election_statistics(db(), election_id)
    return await render(
        "planning/statistics/page.html",
        election=stats.election,
        statistics=charts.statistics(stats),
    )


def _csv(table: ReportTable) -> bytes:
    rows = list(table.rows)
    if table.totals is not None:
        rows.append(table.totals)
    return write_csv([c.label for c in table.columns], rows)


@routes.get("/elections/<int:election_id>/statistics/<kind>.<format>")
@requires("reports.view")
async def statistics_download(election_id: int, kind: str, format: str) -> Response:
    """One chart's numbers as CSV or Excel; ``all.xlsx``: every chart, a sheet each."""
    if format not in FORMATS or (kind not in charts.CHARTS and (kind, format) != ("all", "xlsx")):
        abort(404)
    stats = await election_statistics(db(), election_id)
    today = (await local_today(db())).isoformat()
    name = f"{slug(_('Statistics'))}-{slug(stats.election.name)}-{today}"
    if kind == "all":
        tables = [each.table for each in charts.statistics(stats)]
        return attachment(await asyncio.to_thread(write_report_xlsx, *tables), "xlsx", name)
    table = charts.statistic(kind, stats).table
    name = f"{slug(table.title)}-{name}"
    if format == "csv":
        return attachment(_csv(table), "csv", name)
    return attachment(await asyncio.to_thread(write_report_xlsx, table), "xlsx", name)


# --- the budget ------------------------------------------------------------------------


async def _budget_page(
    election_id: int,
    part: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> str:
    election = await get_election(db(), election_id)
    roles, districts = await budgets.budget_lines(db(), election.id)
    return await render(
        "planning/statistics/budget.html",
        election=election,
        roles=roles,
        districts=districts,
        failed_part=part,
        amount=charts.plain_amount,
        errors=errors or {},
        values=values or {},
    )


@routes.get("/elections/<int:election_id>/statistics/budget")
@requires("reports.view")
async def statistics_budget(election_id: int) -> str:
    """The pay budget per role and per district, as two forms."""
    return await _budget_page(election_id)


@routes.post("/elections/<int:election_id>/statistics/budget/<part>")
@requires("registers.edit")
async def statistics_budget_save(election_id: int, part: str) -> WerkzeugResponse | tuple[str, int]:
    """Save one of the two forms whole; a wrong amount shows the form again with the
    message at its field, and nothing of the form is saved."""
    if part not in budgets.BUDGET_PARTS:
        abort(404)
    form = (await request.form).to_dict()

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _budget_page(election_id, part, error.errors, form), 422

    on_refusal(refused)
    changed = await budgets.save_budget(db(), current_actor(), election_id, part, form)
    await flash(
        ngettext("%(num)s budget line saved.", "%(num)s budget lines saved.", changed)
        if changed
        else _("Nothing was changed."),
        "success",
    )
    return redirect(url_for("planning.statistics_budget", election_id=election_id))
