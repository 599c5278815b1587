"""Coordinators' messages to the stations' phones on election day: the form (one
station, a district, or all stations of the election) and the messages sent, with how
many stations have read each."""

from __future__ import annotations

from typing import Any

from quart import flash, redirect, request, url_for
from sqlalchemy import select

from app.core.auth import current_actor, requires
from app.core.i18n import _, lazy_gettext
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.elections.elections import get_election
from app.domain.models import Station
from app.domain.ops.station_messages import send_station_message, sent_messages
from app.domain.staffing.board import district_choices

routes = Routes()

SCOPE_CHOICES = (
    ("station", lazy_gettext("One station")),
    ("district", lazy_gettext("The stations of a district")),
    ("all", lazy_gettext("All stations of the election")),
)


async def _page(
    election_id: int, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> tuple[str, int]:
    election = await get_election(db(), election_id)
    stations = await db().scalars(
        select(Station).where(Station.election_id == election_id).order_by(Station.name)
    )
    page = await render(
        "planning/ops/messages.html",
        election=election,
        values=values,
        errors=errors,
        scope_choices=SCOPE_CHOICES,
        station_choices=[(str(s.id), s.name) for s in stations],
        district_choices=[
            (str(d.id), f"{d.code} {d.name}") for d in await district_choices(db(), election_id)
        ],
        sent=await sent_messages(db(), election_id),
    )
    return page, status


@routes.get("/elections/<int:election_id>/live/messages")
@requires("ops.view")
async def ops_messages(election_id: int) -> tuple[str, int]:
    return await _page(election_id, {"scope": "station"}, {})


@routes.post("/elections/<int:election_id>/live/messages")
@requires("ops.view")
async def ops_message_send(election_id: int) -> Any:
    form = await request.form
    values = {key: form.get(key, "") for key in ("scope", "station_id", "district_id", "text")}
    target = values["district_id"] if values["scope"] == "district" else values["station_id"]

    async def refused(error: Any) -> tuple[str, int]:
        errors = dict(getattr(error, "errors", None) or {error.field: error.message})
        # The target's error belongs to the field chosen by the scope.
        if "target_id" in errors:
            field = "district_id" if values["scope"] == "district" else "station_id"
            errors[field] = errors.pop("target_id")
        return await _page(election_id, values, errors, 422)

    on_refusal(refused)
    message = await send_station_message(
        db(),
        current_actor(),
        election_id,
        scope=values["scope"],
        target_id="" if values["scope"] == "all" else target,
        text=values["text"],
    )
    await flash(_("The message is sent to the stations' phones."), "success")
    return redirect(
        url_for("planning.ops_messages", election_id=election_id, _anchor=f"message-{message.id}")
    )
