"""After election day: the incident log (with every station's state history) for the
report to the election authority, everyone's check-in times for pay, and each
station's turnout, as CSV, Excel and PDF downloads linked from the live dashboard.

Each format gets what reads well in it: the spreadsheets one column per fact and the
incident notes joined in one cell (the Excel file also has a sheet with a row per
note); the PDF the handling and the notes written out beside each incident.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from quart import Response, abort, g

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
from app.core.i18n import _, lazy_gettext, ngettext
from app.core.routes import Routes
from app.core.web import db
from app.domain.models import TURNOUT_SLOTS, Election
from app.domain.ops import exports, incident_labels
from app.domain.ops.access import local_today
from app.domain.ops.stations import STATE_LABELS as STATION_STATE_LABELS

routes = Routes()

FORMATS = ("csv", "xlsx", "pdf")
EXPORT_KINDS = ("incidents", "checkins", "turnout")
EXPORT_TITLES = {
    "incidents": lazy_gettext("Incident log"),
    "checkins": lazy_gettext("Check-in times"),
    "turnout": lazy_gettext("Turnout"),
}
PRESENCE_LABELS = {
    "not_arrived": lazy_gettext("Not arrived"),
    "left": lazy_gettext("Checked out"),
    "present": lazy_gettext("Still there"),
    "not_left": lazy_gettext("Did not check out"),
}


def _station(station: str, district: str) -> str:
    return f"{station} ({district or _('Advance voting')})"


def _hours(starts: dt.time, ends: dt.time) -> str:
    return f"{starts:%H:%M}–{ends:%H:%M}"


def _clock(moment: dt.datetime | None, day: dt.date) -> str:
    """A time as HH:MM on ``day``, with its date on any other day (a count past midnight)."""
    if moment is None:
        return ""
    return f"{moment:%H:%M}" if moment.date() == day else display(moment)


def _zone_note(zone: object) -> str:
    return _("Times are the municipality's local time (%(zone)s).", zone=str(zone))


# --- the incident log ------------------------------------------------------------------


def _label(labels: Mapping[str, object], value: str) -> str:
    return str(labels.get(value, value))


def _notes_text(notes: Sequence[exports.IncidentNoteLine], day: dt.date) -> str:
    return "\n".join(f"{_clock(n.written_at, day)} {n.author}: {n.text}" for n in notes)


def incidents_table(log: exports.IncidentLog) -> ReportTable:
    """The log for the spreadsheets: a column per fact, the notes joined in one cell."""
    columns = [
        Column(_("No."), 0.5, True),
        Column(_("Station"), 1.6),
        Column(_("District"), 1.4),
        Column(_("Reported at"), 1.1),
        Column(_("Reported by"), 1.2),
        Column(_("Category"), 1.0),
        Column(_("Severity"), 0.8),
        Column(_("Text"), 3.0),
        Column(_("State"), 0.9),
        Column(_("Acknowledged at"), 1.1),
        Column(_("Acknowledged by"), 1.2),
        Column(_("Assigned at"), 1.1),
        Column(_("Assigned by"), 1.2),
        Column(_("Assigned to"), 1.2),
        Column(_("Resolved at"), 1.1),
        Column(_("Resolved by"), 1.2),
        Column(_("Notes"), 3.0),
    ]
    rows: list[list[Value]] = [
        [
            i.incident_id,
            i.station,
            i.district or _("Advance voting"),
            i.reported_at,
            i.reported_by,
            _label(incident_labels.CATEGORY_LABELS, i.category),
            _label(incident_labels.SEVERITY_LABELS, i.severity),
            i.text,
            _label(incident_labels.STATE_LABELS, i.state),
            i.acknowledged_at,
            i.acknowledged_by,
            i.assigned_at,
            i.assigned_by,
            i.assigned_to,
            i.resolved_at,
            i.resolved_by,
            _notes_text(i.notes, i.reported_at.date()),
        ]
        for i in log.incidents
    ]
    return ReportTable(
        "incidents", str(EXPORT_TITLES["incidents"]), columns, rows, notes=[_zone_note(log.zone)]
    )


def _handling(i: exports.IncidentLine) -> str:
    """What became of an incident, a line per step, for the PDF."""
    day = i.reported_at.date()
    lines = [_label(incident_labels.STATE_LABELS, i.state)]
    if i.acknowledged_at is not None:
        when, who = _clock(i.acknowledged_at, day), i.acknowledged_by or "?"
        lines.append(_("Acknowledged %(time)s by %(name)s", time=when, name=who))
    if i.assigned_at is not None:
        when, who = _clock(i.assigned_at, day), i.assigned_to or "?"
        lines.append(_("Assigned %(time)s to %(name)s", time=when, name=who))
    if i.resolved_at is not None:
        when, who = _clock(i.resolved_at, day), i.resolved_by or "?"
        lines.append(_("Resolved %(time)s by %(name)s", time=when, name=who))
    return "\n".join(lines)


def incidents_print_table(log: exports.IncidentLog) -> ReportTable:
    """The log for printing: who reported what, how it was handled, and the notes."""
    columns = [
        Column(_("No."), 0.45, True),
        Column(_("Station"), 1.5),
        Column(_("Reported"), 1.7),
        Column(_("Category"), 0.9),
        Column(_("Text"), 2.8),
        Column(_("Handling"), 2.3),
        Column(_("Notes"), 2.8),
    ]
    rows: list[list[Value]] = [
        [
            i.incident_id,
            _station(i.station, i.district),
            f"{display(i.reported_at)}\n{i.reported_by}",
            f"{_label(incident_labels.CATEGORY_LABELS, i.category)}\n"
            f"{_label(incident_labels.SEVERITY_LABELS, i.severity)}",
            i.text,
            _handling(i),
            _notes_text(i.notes, i.reported_at.date()),
        ]
        for i in log.incidents
    ]
    open_count = sum(i.state != "resolved" for i in log.incidents)
    return ReportTable(
        "incidents",
        str(EXPORT_TITLES["incidents"]),
        columns,
        rows,
        notes=[
            ngettext(
                "%(num)s incident; not resolved: %(open)s.",
                "%(num)s incidents; not resolved: %(open)s.",
                len(log.incidents),
                open=open_count,
            ),
            _zone_note(log.zone),
        ],
    )


def incident_notes_table(log: exports.IncidentLog) -> ReportTable:
    """A row per note, for the Excel file's second sheet."""
    columns = [
        Column(_("No."), 0.5, True),
        Column(_("Station"), 1.6),
        Column(_("Written at"), 1.1),
        Column(_("Written by"), 1.2),
        Column(_("Note"), 4.0),
    ]
    rows: list[list[Value]] = [
        [i.incident_id, i.station, note.written_at, note.author, note.text]
        for i in log.incidents
        for note in i.notes
    ]
    return ReportTable("incident_notes", _("Incident notes"), columns, rows)


def station_history_table(log: exports.IncidentLog, *, grouped: bool) -> ReportTable:
    """Each station's changes of state: when it opened, paused and closed, by whom, and
    why it opened without its checks passing. ``grouped``: the station as a heading."""
    columns = [
        Column(_("Station"), 2.0),
        Column(_("Time"), 1.2),
        Column(_("From"), 1.0),
        Column(_("To"), 1.0),
        Column(_("Changed by"), 1.5),
        Column(_("Reason for opening without the checks"), 3.0),
    ]
    rows: list[list[Value]] = [
        [
            _station(c.station, c.district),
            c.changed_at,
            _label(STATION_STATE_LABELS, c.from_state),
            _label(STATION_STATE_LABELS, c.to_state),
            c.changed_by,
            c.override_reason,
        ]
        for c in log.station_history
    ]
    return ReportTable(
        "station_history",
        _("Station states"),
        columns,
        rows,
        group_column=0 if grouped else None,
    )


# --- check-in times --------------------------------------------------------------------


def _presence_notes(times: exports.CheckinTimes) -> list[str]:
    lines = times.lines
    hours = sum((line.hours or Decimal(0) for line in lines), Decimal(0))
    return [
        " ".join(
            (
                ngettext(
                    "%(num)s place on shifts that have begun, %(absent)s of them not arrived;",
                    "%(num)s places on shifts that have begun, %(absent)s of them not arrived;",
                    len(lines),
                    absent=sum(line.status == "not_arrived" for line in lines),
                ),
                ngettext(
                    "%(num)s person, %(hours)s hours in all.",
                    "%(num)s people, %(hours)s hours in all.",
                    len({line.person_id for line in lines}),
                    hours=display(hours),
                ),
            )
        ),
        _(
            "Arrived is the first check-in and Left the last check-out, by the server's "
            "clock; the hours count from each arrival to the check-out after it. The "
            "phone's time is shown where it differs by a minute or more. Shifts that have "
            "not begun are left out."
        ),
        _zone_note(times.zone),
    ]


def checkins_table(times: exports.CheckinTimes) -> ReportTable:
    """Check-in times for the spreadsheets (pay): a column per fact, full times."""
    columns = [
        Column(_("Person id"), 0.7, True),
        Column(_("Name"), 1.8),
        Column(_("Station"), 1.6),
        Column(_("District"), 1.4),
        Column(_("Role"), 1.1),
        Column(_("Shift"), 1.2),
        Column(_("Day"), 0.9),
        Column(_("Shift time"), 1.0),
        Column(_("Arrived"), 1.2),
        Column(_("Left"), 1.2),
        Column(_("Hours"), 0.6, True),
        Column(_("Arrived (phone's time)"), 1.2),
        Column(_("Left (phone's time)"), 1.2),
        Column(_("Status"), 1.0),
    ]
    rows: list[list[Value]] = [
        [
            line.person_id,
            line.name,
            line.station,
            line.district or _("Advance voting"),
            line.role,
            line.shift,
            line.day,
            _hours(line.starts_at, line.ends_at),
            line.arrived_at,
            line.left_at,
            line.hours,
            line.arrived_device,
            line.left_device,
            _label(PRESENCE_LABELS, line.status),
        ]
        for line in times.lines
    ]
    return ReportTable(
        "checkins", str(EXPORT_TITLES["checkins"]), columns, rows, notes=_presence_notes(times)
    )


def checkins_print_table(times: exports.CheckinTimes) -> ReportTable:
    """Check-in times for printing: station by station, times of day beside the shift."""
    columns = [
        Column(_("Station"), 1.0),
        Column(_("Person id"), 0.8),
        Column(_("Name"), 2.0),
        Column(_("Role"), 1.3),
        Column(_("Shift"), 2.3),
        Column(_("Arrived"), 0.8),
        Column(_("Left"), 0.8),
        Column(_("Hours"), 0.7, True),
        Column(_("Phone's time"), 1.4),
        Column(_("Status"), 1.3),
    ]
    rows: list[list[Value]] = []
    for line in times.lines:
        device = []
        if line.arrived_device is not None:
            device.append(_("Arrived %(time)s", time=_clock(line.arrived_device, line.day)))
        if line.left_device is not None:
            device.append(_("Left %(time)s", time=_clock(line.left_device, line.day)))
        rows.append(
            [
                _station(line.station, line.district),
                line.person_id,
                line.name,
                line.role,
                f"{line.shift} {display(line.day)} {_hours(line.starts_at, line.ends_at)}",
                _clock(line.arrived_at, line.day),
                _clock(line.left_at, line.day),
                line.hours,
                "\n".join(device),
                _label(PRESENCE_LABELS, line.status),
            ]
        )
    return ReportTable(
        "checkins",
        str(EXPORT_TITLES["checkins"]),
        columns,
        rows,
        group_column=0,
        notes=_presence_notes(times),
    )


# --- turnout ---------------------------------------------------------------------------


def _share(share: float | None) -> Value:
    """A share as a percentage with one decimal (the spreadsheets' number), or empty."""
    if share is None:
        return None
    return Decimal(str(round(share * 100, 1)))


def turnout_table(sheet: exports.TurnoutSheet) -> ReportTable:
    """Each station's turnout: its eligible voters, the count at every reporting time,
    the share at the latest, and when and by whom the last report came."""
    columns = [
        Column(_("Station"), 1.6),
        Column(_("District"), 1.4),
        Column(_("Eligible voters"), 0.9, True),
        *(Column(_("Voted by %(time)s", time=slot), 0.8, True) for slot in TURNOUT_SLOTS),
        Column(_("Share of eligible voters (%)"), 0.9, True),
        Column(_("Last report"), 1.1),
        Column(_("Reported by"), 1.3),
    ]
    rows: list[list[Value]] = [
        [
            line.station,
            line.district or _("Advance voting"),
            line.eligible or None,
            *(line.turnout.counts.get(slot) for slot in TURNOUT_SLOTS),
            _share(line.turnout.share()),
            line.reported_at,
            line.reported_by,
        ]
        for line in sheet.lines
    ]
    totals = sheet.totals
    rows.append(
        [
            _("All stations"),
            "",
            None,
            *(slot.voters if slot.stations else None for slot in totals.slots),
            _share(totals.latest.share) if totals.latest else None,
            totals.reported_at.astimezone(sheet.zone) if totals.reported_at else None,
            "",
        ]
    )
    notes = [
        _(
            "The share is of the eligible voters of the stations that reported, where "
            "their district knows them; the last row sums every station."
        ),
        *(
            _(
                "%(time)s: %(stations)s of %(total)s stations reported.",
                time=slot.slot,
                stations=slot.stations,
                total=totals.stations,
            )
            for slot in totals.slots
        ),
        _zone_note(sheet.zone),
    ]
    return ReportTable("turnout", str(EXPORT_TITLES["turnout"]), columns, rows, notes=notes)


# --- the downloads ---------------------------------------------------------------------


async def _incidents_file(election_id: int, format: str) -> tuple[Election, bytes]:
    log = await exports.incident_log(db(), election_id)
    if format == "csv":
        table = incidents_table(log)
        return log.election, write_csv([c.label for c in table.columns], table.rows)
    if format == "xlsx":
        return log.election, await asyncio.to_thread(
            write_report_xlsx,
            incidents_table(log),
            incident_notes_table(log),
            station_history_table(log, grouped=False),
        )
    return log.election, await asyncio.to_thread(
        write_report_pdf,
        incidents_print_table(log),
        g.tenant.name,
        log.election,
        station_history_table(log, grouped=True),
        timezone=g.tenant.timezone,
    )


async def _checkins_file(election_id: int, format: str) -> tuple[Election, bytes]:
    times = await exports.checkin_times(db(), election_id)
    if format == "csv":
        table = checkins_table(times)
        return times.election, write_csv([c.label for c in table.columns], table.rows)
    if format == "xlsx":
        return times.election, await asyncio.to_thread(write_report_xlsx, checkins_table(times))
    return times.election, await asyncio.to_thread(
        write_report_pdf,
        checkins_print_table(times),
        g.tenant.name,
        times.election,
        timezone=g.tenant.timezone,
    )


async def _turnout_file(election_id: int, format: str) -> tuple[Election, bytes]:
    sheet = await exports.turnout_sheet(db(), election_id)
    table = turnout_table(sheet)
    if format == "csv":
        return sheet.election, write_csv([c.label for c in table.columns], table.rows)
    if format == "xlsx":
        return sheet.election, await asyncio.to_thread(write_report_xlsx, table)
    return sheet.election, await asyncio.to_thread(
        write_report_pdf, table, g.tenant.name, sheet.election, timezone=g.tenant.timezone
    )


_FILES = {"incidents": _incidents_file, "checkins": _checkins_file, "turnout": _turnout_file}


@routes.get("/elections/<int:election_id>/ops/export/<kind>.<format>")
@requires("ops.view")
async def ops_export(election_id: int, kind: str, format: str) -> Response:
    """The incident log, the check-in times or the turnout of an election as CSV, Excel
    or PDF.

    Who may see the live dashboard may download these; another municipality's election
    is not found. The file name holds the election's name and the date, nothing personal.
    """
    if kind not in EXPORT_KINDS or format not in FORMATS:
        abort(404)
    election, body = await _FILES[kind](election_id, format)
    name = f"{slug(str(EXPORT_TITLES[kind]))}-{slug(election.name)}"
    return attachment(body, format, f"{name}-{(await local_today(db())).isoformat()}")
