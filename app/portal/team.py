"""Availability for coming elections, and the station lead's view of their team."""

from __future__ import annotations

from typing import Any

from quart import flash, redirect, request, url_for

from app.core.auth import current_actor, requires
from app.core.i18n import _
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.clerks import places as portal
from app.domain.labels import ASSIGNMENT_STATE, WORK_KIND
from app.portal.me import my_person

routes = Routes()


@routes.route("/availability", methods=["GET", "POST"])
@requires("portal.use")
async def availability() -> Any:
    person = await my_person()

    async def availability_page(errors: dict[str, str], status: int) -> tuple[str, int]:
        mine = await portal.my_availability(db(), person) if person else []
        page = await render(
            "portal/availability.html",
            person=person,
            mine=mine,
            errors=errors,
            work_kind_labels=WORK_KIND,
        )
        return page, status

    if person is not None and request.method == "POST":
        form = await request.form
        election_id = form.get("election_id", "")
        data = {
            "election_id": election_id,
            "work_kinds": form.getlist(f"kinds_{election_id}"),
            "days": form.getlist(f"days_{election_id}"),
            "district_ids": form.getlist(f"districts_{election_id}"),
        }
        on_refusal(lambda error: availability_page(error.errors, 422))
        await portal.update_my_availability(db(), person, data, current_actor())
        await flash(_("Saved. The election office sees it at once."), "success")
        return redirect(url_for("portal.availability"))
    return await availability_page({}, 200)


@routes.get("/team")
@requires("portal.use")
async def team() -> str:
    person = await my_person()
    led = await portal.stations_i_lead(db(), person) if person else []
    return await render("portal/team.html", led=led, state_labels=ASSIGNMENT_STATE)
