"""Course reports of an election: the page that lists them with their filters, which
columns and headings each has, and their downloads (Excel, PDF, CSV for pay), plus a
session's attendance list to sign."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from quart import Response, abort, g, request

from app.core.auth import requires
from app.core.documents.spreadsheets import write_csv
from app.core.documents.tables import (
    Column,
    ReportTable,
    Value,
    display,
    write_report_pdf,
    write_report_xlsx,
)
from app.core.downloads import attachment, slug
from app.core.errors import NotFound
from app.core.i18n import _, lazy_gettext, ngettext
from app.core.routes import Routes
from app.core.validation import parse_id
from app.core.web import db, is_htmx, render
from app.domain.courses import attendance_pdf, reports
from app.domain.elections.districts import districts_of
from app.domain.elections.elections import get_election
from app.domain.labels import SESSION_STATUS
from app.domain.models import Election
from app.domain.ops.access import local_today

routes = Routes()

#: Each report and the files it comes as (pay goes to a payroll system: CSV, no PDF).
REPORT_FORMATS = {
    "lacking": ("xlsx", "pdf"),
    "lacking_counts": ("xlsx", "pdf"),
    "fill": ("xlsx", "pdf"),
    "pay": ("csv", "xlsx"),
}
REPORT_TITLES = {
    "lacking": lazy_gettext("Lacking a required course"),
    "lacking_counts": lazy_gettext("Lacking a course per station and role"),
    "fill": lazy_gettext("Session fill rates"),
    "pay": lazy_gettext("Attended training for pay"),
}
LACKING_STATUS = {
    "missing": lazy_gettext("Not booked"),
    "waiting": lazy_gettext("On the waiting list"),
    "late": lazy_gettext("Booked after the first shift"),
}
#: The page shows this many people lacking a course; the downloads have all of them.
PREVIEW_ROWS = 50


@dataclass(frozen=True)
class Filters:
    """What the page and the downloads are narrowed to, read from the query string."""

    district_id: int | None = None
    station_id: int | None = None
    course_id: int | None = None
    from_day: dt.date | None = None
    to_day: dt.date | None = None

    @property
    def period(self) -> bool:
        return self.from_day is not None or self.to_day is not None

    def lacking_args(self) -> dict[str, int]:
        """The lacking list's filters as query arguments for its links."""
        found = {"district": self.district_id, "station": self.station_id, "course": self.course_id}
        return {key: value for key, value in found.items() if value is not None}

    def pay_args(self) -> dict[str, str]:
        """The pay export's period as query arguments for its links."""
        found = {"from": self.from_day, "to": self.to_day}
        return {key: day.isoformat() for key, day in found.items() if day is not None}


def _day(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filters() -> Filters:
    args = request.args
    return Filters(
        parse_id(args.get("district")),
        parse_id(args.get("station")),
        parse_id(args.get("course")),
        _day(args.get("from")),
        _day(args.get("to")),
    )


def _hours(starts: dt.time, ends: dt.time) -> str:
    return f"{starts:%H:%M}–{ends:%H:%M}"


# --- the reports as tables ----------------------------------------------------------


def lacking_table(rows: Sequence[reports.LackingCourse]) -> ReportTable:
    columns = [
        Column(_("Station"), 2.0),
        Column(_("Role"), 1.3),
        Column(_("Name"), 2.0),
        Column(_("First shift"), 1.0),
        Column(_("Course"), 2.0),
        Column(_("Status"), 1.8),
        Column(_("Session"), 1.0),
    ]
    values: list[list[Value]] = [
        [
            f"{r.station} ({r.district or _('Advance voting')})",
            r.role,
            r.name,
            r.first_day,
            r.course,
            str(LACKING_STATUS[r.status]),
            r.session_day,
        ]
        for r in rows
    ]
    people = len({r.person_id for r in rows})
    return ReportTable(
        "lacking",
        str(REPORT_TITLES["lacking"]),
        columns,
        values,
        group_column=0,
        notes=[
            ngettext(
                "%(num)s person holds a place without a course their role requires "
                "(proposed, offered and accepted places; a seat counts only on a session "
                "before the person's first shift).",
                "%(num)s people hold a place without a course their role requires "
                "(proposed, offered and accepted places; a seat counts only on a session "
                "before the person's first shift).",
                people,
            )
        ],
    )


def lacking_counts_table(counts: Sequence[reports.LackingCount]) -> ReportTable:
    columns = [
        Column(_("Station"), 2.2),
        Column(_("District"), 1.8),
        Column(_("Role"), 1.5),
        Column(_("People"), 0.9, True),
        Column(_("Not booked"), 1.0, True),
        Column(_("On the waiting list"), 1.2, True),
        Column(_("Booked after the first shift"), 1.4, True),
    ]
    values: list[list[Value]] = [
        [
            c.station,
            c.district or _("Advance voting"),
            c.role,
            c.people,
            c.missing,
            c.waiting,
            c.late,
        ]
        for c in counts
    ]
    totals: list[Value] = [
        _("Total"),
        "",
        "",
        sum(c.people for c in counts),
        sum(c.missing for c in counts),
        sum(c.waiting for c in counts),
        sum(c.late for c in counts),
    ]
    return ReportTable(
        "lacking_counts",
        str(REPORT_TITLES["lacking_counts"]),
        columns,
        values,
        totals if counts else None,
        notes=[_("A person lacking several courses for a role is counted once, by the worst.")],
    )


def fill_table(sessions: Sequence[reports.SessionFill]) -> ReportTable:
    columns = [
        Column(_("Course"), 2.0),
        Column(_("Day"), 1.0),
        Column(_("Time"), 1.1),
        Column(_("Place"), 2.4),
        Column(_("Status"), 0.9),
        Column(_("Seats"), 0.7, True),
        Column(_("Booked"), 0.8, True),
        Column(_("Waiting"), 0.8, True),
        Column(_("Attended"), 0.8, True),
        Column(_("No-show"), 0.8, True),
        Column(_("Fill rate (percent)"), 0.9, True),
    ]
    values: list[list[Value]] = []
    grand = SessionTotals()
    by_course: dict[int, list[reports.SessionFill]] = {}
    for fill in sessions:
        by_course.setdefault(fill.course_id, []).append(fill)
    for course_sessions in by_course.values():
        sums = SessionTotals()
        for s in course_sessions:
            values.append(
                [
                    s.course,
                    s.day,
                    _hours(s.starts_at, s.ends_at),
                    s.place,
                    str(SESSION_STATUS.get(s.status, s.status)),
                    s.capacity,
                    s.booked,
                    s.waiting,
                    s.attended,
                    s.no_show,
                    s.fill_percent,
                ]
            )
            sums.add(s)
            grand.add(s)
        values.append(sums.row(course_sessions[0].course, _("Total")))
    notes = [
        _(
            "Booked counts every seat held: booked, attended and no-show. Cancelled "
            "sessions are listed but not counted in the totals."
        )
    ]
    if len(by_course) > 1:
        # The PDF prints a total under each course, not one for all of them.
        notes.append(
            ngettext(
                "All courses: %(booked)s of %(num)s seat booked (%(percent)s %%), "
                "%(waiting)s waiting, %(attended)s attended, %(no_show)s no-shows.",
                "All courses: %(booked)s of %(num)s seats booked (%(percent)s %%), "
                "%(waiting)s waiting, %(attended)s attended, %(no_show)s no-shows.",
                grand.capacity,
                booked=grand.booked,
                percent=grand.fill_percent,
                waiting=grand.waiting,
                attended=grand.attended,
                no_show=grand.no_show,
            )
        )
    return ReportTable(
        "fill",
        str(REPORT_TITLES["fill"]),
        columns,
        values,
        grand.row(_("Total"), "") if sessions else None,
        group_column=0,
        notes=notes,
    )


@dataclass
class SessionTotals:
    """Totals of the sessions that took place or will (not the cancelled ones)."""

    capacity: int = 0
    booked: int = 0
    waiting: int = 0
    attended: int = 0
    no_show: int = 0

    def add(self, fill: reports.SessionFill) -> None:
        if fill.status == "cancelled":
            return
        self.capacity += fill.capacity
        self.booked += fill.booked
        self.waiting += fill.waiting
        self.attended += fill.attended
        self.no_show += fill.no_show

    @property
    def fill_percent(self) -> int:
        return round(100 * self.booked / self.capacity) if self.capacity else 0

    def row(self, first: str, label: str) -> list[Value]:
        return [
            first,
            None,
            label,
            "",
            "",
            self.capacity,
            self.booked,
            self.waiting,
            self.attended,
            self.no_show,
            self.fill_percent,
        ]


def course_totals(sessions: Sequence[reports.SessionFill]) -> dict[int, SessionTotals]:
    """{course id: its sessions' totals}, for the page."""
    totals: dict[int, SessionTotals] = {}
    for fill in sessions:
        totals.setdefault(fill.course_id, SessionTotals()).add(fill)
    return totals


def pay_table(lines: Sequence[reports.PayLine]) -> ReportTable:
    columns = [
        Column(_("Person id"), 0.8, True),
        Column(_("Name"), 2.0),
        Column(_("Course"), 2.0),
        Column(_("Session date"), 1.0),
        Column(_("Hours"), 0.7, True),
        Column(_("State"), 0.9),
    ]
    values: list[list[Value]] = [
        [p.person_id, p.name, p.course, p.day, p.hours, _("Attended")] for p in lines
    ]
    return ReportTable(
        "pay",
        str(REPORT_TITLES["pay"]),
        columns,
        values,
        notes=[
            _(
                "Hours are the session's length for a classroom course and the course's "
                "stated duration for an online course or a test."
            )
        ],
    )


async def report_table(election: Election, kind: str, filters: Filters) -> ReportTable:
    """One course report of an election as a table, narrowed by ``filters``."""
    if kind in ("lacking", "lacking_counts"):
        rows = await reports.lacking_courses(
            db(),
            election.id,
            district_id=filters.district_id,
            station_id=filters.station_id,
            course_id=filters.course_id,
        )
        if kind == "lacking":
            return lacking_table(rows)
        return lacking_counts_table(reports.lacking_counts(rows))
    if kind == "fill":
        return fill_table(await reports.session_fill(db(), election.id, filters.course_id))
    if kind == "pay":
        return pay_table(await _pay_lines(election, filters))
    raise NotFound(_("Not found."))


async def _pay_lines(election: Election, filters: Filters) -> list[reports.PayLine]:
    """A period's attended sessions (any course) when one is given, else the election's."""
    if filters.period:
        return await reports.attended_for_pay(
            db(), from_day=filters.from_day, to_day=filters.to_day
        )
    return await reports.attended_for_pay(db(), election_id=election.id)


# --- pages and downloads ---------------------------------------------------------------


@routes.get("/elections/<int:election_id>/courses/reports")
@requires("reports.view")
async def course_reports(election_id: int) -> str:
    """The course reports of an election: who lacks a required course (filtered by
    district, station and course; the list alone for HTMX), how full each session is
    with its attendance list, and the export for pay."""
    election = await get_election(db(), election_id)
    filters = _filters()
    lacking = await reports.lacking_courses(
        db(),
        election.id,
        district_id=filters.district_id,
        station_id=filters.station_id,
        course_id=filters.course_id,
    )
    context: dict[str, Any] = {
        "election": election,
        "filters": filters,
        "lacking": lacking,
        "lacking_table": lacking_table(lacking),
        "counts": reports.lacking_counts(lacking),
        "status_labels": LACKING_STATUS,
        "preview_rows": PREVIEW_ROWS,
    }
    if is_htmx():
        return await render("planning/course_reports/overview.html", block="lacking", **context)
    sessions = await reports.session_fill(db(), election.id)
    pay = await _pay_lines(election, filters)
    return await render(
        "planning/course_reports/overview.html",
        report_titles=REPORT_TITLES,
        report_formats=REPORT_FORMATS,
        districts=await districts_of(db(), election.id),
        stations=await reports.station_choices(db(), election.id, filters.district_id),
        courses=await reports.election_courses(db(), election.id),
        fill=fill_table(sessions),
        sessions=sessions,
        session_status=SESSION_STATUS,
        pay_lines=len(pay),
        pay_people=len({p.person_id for p in pay}),
        pay_hours=display(sum((p.hours for p in pay), Decimal("0"))),
        course_totals=course_totals(sessions),
        **context,
    )


@routes.get("/elections/<int:election_id>/courses/reports/<kind>.<format>")
@requires("reports.view")
async def course_report_download(election_id: int, kind: str, format: str) -> Response:
    """One course report as a file; the query string narrows it as on the page."""
    if format not in REPORT_FORMATS.get(kind, ()):
        abort(404)
    election = await get_election(db(), election_id)
    filters = _filters()
    table = await report_table(election, kind, filters)
    name = f"{slug(table.title)}-{slug(election.name)}"
    if kind == "pay" and filters.period:
        name = "-".join(
            part
            for part in (
                slug(table.title),
                filters.from_day.isoformat() if filters.from_day else "",
                filters.to_day.isoformat() if filters.to_day else "",
            )
            if part
        )
    if format == "csv":
        body = write_csv([c.label for c in table.columns], table.rows)
    elif format == "xlsx":
        body = await asyncio.to_thread(write_report_xlsx, table)
    else:
        body = await asyncio.to_thread(
            write_report_pdf, table, g.tenant.name, election, timezone=g.tenant.timezone
        )
    return attachment(body, format, f"{name}-{(await local_today(db())).isoformat()}")


@routes.get("/elections/<int:election_id>/courses/reports/sessions/<int:session_id>.pdf")
@requires("reports.view")
async def course_report_attendance_sheet(election_id: int, session_id: int) -> Response:
    """A session's attendance list to print and sign (names and birth years only)."""
    sheet = await reports.attendance_sheet(db(), session_id, election_id)
    body = await asyncio.to_thread(attendance_pdf.write_attendance_pdf, sheet, g.tenant.name)
    title = _("Attendance list")
    return attachment(
        body, "pdf", "-".join((slug(title), slug(sheet.course), sheet.day.isoformat()))
    )
