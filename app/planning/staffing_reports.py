"""Staffing reports and appointment letters of an election: the page that lists them,
which columns and headings each report has, and their downloads as Excel and PDF."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from quart import Response, abort, flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import can, current_actor, requires
from app.core.documents.tables import (
    Column,
    ReportTable,
    Value,
    write_report_pdf,
    write_report_xlsx,
)
from app.core.downloads import attachment, slug
from app.core.errors import NotFound
from app.core.i18n import _, lazy_gettext, ngettext
from app.core.routes import Routes
from app.core.validation import parse_id
from app.core.web import db, is_htmx, render
from app.domain.documents import filled
from app.domain.elections.elections import get_election
from app.domain.labels import ASSIGNMENT_STATE
from app.domain.models import Election
from app.domain.ops.access import local_today
from app.domain.staffing import letters, reports
from app.domain.staffing.overview import DistrictSummary

routes = Routes()

FORMATS = ("xlsx", "pdf")
#: The page shows this many unfilled places; the downloads have all of them.
PREVIEW_ROWS = 30


# --- the reports as tables ----------------------------------------------------------

REPORT_KINDS = ("unfilled", "districts", "roles", "staff")
REPORT_TITLES = {
    "unfilled": lazy_gettext("Unfilled places"),
    "districts": lazy_gettext("Staffing per district"),
    "roles": lazy_gettext("People per role"),
    "staff": lazy_gettext("Staff list per station"),
}


async def report_table(election_id: int, kind: str, station_id: int | None = None) -> ReportTable:
    """One report of an election as a table; ``station_id`` narrows the staff list."""
    if kind == "unfilled":
        return unfilled_table(await reports.unfilled_places(db(), election_id))
    if kind == "districts":
        return districts_table(await reports.staffing_per_district(db(), election_id))
    if kind == "roles":
        return roles_table(await reports.people_per_role(db(), election_id))
    if kind == "staff":
        rows = await reports.staff_list(db(), election_id, station_id)
        election = await get_election(db(), election_id)
        return staff_table(rows, await filled.staff_list_header(db(), election))
    raise NotFound(_("Not found."))


def _hours(starts: dt.time, ends: dt.time) -> str:
    return f"{starts:%H:%M}–{ends:%H:%M}"


def _district_or_advance(district: str) -> str:
    return district or _("Advance voting")


def unfilled_table(places: Sequence[reports.UnfilledPlace]) -> ReportTable:
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
    missing = sum(p.missing for p in places)
    below = sum(max(0, p.minimum - p.filled) for p in places)
    totals: list[Value] = [_("Total"), "", None, "", "", None, None, None, missing]
    return ReportTable(
        "unfilled",
        str(REPORT_TITLES["unfilled"]),
        columns,
        rows,
        totals if places else None,
        notes=[
            ngettext(
                "%(num)s place missing, %(below)s of them below the minimum.",
                "%(num)s places missing, %(below)s of them below the minimum.",
                missing,
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


def roles_table(counts: Sequence[reports.RoleCount]) -> ReportTable:
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


def staff_table(rows_: Sequence[reports.StaffListRow], header: str = "") -> ReportTable:
    """The staff list, under the office's header text (``header``, when it has one)."""
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
    notes = [header] if header.strip() else []
    return ReportTable(
        "staff", str(REPORT_TITLES["staff"]), columns, rows, group_column=0, notes=notes
    )


# --- pages and downloads ---------------------------------------------------------------


@routes.get("/elections/<int:election_id>/staffing/reports")
@requires("reports.view")
async def staffing_reports(election_id: int) -> str:
    """The reports of an election with their downloads, a preview of the unfilled places
    and the appointment letters; ``?people=<station id>`` lists one station's letters
    (the fragment alone for HTMX)."""
    election = await get_election(db(), election_id)
    people_station = parse_id(request.args.get("people")) if can("staffing.edit") else None
    station_people: list[letters.Appointment] = []
    if people_station is not None:
        _election, station_people = await letters.appointments(
            db(), election.id, station_id=people_station
        )
        if is_htmx():
            return await render(
                "planning/staffing/reports.html",
                block="station_people",
                election=election,
                station_people=station_people,
            )
    places = await reports.unfilled_places(db(), election.id)
    return await render(
        "planning/staffing/reports.html",
        election=election,
        report_titles=REPORT_TITLES,
        unfilled=unfilled_table(places),
        places=places,
        preview_rows=PREVIEW_ROWS,
        stations=await reports.stations_with_staff(db(), election.id),
        people_station=people_station,
        station_people=station_people,
    )


@routes.get("/elections/<int:election_id>/staffing/reports/<kind>.<format>")
@requires("reports.view")
async def staffing_report_download(election_id: int, kind: str, format: str) -> Response:
    """One report as Excel or PDF; ``?station=`` narrows the staff list to one station."""
    if kind not in REPORT_KINDS or format not in FORMATS:
        abort(404)
    station_id = parse_id(request.args.get("station")) if kind == "staff" else None
    election = await get_election(db(), election_id)
    table = await report_table(election.id, kind, station_id)
    name = f"{slug(table.title)}-{slug(election.name)}"
    if station_id is not None and table.rows:
        name += f"-{slug(str(table.rows[0][0]))}"
    if format == "xlsx":
        body = await asyncio.to_thread(write_report_xlsx, table)
    else:
        body = await asyncio.to_thread(
            write_report_pdf, table, g.tenant.name, election, timezone=g.tenant.timezone
        )
    return attachment(body, format, f"{name}-{(await local_today(db())).isoformat()}")


async def _letters_pdf(election: Election, found: list[letters.Appointment]) -> bytes:
    frame = await letters.letter_frame(db())
    # Thousands of pages take seconds: written in a thread (which keeps the locale and
    # tenant context) so the server goes on answering others meanwhile.
    return await asyncio.to_thread(letters.write_letters_pdf, frame, election, found)


async def _no_letters(election_id: int) -> WerkzeugResponse:
    await flash(_("Nobody has accepted a place here yet, so there are no letters."), "warning")
    return redirect(url_for("planning.staffing_reports", election_id=election_id))


@routes.get("/elections/<int:election_id>/staffing/letters.pdf")
@requires("staffing.edit")
async def staffing_letters(election_id: int) -> Response | WerkzeugResponse:
    """Appointment letters for everyone with an accepted place, one page each."""
    election, found = await letters.print_appointments(db(), current_actor(), election_id)
    if not found:
        return await _no_letters(election.id)
    body = await _letters_pdf(election, found)
    title = _("Appointments")
    return attachment(body, "pdf", f"{slug(title)}-{slug(election.name)}")


@routes.get("/elections/<int:election_id>/staffing/letters/station/<int:station_id>.pdf")
@requires("staffing.edit")
async def staffing_station_letters(
    election_id: int, station_id: int
) -> Response | WerkzeugResponse:
    election, found = await letters.print_appointments(
        db(), current_actor(), election_id, station_id=station_id
    )
    if not found:
        return await _no_letters(election.id)
    station = next(p.station for a in found for p in a.places if p.station_id == station_id)
    body = await _letters_pdf(election, found)
    return attachment(
        body, "pdf", "-".join((slug(_("Appointments")), slug(election.name), slug(station)))
    )


@routes.get("/elections/<int:election_id>/staffing/letters/person/<int:person_id>.pdf")
@requires("staffing.edit")
async def staffing_person_letter(election_id: int, person_id: int) -> Response:
    """One person's letter; 404 unless they have an accepted place in this election."""
    election, found = await letters.print_appointments(
        db(), current_actor(), election_id, person_id=person_id
    )
    if not found:
        raise NotFound(_("Not found."))
    body = await _letters_pdf(election, found)
    title = _("Appointment")
    name = f"{slug(title)}-{slug(found[0].person.full_name)}-{election.id}"
    return attachment(body, "pdf", name)
