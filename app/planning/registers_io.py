"""Spreadsheets in and out: import with a preview, export to CSV and Excel."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from quart import Response, abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import can, current_actor, requires
from app.core.documents.spreadsheets import in_worker_thread, write_csv, write_xlsx
from app.core.downloads import attachment
from app.core.errors import DomainError, NotFound
from app.core.i18n import _, ngettext
from app.core.routes import Routes
from app.core.validation import parse_id
from app.core.web import db, on_refusal, render
from app.domain.elections import elections
from app.domain.elections.stations import structure
from app.domain.labels import PERSON_STATUS, STATION_KIND
from app.domain.ops.access import local_today
from app.domain.registers import imports, people, premises
from app.domain.registers.identity import format_phone, mask_national_id
from app.domain.registers.import_templates import template_header, template_row
from app.domain.registers.protection import NAME_PERMISSION, postal_address, shown_name
from app.planning.people import default_country
from app.planning.staged_files import back_to_upload, errors_at_file, uploaded_file

#: The files a register is exported to.
EXPORT_FORMATS = ("csv", "xlsx")

routes = Routes()


async def _download(
    name: str, format: str, header: list[str], rows: Callable[[], Sequence[Sequence[Any]]]
) -> Response:
    """The file of ``rows()``, made in a worker thread: a city's register takes seconds
    to build, and the process answers others meanwhile."""
    if format not in EXPORT_FORMATS:
        abort(404)
    body = await in_worker_thread(_file, name, format, header, rows)
    return attachment(body, format, f"{name}-{(await local_today(db())).isoformat()}")


def _file(
    name: str, format: str, header: list[str], rows: Callable[[], Sequence[Sequence[Any]]]
) -> bytes:
    if format == "csv":
        return write_csv(header, rows())
    return write_xlsx(name, header, rows())


def _name_cells(person: Any, may_see: bool) -> tuple[str, str]:
    """A protected person's name only for the office (``registers.protection``)."""
    if person.address_protected and not may_see:
        return shown_name(person, may_see), ""
    return person.first_name, person.last_name


def _address_cells(person: Any) -> tuple[str, str, str]:
    """A protected address (skyddad identitet) never leaves the register; an empty
    cell leaves the register's value as it is on import again."""
    address = postal_address(person)
    return (address.street_address, address.postal_code, address.city) if address else ("", "", "")


@routes.get("/people/export.<format>")
@requires("registers.view")
async def export_people(format: str) -> Response:
    found = await people.people_for_export(
        db(),
        request.args.get("q", ""),
        request.args.get("status") or None,
        request.args.get("tag") or None,
    )
    header = [
        _("First name"),
        _("Last name"),
        _("Identity number"),
        _("Email"),
        _("Mobile"),
        _("Street address"),
        _("Postal code"),
        _("City"),
        _("Status"),
        _("Tags"),
    ]

    may_see = can(NAME_PERMISSION)

    def rows() -> list[list[Any]]:
        # The people's columns are loaded already: the rows are made in the worker thread.
        return [
            [
                *_name_cells(p, may_see),
                mask_national_id(p.national_id_country, p.national_id),
                p.email,
                format_phone(p.mobile),
                # A protected address (skyddad identitet) never leaves the register;
                # an empty cell leaves the register's value as it is on import again.
                *_address_cells(p),
                str(PERSON_STATUS[p.status]),
                ", ".join(p.tags),
            ]
            for p in found
        ]

    return await _download("people", format, header, rows)


@routes.get("/premises/export.<format>")
@requires("registers.view")
async def export_rooms(format: str) -> Response:
    header = [
        _("Building"),
        _("Street address"),
        _("Postal code"),
        _("City"),
        _("Room"),
        _("Capacity"),
        _("Tables"),
        _("Voting booths"),
    ]
    rows = [
        [b.name, b.street_address, b.postal_code, b.city, r.name, r.capacity, r.tables, r.booths]
        for b in await premises.list_buildings(db())
        for r in b.rooms
    ]
    return await _download("rooms", format, header, lambda: rows)


@routes.get("/elections/<int:election_id>/export.<format>")
@requires("registers.view")
async def export_structure(election_id: int, format: str) -> Response:
    election, stations = await structure(db(), election_id)
    header = [
        _("District code"),
        _("District"),
        _("Eligible voters"),
        _("Station"),
        _("Kind"),
        _("Building"),
        _("Room"),
        _("Shifts"),
    ]
    rows = [
        [
            s.district.code if s.district else "",
            s.district.name if s.district else "",
            s.district.eligible_voters if s.district else "",
            s.name,
            str(STATION_KIND[s.kind]),
            s.room.building.name if s.room else "",
            s.room.name if s.room else "",
            len(s.shifts),
        ]
        for s in stations
    ]
    return await _download(f"election-{election.id}", format, header, lambda: rows)


@routes.get("/import/template-<kind>.<format>")
@requires("registers.edit")
async def import_template(kind: str, format: str) -> Response:
    """An empty file of the kind, its columns named in the page's language, with one
    example row."""
    if kind not in imports.KINDS:
        abort(404)
    header, example = template_header(kind), template_row(kind)
    return await _download(f"import-{kind}", format, header, lambda: [example])


@routes.route("/import", methods=["GET", "POST"])
@requires("registers.edit")
async def import_upload() -> str | WerkzeugResponse | tuple[str, int]:
    election_rows = await elections.list_elections(db())
    values: dict[str, Any] = {
        "kind": request.args.get("kind", "people"),
        "election_id": request.args.get("election_id", ""),
    }

    async def upload_page(errors: dict[str, str]) -> str:
        return await render(
            "planning/imports/upload.html",
            values=values,
            errors=errors,
            election_rows=election_rows,
            columns={kind: ", ".join(template_header(kind)) for kind in imports.KINDS},
        )

    async def refused(error: DomainError) -> tuple[str, int]:
        return await upload_page(_upload_errors(error)), 422

    if request.method == "POST":
        form = await request.form
        values = form.to_dict()
        election_id = parse_id(values.get("election_id"))
        on_refusal(refused, not_found=True)
        filename, content = await uploaded_file()
        preview = await imports.stage_import(
            db(),
            current_actor(),
            values.get("kind", ""),
            filename,
            content,
            election_id,
            default_country(),
        )
        return redirect(url_for("planning.import_preview", batch_id=preview.batch.id))
    return await upload_page({})


def _upload_errors(error: DomainError) -> dict[str, str]:
    """A refused file's messages at their fields: the whole file's, or the election's."""
    if isinstance(error, NotFound):
        return {"election_id": _("Choose the election.")}
    return errors_at_file(error)


@routes.route("/import/<int:batch_id>", methods=["GET", "POST"])
@requires("registers.edit")
async def import_preview(batch_id: int) -> str | WerkzeugResponse | tuple[str, int]:

    # (Another municipality's batch stays the 404 page, not a message.)
    on_refusal(back_to_upload(url_for("planning.import_upload")))
    if request.method == "POST":
        preview = await imports.commit_import(db(), current_actor(), batch_id, default_country())
        if preview.ok:
            await flash(
                _("The import is done: %(summary)s.", summary=_summary(preview.summary)),
                "success",
            )
            target = (
                url_for("planning.election_detail", election_id=preview.batch.election_id)
                if preview.batch.kind == "structure"
                else url_for(
                    "planning.people_list"
                    if preview.batch.kind == "people"
                    else "planning.premises_list"
                )
            )
            return redirect(target)
    else:
        preview = await imports.preview_batch(db(), batch_id, default_country())
    status = 200 if preview.ok else 422 if request.method == "POST" else 200
    page = await render(
        "planning/imports/preview.html",
        preview=preview,
        summary=_summary(preview.summary),
        column_names=_column_names(),
    )
    return page, status


def _column_names() -> dict[str, str]:
    """What the problem table calls each column: the name people see in the register."""
    return {
        "first_name": _("First name"),
        "last_name": _("Last name"),
        "national_id": _("Identity number"),
        "national_id_country": _("Issued by"),
        "email": _("Email"),
        "mobile": _("Mobile"),
        "street_address": _("Street address"),
        "postal_code": _("Postal code"),
        "city": _("City"),
        "preferred_language": _("Preferred language"),
        "spoken_languages": _("Speaks"),
        "tags": _("Tags"),
        "notes": _("Notes"),
        "status": _("Status"),
        "building": _("Building"),
        "room": _("Room"),
        "name": _("Name"),
        "capacity": _("Capacity"),
        "tables": _("Tables"),
        "booths": _("Voting booths"),
        "latitude": _("Latitude"),
        "longitude": _("Longitude"),
        "district_code": _("District code"),
        "district_name": _("District"),
        "eligible_voters": _("Eligible voters"),
        "station_name": _("Station"),
        "station_kind": _("Kind"),
    }


def _summary(summary: dict[str, int]) -> str:
    """What an import writes, in words: "3 new people, 2 changed, 5 unchanged"."""
    words = {
        "people": lambda n: ngettext("%(num)s new person", "%(num)s new people", n),
        "changed": lambda n: ngettext("%(num)s changed", "%(num)s changed", n),
        "unchanged": lambda n: ngettext("%(num)s unchanged", "%(num)s unchanged", n),
        "buildings": lambda n: ngettext("%(num)s building", "%(num)s buildings", n),
        "rooms": lambda n: ngettext("%(num)s room", "%(num)s rooms", n),
        "districts": lambda n: ngettext("%(num)s district", "%(num)s districts", n),
        "stations": lambda n: ngettext("%(num)s station", "%(num)s stations", n),
    }
    # A count of nothing is left out, unless nothing is all there is.
    shown = {key: count for key, count in summary.items() if count} or summary
    return ", ".join(
        words[key](count) if key in words else f"{count} {key}" for key, count in shown.items()
    )
