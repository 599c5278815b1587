"""Buildings and rooms."""

from __future__ import annotations

from quart import abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _, get_locale
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.registers import premises

routes = Routes()

BUILDING_FIELDS = (
    "name", "street_address", "postal_code", "city", "latitude", "longitude", "step_free_access",
    "accessible_toilet", "parking", "contact_name", "contact_phone", "access_notes",
)  # fmt: skip
ROOM_FIELDS = ("name", "capacity", "has_power", "has_network", "tables", "booths", "notes")


@routes.get("/premises/")
@requires("registers.view")
async def premises_list() -> str:
    buildings = await premises.list_buildings(db(), request.args.get("q", ""), get_locale())
    return await render("planning/premises/list.html", block="results", buildings=buildings)


@routes.route("/premises/new", methods=["GET", "POST"])
@requires("registers.edit")
async def building_new() -> str | WerkzeugResponse:
    return await _building_form(None)


@routes.route("/premises/<int:building_id>/edit", methods=["GET", "POST"])
@requires("registers.edit")
async def building_edit(building_id: int) -> str | WerkzeugResponse:
    return await _building_form(building_id)


async def _building_form(building_id: int | None) -> str | WerkzeugResponse:
    building = None
    values: dict[str, object] = {}
    if building_id is not None:
        building = await premises.get_building(db(), building_id)
        values = {key: getattr(building, key) for key in BUILDING_FIELDS}

    async def form_page(errors: dict[str, str]) -> str:
        return await render(
            "planning/premises/building_form.html", building=building, values=values, errors=errors
        )

    if request.method == "POST":
        values = (await request.form).to_dict()
        on_refusal(lambda error: form_page(error.errors))
        saved = await premises.save_building(db(), current_actor(), values, building_id)
        await flash(_("The building has been saved."), "success")
        return redirect(url_for("planning.building_detail", building_id=saved.id))
    return await form_page({})


@routes.get("/premises/<int:building_id>")
@requires("registers.view")
async def building_detail(building_id: int) -> str:
    building = await premises.get_building(db(), building_id)
    return await render(
        "planning/premises/building.html", building=building, values={"has_power": True}, errors={}
    )


@routes.post("/premises/<int:building_id>/rooms")
@requires("registers.edit")
async def room_new(building_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    values = (await request.form).to_dict()

    async def refused(error: DomainError) -> tuple[str, int]:
        building = await premises.get_building(db(), building_id)
        page = await render(
            "planning/premises/building.html", building=building, values=values, errors=error.errors
        )
        return page, 422

    on_refusal(refused)
    await premises.save_room(db(), current_actor(), building_id, values)
    await flash(_("The room has been added."), "success")
    return redirect(url_for("planning.building_detail", building_id=building_id))


@routes.route("/premises/<int:building_id>/rooms/<int:room_id>", methods=["GET", "POST"])
@requires("registers.edit")
async def room_edit(building_id: int, room_id: int) -> str | WerkzeugResponse:
    room = await premises.get_room(db(), room_id)
    if room.building_id != building_id:
        abort(404)
    values: dict[str, object] = {key: getattr(room, key) for key in ROOM_FIELDS}

    async def form_page(errors: dict[str, str]) -> str:
        return await render(
            "planning/premises/room_form.html", room=room, values=values, errors=errors
        )

    if request.method == "POST":
        values = (await request.form).to_dict()
        on_refusal(lambda error: form_page(error.errors))
        await premises.save_room(db(), current_actor(), building_id, values, room_id)
        await flash(_("The room has been saved."), "success")
        return redirect(url_for("planning.building_detail", building_id=building_id))
    return await form_page({})
