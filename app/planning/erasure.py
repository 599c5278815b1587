"""Erasing people: the queue of clerks' removal requests (approve or refuse with a
reason) and the office's own "erase" on a person's page, behind a page that says what
goes and what stays."""

from __future__ import annotations

from typing import Any

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.registers import erasure, removal_requests
from app.domain.registers.identity import mask_national_id

routes = Routes()


@routes.get("/people/removal-requests")
@requires("registers.edit")
async def removal_request_list() -> str:
    plans = await removal_requests.removal_requests(db())
    return await render("planning/people/removal_requests.html", plans=plans, mask=mask_national_id)


@routes.post("/people/<int:person_id>/removal/approve")
@requires("registers.edit")
async def removal_approve(person_id: int) -> WerkzeugResponse:
    """Erase the person who asked, now."""

    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(url_for("planning.removal_request_list"))

    on_refusal(refused)
    await removal_requests.approve_removal(db(), current_actor(), person_id)
    await flash(_("The person has been erased."), "success")
    return redirect(url_for("planning.removal_request_list"))


@routes.route("/people/<int:person_id>/removal/refuse", methods=["GET", "POST"])
@requires("registers.edit")
async def removal_refuse(person_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """Refuse a request; the reason is required and mailed to the clerk."""
    plan = await erasure.plan_erasure(db(), person_id)
    values: dict[str, Any] = {}

    async def form_page(errors: dict[str, str], status: int = 200) -> tuple[str, int]:
        page = await render(
            "planning/people/removal_refuse.html",
            plan=plan,
            person=plan.person,
            values=values,
            errors=errors,
        )
        return page, status

    if request.method != "POST":
        return await form_page({})
    values = (await request.form).to_dict()
    on_refusal(lambda error: form_page(error.errors, 422))
    await removal_requests.refuse_removal(db(), current_actor(), g.tenant, person_id, values)
    await flash(_("The request has been refused and the person told why."), "success")
    return redirect(url_for("planning.removal_request_list"))


@routes.route("/people/<int:person_id>/erase", methods=["GET", "POST"])
@requires("registers.edit")
async def person_erase(person_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """What erasing the person does, and the button that does it."""
    plan = await erasure.plan_erasure(db(), person_id)
    if request.method != "POST":
        return await render("planning/people/erase.html", plan=plan, person=plan.person)

    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(url_for("planning.person_erase", person_id=person_id))

    on_refusal(refused)
    await erasure.erase_person(db(), current_actor(), person_id, "office")
    await flash(_("The person has been erased."), "success")
    return redirect(url_for("planning.person_detail", person_id=person_id))
