"""A clerk's own data (``personal_data.my_data``) on A4, for reading and printing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from app.core.documents.pdf import StemmaPDF, pdf_text
from app.core.i18n import _, format_locale


def _day(value: str | None) -> str:
    """A stored ISO date as a long date in the reader's language."""
    if not value:
        return "–"
    return format_date(dt.date.fromisoformat(value[:10]), format="long", locale=format_locale())


def _moment(value: str | None, zone: ZoneInfo) -> str:
    """A stored UTC time as the municipality's clock shows it, in the reader's language."""
    if not value:
        return "–"
    moment = dt.datetime.fromisoformat(value)
    return format_datetime(moment, format="medium", tzinfo=zone, locale=format_locale())


def _label(labels: Mapping[str, Any], code: str | None) -> str:
    """The reader's name for a fixed choice; the code itself when none is known."""
    return str(labels.get(code, code)) if code else "–"


class _Sheet:
    """The PDF being written, with the reader's labels and the municipality's clock."""

    def __init__(
        self, pdf: StemmaPDF, labels: Mapping[str, Mapping[str, Any]], zone: ZoneInfo
    ) -> None:
        self.pdf = pdf
        self.labels = labels
        self.zone = zone

    def moment(self, value: str | None) -> str:
        return _moment(value, self.zone)

    def label(self, kind: str, code: str | None) -> str:
        return _label(self.labels[kind], code)

    def heading(self, text: str) -> None:
        self.pdf.ln(5)
        self.pdf.text_line(text, 13, "B", height=8, role="H2")

    def row(self, label: str, value: object) -> None:
        shown = value if value not in (None, "") else "–"
        self.pdf.paragraph(f"{label}: {shown}", 10, line_height=5.5)


def write_my_data_pdf(
    data: Mapping[str, Any], labels: Mapping[str, Mapping[str, Any]], timezone: str
) -> bytes:
    """The same data as the JSON file, on A4 for reading and printing.

    ``labels`` names the fixed choices in the reader's language: ``language``,
    ``work_kind``, ``state``, ``status``, ``experience``, ``application_status``.
    """
    person = data["person"]
    name = f"{person['first_name']} {person['last_name']}"
    pdf = StemmaPDF(running_text=f"{data['municipality']} · {_('My data')} · {name}")
    pdf.set_title(pdf_text(f"{_('My data')} – {name}"))
    pdf.set_author(pdf_text(data["municipality"]))
    pdf.add_page()
    pdf.text_line(data["municipality"], 11, "B")
    pdf.text_line(_("My data"), 20, "B", height=10, role="H1")
    sheet = _Sheet(pdf, labels, ZoneInfo(timezone))
    when = sheet.moment(data["exported_at"])
    pdf.paragraph(_("Everything stored about %(name)s, as of %(when)s.", name=name, when=when), 10)
    _write_register(sheet, person, name)
    if data["account"]:
        _write_account(sheet, data["account"])
    _write_availability(sheet, data["availability"])
    _write_assignments(sheet, data["assignments"])
    if data["reserves"]:
        _write_reserves(sheet, data["reserves"])
    if data["applications"]:
        _write_applications(sheet, data["applications"])
    return bytes(pdf.output())


def _write_register(sheet: _Sheet, person: Mapping[str, Any], name: str) -> None:
    """The person's record in the register."""
    sheet.heading(_("In the register"))
    address = ", ".join(
        part
        for part in (person["street_address"], f"{person['postal_code']} {person['city']}".strip())
        if part
    )
    row = sheet.row
    row(_("Name"), name)
    row(_("Identity number"), person["national_id"])
    row(_("Date of birth"), _day(person["birth_date"]) if person["birth_date"] else "")
    row(_("Email"), person["email"])
    row(_("Mobile"), person["mobile"])
    row(_("Address"), address)
    row(_("Language"), sheet.label("language", person["preferred_language"]))
    row(_("Languages spoken"), ", ".join(person["spoken_languages"]))
    row(_("Experience"), sheet.label("experience", person["experience"]))
    row(_("Status"), sheet.label("status", person["status"]))
    row(_("Tags"), ", ".join(person["tags"]))
    row(_("Notes from the election office"), person["notes"])
    row(_("Bank account"), person["bank_account"])
    row(_("Calendar feed"), _("in use") if person["calendar_feed"] else _("not in use"))
    if person["removal_requested_at"]:
        row(_("Asked to be removed"), sheet.moment(person["removal_requested_at"]))
    row(_("Registered"), sheet.moment(person["registered_at"]))
    row(_("Last changed"), sheet.moment(person["updated_at"]))


def _write_account(sheet: _Sheet, account: Mapping[str, Any]) -> None:
    """The sign-in account."""
    sheet.heading(_("Account"))
    sheet.row(_("Email"), account["email"])
    sheet.row(_("Language"), sheet.label("language", account["language"]))
    sheet.row(_("Created"), sheet.moment(account["created_at"]))
    sheet.row(_("Last signed in"), sheet.moment(account["last_login_at"]))


def _write_availability(sheet: _Sheet, availability: list[Mapping[str, Any]]) -> None:
    """The days and kinds of work given per election, and the district wishes."""
    sheet.heading(_("Availability and district wishes"))
    if not availability:
        sheet.row(_("Availability"), _("none given"))
    for entry in availability:
        sheet.pdf.text_line(entry["election"], 11, "B", height=6.5, role="H3")
        for day in entry["days"]:
            kinds = ", ".join(sheet.label("work_kind", kind) for kind in day["work_kinds"])
            sheet.row(_day(day["day"]), kinds)
        if entry["district_wishes"]:
            sheet.row(_("District wishes"), ", ".join(entry["district_wishes"]))


def _write_assignments(sheet: _Sheet, assignments: list[Mapping[str, Any]]) -> None:
    """Each shift offered or worked, with its state."""
    sheet.heading(_("Assignments"))
    if not assignments:
        sheet.row(_("Assignments"), _("none"))
    for item in assignments:
        sheet.row(
            f"{_day(item['day'])} {item['starts_at']}–{item['ends_at']}",
            f"{item['role']} · {item['station']} ({item['election']}),"
            f" {sheet.label('state', item['state'])}"
            + (f" – {item['decline_reason']}" if item["decline_reason"] else ""),
        )


def _write_reserves(sheet: _Sheet, reserves: list[Mapping[str, Any]]) -> None:
    """The elections the person is a reserve in."""
    sheet.heading(_("Reserve"))
    for reserve in reserves:
        sheet.row(
            reserve["election"], ", ".join(filter(None, (reserve["district"], reserve["note"])))
        )


def _write_applications(sheet: _Sheet, applications: list[Mapping[str, Any]]) -> None:
    """The applications the person sent, with what they chose and wrote."""
    sheet.heading(_("Applications"))
    for application in applications:
        sheet.row(_("Sent"), sheet.moment(application["submitted_at"]))
        sheet.row(_("Status"), sheet.label("application_status", application["status"]))
        for choice in application["elections"]:
            kinds = ", ".join(sheet.label("work_kind", k) for k in choice["work_kinds"])
            days = ", ".join(_day(day) for day in choice["days"])
            sheet.row(choice["election"] or "–", "; ".join(filter(None, (kinds, days))))
            if choice["districts"]:
                sheet.row(_("District wishes"), ", ".join(choice["districts"]))
        for key, label in (
            ("preferred_areas", _("Preferred areas")),
            ("experience_notes", _("About your experience")),
            ("message", _("Message")),
        ):
            if application[key]:
                sheet.row(label, application[key])
