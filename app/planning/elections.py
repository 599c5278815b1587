"""Elections and their structure: the tree, districts, stations, hours, shifts, norms,
templates and rollover."""

from __future__ import annotations

import datetime as dt
from typing import Any

from quart import abort, flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import can, current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _, ngettext
from app.core.models import utcnow
from app.core.paging import page_number
from app.core.routes import Routes
from app.core.validation import parse_id, parse_ids
from app.core.web import db, is_htmx, on_refusal, render
from app.domain.elections import elections, norm_templates, rollover
from app.domain.elections.districts import (
    count_districts,
    delete_district,
    districts_of,
    get_district,
    save_district,
)
from app.domain.elections.norms import set_norms
from app.domain.elections.opening_hours import delete_opening, set_opening
from app.domain.elections.shifts import delete_shift, save_shift
from app.domain.elections.stations import (
    delete_station,
    get_station,
    save_station,
    station_ids_of_kind,
    station_page,
)
from app.domain.elections.voting_days import voting_days
from app.domain.labels import (
    ELECTION_KIND,
    ELECTION_STATUS,
    REMINDER_OCCASION,
    STATION_KIND,
    choices,
)
from app.domain.local_names import name_languages
from app.domain.registers.premises import room_choices
from app.domain.registers.roles import list_role_types
from app.domain.reminders.overview import reminder_overview
from app.domain.staffing.shift_changes import edit_shift

routes = Routes()

ELECTION_FIELDS = ("name", "kind", "election_day", "advance_start", "advance_end", "status")


def _labels() -> dict[str, Any]:
    return {
        "kind_choices": choices(ELECTION_KIND),
        "status_choices": choices(ELECTION_STATUS),
        "station_kind_choices": choices(STATION_KIND),
        "kind_labels": ELECTION_KIND,
        "status_labels": ELECTION_STATUS,
        "station_kind_labels": STATION_KIND,
    }


@routes.get("/elections/")
@requires("registers.view")
async def elections_list() -> str:
    rows = await elections.list_elections(db())
    return await render("planning/elections/list.html", rows=rows, **_labels())


@routes.route("/elections/new", methods=["GET", "POST"])
@requires("registers.edit")
async def election_new() -> str | WerkzeugResponse:
    return await _election_form(None)


@routes.route("/elections/<int:election_id>/edit", methods=["GET", "POST"])
@requires("registers.edit")
async def election_edit(election_id: int) -> str | WerkzeugResponse:
    return await _election_form(election_id)


async def _election_form(election_id: int | None) -> str | WerkzeugResponse:
    election = await elections.get_election(db(), election_id) if election_id is not None else None
    values: dict[str, Any] = {"kind": "parliament", "status": "planning"}
    if election is not None:
        values = {key: getattr(election, key) for key in ELECTION_FIELDS}

    async def form_page(errors: dict[str, str]) -> str:
        return await render(
            "planning/elections/form.html",
            election=election,
            values=values,
            errors=errors,
            **_labels(),
        )

    if request.method == "POST":
        values = (await request.form).to_dict()
        on_refusal(lambda error: form_page(error.errors))
        saved = await elections.save_election(db(), current_actor(), values, election_id)
        await flash(_("The election has been saved."), "success")
        return redirect(url_for("planning.election_detail", election_id=saved.id))
    return await form_page({})


async def _tree(election_id: int, status: int = 200, **context: Any) -> tuple[str, int]:
    election = await elections.get_election(db(), election_id)
    stations = await station_page(
        db(),
        election.id,
        query=request.args.get("q", ""),
        kind=request.args.get("kind") or None,
        page=page_number(request.args.get("page")),
    )
    context.setdefault("errors", {})
    context.setdefault("values", {})
    page = await render(
        "planning/elections/detail.html",
        block="stations",
        election=election,
        stations=stations,
        district_count=await count_districts(db(), election.id),
        templates=await norm_templates.list_templates(db()),
        days=voting_days(election),
        # What the reminders will send next and have sent (``app.planning.reminders``).
        reminders=await reminder_overview(db(), election.id, utcnow())
        if can("staffing.view") and not is_htmx()
        else None,
        occasion_labels=REMINDER_OCCASION,
        zone=g.tenant.timezone,
        **_labels(),
        **name_languages(g.tenant.locale),
        **context,
    )
    return page, status


@routes.get("/elections/<int:election_id>/")
@requires("registers.view")
async def election_detail(election_id: int) -> tuple[str, int]:
    return await _tree(election_id)


@routes.post("/elections/<int:election_id>/districts")
@requires("registers.edit")
async def district_new(election_id: int) -> WerkzeugResponse | tuple[str, int]:
    values = (await request.form).to_dict()
    on_refusal(
        lambda error: _tree(
            election_id, 422, errors={"district": error.errors}, values={"district": values}
        )
    )
    await save_district(db(), current_actor(), election_id, values)
    await flash(_("The district has been added."), "success")
    return redirect(url_for("planning.election_detail", election_id=election_id))


async def _station_form(
    election_id: int, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> tuple[str, int]:
    """A page of its own: its district and room lists are long in a big municipality."""
    election = await elections.get_election(db(), election_id)
    districts = await districts_of(db(), election.id)
    page = await render(
        "planning/elections/station_new.html",
        election=election,
        e=errors,
        v=values,
        district_choices=[(d.id, f"{d.code} {d.name}") for d in districts],
        rooms=await room_choices(db()),
        **_labels(),
    )
    return page, status


@routes.get("/elections/<int:election_id>/stations/new")
@requires("registers.edit")
async def station_new_form(election_id: int) -> tuple[str, int]:
    return await _station_form(election_id, {"kind": request.args.get("kind", "polling")}, {})


@routes.post("/elections/<int:election_id>/stations")
@requires("registers.edit")
async def station_new(election_id: int) -> WerkzeugResponse | tuple[str, int]:
    values = (await request.form).to_dict()
    on_refusal(lambda error: _station_form(election_id, values, error.errors, 422))
    station = await save_station(db(), current_actor(), election_id, values)
    await flash(_("The station has been added."), "success")
    return redirect(
        url_for("planning.station_detail", election_id=election_id, station_id=station.id)
    )


@routes.post("/elections/<int:election_id>/templates/apply")
@requires("registers.edit")
async def template_apply(election_id: int) -> WerkzeugResponse | tuple[str, int]:
    form = await request.form
    values = form.to_dict()
    template_id = parse_id(form.get("template_id"))
    try:
        day = dt.date.fromisoformat(form.get("day", ""))
        if template_id is None:
            raise ValueError("no template")
    except ValueError:
        return await _tree(
            election_id,
            422,
            errors={"template": {"template_id": _("Choose a template and a day.")}},
        )
    station_ids = parse_ids(form.getlist("station_ids"))
    on_refusal(
        lambda error: _tree(
            election_id, 422, errors={"template": error.errors}, values={"template": values}
        )
    )
    if form.get("all_of_kind") == "1":
        template = await norm_templates.get_template(db(), template_id)
        station_ids = await station_ids_of_kind(db(), election_id, template.station_kind)
    count = await norm_templates.apply_template(
        db(), current_actor(), election_id, template_id, station_ids, day
    )
    await flash(
        ngettext(
            "%(num)s shift has been created or updated.",
            "%(num)s shifts have been created or updated.",
            count,
        ),
        "success",
    )
    return redirect(url_for("planning.election_detail", election_id=election_id))


# --- one station --------------------------------------------------------------------------


async def _station_page(
    election_id: int, station_id: int, status: int = 200, **context: Any
) -> tuple[str, int]:
    election = await elections.get_election(db(), election_id)
    station = await get_station(db(), station_id, election.id)
    context.setdefault("errors", {})
    context.setdefault("values", {})
    page = await render(
        "planning/elections/station.html",
        election=election,
        station=station,
        district_choices=[
            (d.id, f"{d.code} {d.name}") for d in await districts_of(db(), election.id)
        ],
        rooms=await room_choices(db()),
        role_types=await list_role_types(db()),
        days=voting_days(election),
        # What the reminders will send next and have sent (``app.planning.reminders``).
        reminders=await reminder_overview(db(), election.id, utcnow())
        if can("staffing.view") and not is_htmx()
        else None,
        occasion_labels=REMINDER_OCCASION,
        zone=g.tenant.timezone,
        **_labels(),
        **name_languages(g.tenant.locale),
        **context,
    )
    return page, status


@routes.get("/elections/<int:election_id>/stations/<int:station_id>")
@requires("registers.view")
async def station_detail(election_id: int, station_id: int) -> tuple[str, int]:
    return await _station_page(election_id, station_id)


async def _station_action(
    election_id: int, station_id: int, form_name: str, action: Any, message: str
) -> WerkzeugResponse | tuple[str, int]:
    values = (await request.form).to_dict()
    on_refusal(
        lambda error: _station_page(
            election_id,
            station_id,
            422,
            errors={form_name: error.errors},
            values={form_name: values},
        )
    )
    await action(values)
    await flash(message, "success")
    return redirect(
        url_for("planning.station_detail", election_id=election_id, station_id=station_id)
    )


@routes.post("/elections/<int:election_id>/stations/<int:station_id>")
@requires("registers.edit")
async def station_edit(election_id: int, station_id: int) -> WerkzeugResponse | tuple[str, int]:
    async def action(values: dict[str, Any]) -> None:
        await save_station(db(), current_actor(), election_id, values, station_id)

    return await _station_action(
        election_id, station_id, "station", action, _("The station has been saved.")
    )


@routes.post("/elections/<int:election_id>/stations/<int:station_id>/openings")
@requires("registers.edit")
async def opening_set(election_id: int, station_id: int) -> WerkzeugResponse | tuple[str, int]:
    async def action(values: dict[str, Any]) -> None:
        await set_opening(db(), current_actor(), election_id, station_id, values)

    return await _station_action(
        election_id, station_id, "opening", action, _("The opening hours have been saved.")
    )


@routes.post("/elections/<int:election_id>/stations/<int:station_id>/shifts")
@requires("registers.edit")
async def shift_new(election_id: int, station_id: int) -> WerkzeugResponse | tuple[str, int]:
    async def action(values: dict[str, Any]) -> None:
        await save_shift(db(), current_actor(), election_id, station_id, values)

    return await _station_action(
        election_id, station_id, "shift", action, _("The shift has been added.")
    )


@routes.post("/elections/<int:election_id>/stations/<int:station_id>/shifts/<int:shift_id>")
@requires("registers.edit")
async def shift_edit(
    election_id: int, station_id: int, shift_id: int
) -> WerkzeugResponse | tuple[str, int]:
    """Change a shift's name, day or times; the people on it stay and are told."""

    async def action(values: dict[str, Any]) -> None:
        await edit_shift(db(), current_actor(), election_id, station_id, shift_id, values)

    return await _station_action(
        election_id, station_id, f"shift-{shift_id}", action, _("The shift has been changed.")
    )


@routes.post("/elections/<int:election_id>/stations/<int:station_id>/shifts/<int:shift_id>/norms")
@requires("registers.edit")
async def norms_set(
    election_id: int, station_id: int, shift_id: int
) -> WerkzeugResponse | tuple[str, int]:
    async def action(values: dict[str, Any]) -> None:
        await set_norms(db(), current_actor(), election_id, station_id, shift_id, values)

    return await _station_action(
        election_id,
        station_id,
        f"norms-{shift_id}",
        action,
        _("The staffing norms have been saved."),
    )


@routes.post("/elections/<int:election_id>/stations/<int:station_id>/shifts/<int:shift_id>/delete")
@requires("registers.edit")
async def shift_delete(election_id: int, station_id: int, shift_id: int) -> WerkzeugResponse:
    await delete_shift(db(), current_actor(), election_id, station_id, shift_id)
    await flash(_("The shift has been removed."), "success")
    return redirect(
        url_for("planning.station_detail", election_id=election_id, station_id=station_id)
    )


@routes.post("/elections/<int:election_id>/stations/<int:station_id>/openings/delete")
@requires("registers.edit")
async def opening_delete(election_id: int, station_id: int) -> WerkzeugResponse:
    try:
        day = dt.date.fromisoformat((await request.form).get("day", ""))
    except ValueError:
        abort(404)
    # An opening that is not there (NotFound) is the face's 404 page, as a bad day is.
    await delete_opening(db(), current_actor(), election_id, station_id, day)
    await flash(_("The opening hours have been removed."), "success")
    return redirect(
        url_for("planning.station_detail", election_id=election_id, station_id=station_id)
    )


@routes.post("/elections/<int:election_id>/stations/<int:station_id>/delete")
@requires("registers.edit")
async def station_delete(election_id: int, station_id: int) -> WerkzeugResponse:
    await delete_station(db(), current_actor(), election_id, station_id)
    await flash(_("The station has been removed."), "success")
    return redirect(url_for("planning.election_detail", election_id=election_id))


@routes.post("/elections/<int:election_id>/districts/<int:district_id>/delete")
@requires("registers.edit")
async def district_delete(election_id: int, district_id: int) -> WerkzeugResponse:

    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(url_for("planning.election_detail", election_id=election_id))

    on_refusal(refused)
    await delete_district(db(), current_actor(), election_id, district_id)
    await flash(_("The district has been removed."), "success")
    return redirect(url_for("planning.election_detail", election_id=election_id))


@routes.route("/elections/<int:election_id>/districts/<int:district_id>", methods=["GET", "POST"])
@requires("registers.edit")
async def district_edit(
    election_id: int, district_id: int
) -> str | WerkzeugResponse | tuple[str, int]:
    district = await get_district(db(), district_id, election_id)
    values: dict[str, Any] = {
        "code": district.code,
        "name": district.name,
        "eligible_voters": district.eligible_voters,
    }

    async def form_page(errors: dict[str, str]) -> tuple[str, int]:
        page = await render(
            "planning/elections/district.html",
            district=district,
            election_id=election_id,
            values=values,
            errors=errors,
        )
        return page, 422 if errors else 200

    if request.method == "POST":
        values = (await request.form).to_dict()
        on_refusal(lambda error: form_page(error.errors))
        await save_district(db(), current_actor(), election_id, values, district_id)
        await flash(_("The district has been saved."), "success")
        return redirect(url_for("planning.election_detail", election_id=election_id))
    return await form_page({})


# --- rollover -----------------------------------------------------------------------------


@routes.route("/elections/<int:election_id>/rollover", methods=["GET", "POST"])
@requires("registers.edit")
async def election_rollover(election_id: int) -> str | WerkzeugResponse:
    source = await elections.get_election(db(), election_id)
    values: dict[str, Any] = {"kind": source.kind, "status": "planning"}
    preview = None

    async def page(errors: dict[str, str]) -> str:
        return await render(
            "planning/elections/rollover.html",
            source=source,
            values=values,
            errors=errors,
            preview=preview,
            **_labels(),
        )

    if request.method == "POST":
        form = await request.form
        values = form.to_dict()
        on_refusal(lambda error: page(error.errors))
        if form.get("confirm") == "1":
            created = await rollover.roll_over(db(), current_actor(), election_id, values)
            await flash(
                _(
                    "%(name)s has been created from %(source)s.",
                    name=created.name,
                    source=source.name,
                ),
                "success",
            )
            return redirect(url_for("planning.election_detail", election_id=created.id))
        preview = await rollover.preview_rollover(db(), election_id, values)
    return await page({})
