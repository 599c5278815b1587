"""A station's delivery on its chair's phone: opened from the QR code on a crate (the
delivery's random code), the lines as packed, each count confirmed or corrected, then
"Confirm the delivery". Anyone else of the municipality who is not its lead, a
coordinator or logistics gets 404, like for a code that does not exist."""

from __future__ import annotations

from typing import Any

from quart import flash, redirect, request, url_for

from app.core.auth import current_actor, requires
from app.core.error_pages import render_error
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.routes import Routes
from app.core.validation import FieldErrors
from app.core.web import db, on_refusal, render
from app.domain.materials import deliveries, packing
from app.domain.materials.labels import DELIVERY_LABELS
from app.domain.models import MaterialDelivery, Station
from app.domain.ops.access import get_station, leads_station

routes = Routes()


async def _page(
    delivery: MaterialDelivery,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
) -> tuple[str, int]:
    station: Station = await get_station(db(), delivery.station_id)
    lines = await packing.delivery_lines(db(), delivery.id)
    page = await render(
        "portal/delivery.html",
        delivery=delivery,
        station=station,
        lines=lines,
        values=values or {f"line-{line.line.id}": str(line.line.packed) for line in lines},
        errors=errors or {},
        message=message,
        may_confirm=await leads_station(db(), current_actor(), station.id),
        delivery_labels=DELIVERY_LABELS,
    )
    return page, status


async def _forbidden(error: DomainError) -> Any:
    """A clerk of the team who is not its lead: the station is theirs, the delivery not."""
    return await render_error(error.status)


@routes.get("/deliveries/<code>")
@requires("portal.use")
async def delivery(code: str) -> Any:
    on_refusal(_forbidden)
    found = await deliveries.delivery_by_code(db(), current_actor(), code)
    return await _page(found)


@routes.post("/deliveries/<code>")
@requires("portal.use")
async def delivery_confirm(code: str) -> Any:
    # Not found before anything of the form is read.
    on_refusal(_forbidden)
    await deliveries.delivery_by_code(db(), current_actor(), code)
    form = await request.form
    values = {key: str(value) for key, value in form.items() if key != "csrf_token"}

    async def refused(error: DomainError) -> tuple[str, int]:
        again = await deliveries.delivery_by_code(db(), current_actor(), code)
        if isinstance(error, FieldErrors):
            return await _page(again, values, error.errors, status=422)
        return await _page(again, values, {}, error.message, error.status)

    on_refusal(refused)
    counts = {key: value for key, value in values.items() if key.startswith("line-")}
    await deliveries.confirm_delivery(
        db(), current_actor(), code, counts=counts, note=values.get("note", "")
    )
    await flash(_("The delivery is confirmed. Thank you!"), "success")
    return redirect(url_for("portal.election_day"))
