"""The depot's pages for an election: packing (deliveries planned from the needs, packed
per station, packing lists with crate labels), drivers' runs by district with their
lists, counting back after the election with what is still out, and the election-day
shortages the stations report (marked sent and delivered).

Read with ``materials.view`` (the logistics role has it, as every back-office role);
every change needs ``materials.edit`` (the services check again).
"""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Response, flash, g, redirect, request, url_for

from app.core.auth import current_actor, requires
from app.core.downloads import attachment, slug
from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.routes import Routes
from app.core.validation import FieldErrors
from app.core.web import app_settings, db, on_refusal, render
from app.domain.elections.elections import get_election
from app.domain.materials import deliveries, packing, shortages
from app.domain.materials.labels import DELIVERY_LABELS, SHORTAGE_LABELS
from app.domain.models import Election, MaterialDelivery
from app.domain.ops.dashboard import election_in_focus
from app.planning.material_documents import (
    DriverStop,
    PackingLine,
    PackingList,
    driver_list_pdf,
    packing_lists_pdf,
)
from app.planning.material_live import shortages_socket

routes = Routes()


def delivery_url(code: str) -> str:
    """The absolute address a crate's QR code opens (the delivery's random code)."""
    path = url_for("portal.delivery", code=code)
    return app_settings().base_url.rstrip("/") + path


async def _delivery_of(election: Election, delivery_id: int) -> MaterialDelivery:
    delivery = await packing.get_delivery(db(), delivery_id)
    if delivery.election_id != election.id:
        raise NotFound(_("Not found."))
    return delivery


# --- packing ---------------------------------------------------------------------------


@routes.get("/materials/packing")
@requires("materials.view")
async def material_packing_now() -> Any:
    """The menu's entry: packing and return of the election in focus."""
    election_id = await election_in_focus(db())
    if election_id is None:
        await flash(_("There is no election yet."), "error")
        return redirect(url_for("planning.home"))
    return redirect(url_for("planning.material_packing", election_id=election_id))


@routes.get("/materials/elections/<int:election_id>/packing")
@requires("materials.view")
async def material_packing(election_id: int) -> str:
    election = await get_election(db(), election_id)
    rows = await packing.deliveries_of_election(db(), election.id)
    counts = {state: sum(r.delivery.state == state for r in rows) for state in DELIVERY_LABELS}
    return await render(
        "planning/materials/packing.html",
        election=election,
        rows=rows,
        counts=counts,
        labels=DELIVERY_LABELS,
        missing=await deliveries.not_returned(db(), election.id),
    )


@routes.post("/materials/elections/<int:election_id>/packing/plan")
@requires("materials.edit")
async def material_packing_plan(election_id: int) -> Any:
    election = await get_election(db(), election_id)
    planned = await packing.plan_deliveries(db(), current_actor(), election.id)
    await flash(_("%(count)s deliveries planned from the needs.", count=planned), "success")
    return redirect(url_for("planning.material_packing", election_id=election.id))


async def _packing_lists(election: Election, rows: list[packing.DeliveryRow]) -> bytes:
    addresses = await packing.station_addresses(db(), election.id)
    items = []
    for row in rows:
        lines = await packing.delivery_lines(db(), row.delivery.id)
        items.append(
            PackingList(
                station=row.station.name,
                district=f"{row.district.code} {row.district.name}" if row.district else "",
                address=addresses.get(row.station.id, ""),
                driver=row.run.driver_name if row.run else "",
                crates=row.delivery.crates,
                url=delivery_url(row.delivery.code),
                lines=[
                    PackingLine(line.article, line.unit, line.line.packed, line.tag)
                    for line in lines
                ],
            )
        )
    return await asyncio.to_thread(packing_lists_pdf, g.tenant.name, election.name, items)


@routes.get("/materials/elections/<int:election_id>/packing/lists.pdf")
@requires("materials.view")
async def material_packing_lists(election_id: int) -> Response:
    """Every station's packing list with crate labels, as one PDF."""
    election = await get_election(db(), election_id)
    body = await _packing_lists(election, await packing.deliveries_of_election(db(), election.id))
    return attachment(body, "pdf", f"{slug(_('Packing lists'))}-{slug(election.name)}")


@routes.get("/materials/elections/<int:election_id>/deliveries/<int:delivery_id>/list.pdf")
@requires("materials.view")
async def material_packing_list(election_id: int, delivery_id: int) -> Response:
    election = await get_election(db(), election_id)
    delivery = await _delivery_of(election, delivery_id)
    rows = [
        row
        for row in await packing.deliveries_of_election(db(), election.id)
        if row.delivery.id == delivery.id
    ]
    body = await _packing_lists(election, rows)
    return attachment(body, "pdf", f"{slug(_('Packing list'))}-{slug(rows[0].station.name)}")


async def _delivery_page(
    election: Election,
    delivery: MaterialDelivery,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
) -> tuple[str, int]:
    lines = await packing.delivery_lines(db(), delivery.id)
    (row,) = [
        r
        for r in await packing.deliveries_of_election(db(), election.id)
        if r.delivery.id == delivery.id
    ]
    if values is None:
        values = {"crates": str(delivery.crates)}
        for line in lines:
            values[f"line-{line.line.id}"] = str(line.line.packed)
            values[f"tag-{line.line.id}"] = line.tag
            values[f"returned-{line.line.id}"] = str(line.line.delivered or 0)
    page = await render(
        "planning/materials/delivery.html",
        election=election,
        delivery=delivery,
        row=row,
        lines=lines,
        values=values,
        errors=errors or {},
        message=message,
        labels=DELIVERY_LABELS,
    )
    return page, status


def _refused(election: Election, delivery_id: int, values: dict[str, str]) -> Any:
    async def answer(error: DomainError) -> tuple[str, int]:
        delivery = await _delivery_of(election, delivery_id)
        if isinstance(error, FieldErrors):
            return await _delivery_page(election, delivery, values, error.errors, status=422)
        return await _delivery_page(election, delivery, values, {}, error.message, error.status)

    return answer


@routes.get("/materials/elections/<int:election_id>/deliveries/<int:delivery_id>")
@requires("materials.view")
async def material_delivery(election_id: int, delivery_id: int) -> tuple[str, int]:
    election = await get_election(db(), election_id)
    return await _delivery_page(election, await _delivery_of(election, delivery_id))


async def _form_values() -> dict[str, str]:
    form = await request.form
    return {key: str(value) for key, value in form.items() if key != "csrf_token"}


@routes.post("/materials/elections/<int:election_id>/deliveries/<int:delivery_id>/pack")
@requires("materials.edit")
async def material_delivery_pack(election_id: int, delivery_id: int) -> Any:
    election = await get_election(db(), election_id)
    delivery = await _delivery_of(election, delivery_id)
    values = await _form_values()
    on_refusal(_refused(election, delivery.id, values))
    await packing.pack_delivery(
        db(),
        current_actor(),
        delivery.id,
        counts={k: v for k, v in values.items() if k.startswith("line-")},
        crates=values.get("crates", ""),
        tags={k: v for k, v in values.items() if k.startswith("tag-")},
    )
    await flash(_("Packed. Print the packing list and put a label on each crate."), "success")
    return redirect(
        url_for("planning.material_delivery", election_id=election.id, delivery_id=delivery_id)
    )


@routes.post("/materials/elections/<int:election_id>/deliveries/<int:delivery_id>/return")
@requires("materials.edit")
async def material_delivery_return(election_id: int, delivery_id: int) -> Any:
    election = await get_election(db(), election_id)
    delivery = await _delivery_of(election, delivery_id)
    values = await _form_values()
    on_refusal(_refused(election, delivery.id, values))
    await deliveries.count_return(
        db(),
        current_actor(),
        delivery.id,
        returned={k: v for k, v in values.items() if k.startswith("returned-")},
        damaged={k: v for k, v in values.items() if k.startswith("damaged-")},
    )
    await flash(_("Counted back."), "success")
    return redirect(
        url_for("planning.material_delivery", election_id=election.id, delivery_id=delivery_id)
    )


# --- runs ------------------------------------------------------------------------------


@routes.get("/materials/elections/<int:election_id>/runs")
@requires("materials.view")
async def material_runs(election_id: int) -> str:
    election = await get_election(db(), election_id)
    return await render(
        "planning/materials/runs.html",
        election=election,
        runs=await packing.runs_of_election(db(), election.id),
        labels=DELIVERY_LABELS,
        errors={},
        failed_run=None,
    )


@routes.post("/materials/elections/<int:election_id>/runs/plan")
@requires("materials.edit")
async def material_runs_plan(election_id: int) -> Any:
    election = await get_election(db(), election_id)
    count = await packing.plan_runs(db(), current_actor(), election.id)
    await flash(_("%(count)s deliveries put on runs by district.", count=count), "success")
    return redirect(url_for("planning.material_runs", election_id=election.id))


@routes.post("/materials/elections/<int:election_id>/runs/<int:run_id>")
@requires("materials.edit")
async def material_run_update(election_id: int, run_id: int) -> Any:
    election = await get_election(db(), election_id)
    runs = await packing.runs_of_election(db(), election.id)
    if run_id not in {shown.run.id for shown in runs}:
        raise NotFound(_("Not found."))
    values = await _form_values()

    async def refused(error: DomainError) -> tuple[str, int]:
        errors = getattr(error, "errors", None) or {error.field or "driver_name": error.message}
        page = await render(
            "planning/materials/runs.html",
            election=election,
            runs=await packing.runs_of_election(db(), election.id),
            labels=DELIVERY_LABELS,
            errors=errors,
            failed_run=run_id,
            given=values,
        )
        return page, 422

    on_refusal(refused)
    await packing.update_run(
        db(),
        current_actor(),
        run_id,
        driver_name=values.get("driver_name", ""),
        driver_phone=values.get("driver_phone", ""),
        day=values.get("day", ""),
    )
    await flash(_("The run is saved."), "success")
    return redirect(
        url_for("planning.material_runs", election_id=election.id, _anchor=f"run-{run_id}")
    )


@routes.get("/materials/elections/<int:election_id>/runs/<int:run_id>/driver.pdf")
@requires("materials.view")
async def material_driver_list(election_id: int, run_id: int) -> Response:
    election = await get_election(db(), election_id)
    found = [
        shown
        for shown in await packing.runs_of_election(db(), election.id)
        if shown.run.id == run_id
    ]
    if not found:
        raise NotFound(_("Not found."))
    shown = found[0]
    addresses = await packing.station_addresses(db(), election.id)
    district = (
        f"{shown.district.code} {shown.district.name}" if shown.district else _("No district")
    )
    driver = " · ".join(p for p in (shown.run.driver_name, shown.run.driver_phone) if p)
    stops = [
        DriverStop(row.station.name, addresses.get(row.station.id, ""), row.delivery.crates)
        for row in shown.deliveries
    ]
    day = shown.run.day.isoformat() if shown.run.day else ""
    body = await asyncio.to_thread(
        driver_list_pdf, g.tenant.name, election.name, district, driver, day, stops
    )
    return attachment(body, "pdf", f"{slug(_('Driver list'))}-{slug(district)}")


# --- shortages -------------------------------------------------------------------------


@routes.get("/materials/elections/<int:election_id>/shortages")
@requires("materials.view")
async def material_shortages(election_id: int) -> str:
    election = await get_election(db(), election_id)
    return await render(
        "planning/materials/shortages.html",
        block="shortage_list",
        election=election,
        shortages=list(reversed(await shortages.shortages(db(), election.id))),
        labels=SHORTAGE_LABELS,
        may_handle=await shortages.may_handle(db(), current_actor()),
        socket_url=await shortages_socket(election.id),
    )


@routes.post("/materials/elections/<int:election_id>/shortages/<int:shortage_id>")
@requires("materials.view")
async def material_shortage_move(election_id: int, shortage_id: int) -> Any:
    election = await get_election(db(), election_id)
    shortage = await shortages.get_shortage(db(), shortage_id)
    if shortage.election_id != election.id:
        raise NotFound(_("Not found."))
    form = await request.form
    state = str(form.get("state", ""))
    back = url_for(
        "planning.material_shortages", election_id=election.id, _anchor=f"shortage-{shortage_id}"
    )

    async def refused(error: DomainError) -> Any:
        await flash(error.message, "error")
        return redirect(back)

    on_refusal(refused)
    await shortages.move_shortage(db(), current_actor(), shortage.id, state)
    message = _("Marked as on its way.") if state == "sent" else _("Marked as delivered.")
    await flash(message, "success")
    return redirect(
        url_for(
            "planning.material_shortages",
            election_id=election.id,
            _anchor=f"shortage-{shortage_id}",
        )
    )
