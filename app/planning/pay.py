"""Pay of an election: the rules per role, each district's pay to review and approve,
each person's pay with adjustments and settled hours, and their pay statement."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Response, flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import can, current_actor, requires
from app.core.documents.tables import display
from app.core.downloads import attachment, slug
from app.core.errors import DomainError
from app.core.i18n import _, named
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.elections.elections import get_election
from app.domain.models import Election
from app.domain.pay import adjustments, approval, review, rules, statement
from app.domain.pay import places as pay_places
from app.domain.pay.labels import PAY_BASIS, PAY_CONFLICT, PAY_LINE_KIND
from app.domain.pay.payroll import get_layout, recent_exports
from app.domain.registers.roles import list_role_types

routes = Routes()

RULE_FIELDS = (
    "basis",
    "amount",
    "evening_rate",
    "weekend_rate",
    "evening_from",
    "prorate_early_leave",
    "day_supplement",
    "counting_supplement",
    "training_fee",
    "training_only_if_served",
    "travel_allowance",
)


def _labels() -> dict[str, Any]:
    return {
        "basis_labels": PAY_BASIS,
        "kind_labels": PAY_LINE_KIND,
        "conflict_labels": PAY_CONFLICT,
        "advance_key": review.ADVANCE,
    }


@routes.get("/elections/<int:election_id>/pay/")
@requires("pay.edit")
async def pay_overview(election_id: int) -> str:
    """The election's pay rules and each district's pay, approval and conflicts."""
    election = await get_election(db(), election_id)
    roles = await list_role_types(db())
    return await render(
        "planning/pay/overview.html",
        election=election,
        roles=roles,
        rules=await rules.rules_by_role(db(), election.id),
        rows=await review.overview(db(), election.id),
        layout=await get_layout(db()),
        exports=await recent_exports(db(), election.id) if can("pay.export") else [],
        **_labels(),
    )


@routes.route("/elections/<int:election_id>/pay/rules/<int:role_type_id>", methods=["GET", "POST"])
@requires("pay.edit")
async def pay_rule_edit(
    election_id: int, role_type_id: int
) -> str | WerkzeugResponse | tuple[str, int]:
    election = await get_election(db(), election_id)
    role, rule = await rules.rule_of_role(db(), election.id, role_type_id)
    values: dict[str, Any] = {name: getattr(rule, name) for name in RULE_FIELDS}
    values["evening_from"] = f"{rule.evening_from:%H:%M}"

    async def form_page(errors: dict[str, str], status: int = 200) -> tuple[str, int]:
        page = await render(
            "planning/pay/rule.html",
            election=election,
            role=role,
            role_name=named(role),
            values=values,
            errors=errors,
            stored=rule.id is not None,
            **_labels(),
        )
        return page, status

    if request.method == "POST":
        values = (await request.form).to_dict()
        on_refusal(lambda error: form_page(error.errors, 422))
        await rules.save_pay_rule(db(), current_actor(), election.id, role.id, values)
        await flash(_("The pay rule has been saved."), "success")
        return redirect(url_for("planning.pay_overview", election_id=election.id))
    return await form_page({})


async def _district_page(
    election: Election, district_key: int, errors: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    view = await review.district_pay(db(), election.id, district_key)
    stations = await review.station_names(db(), election.id)
    return (
        await render(
            "planning/pay/district.html",
            election=election,
            view=view,
            district_key=district_key,
            stations=stations,
            roles={r.id: named(r) for r in await list_role_types(db())},
            errors=errors or {},
            **_labels(),
        ),
        status,
    )


@routes.get("/elections/<int:election_id>/pay/districts/<int:district_key>")
@requires("pay.edit")
async def pay_district(election_id: int, district_key: int) -> tuple[str, int]:
    """One district's pay to review (``0``: the advance voting stations)."""
    election = await get_election(db(), election_id)
    return await _district_page(election, district_key)


@routes.post("/elections/<int:election_id>/pay/districts/<int:district_key>/approve")
@requires("pay.edit")
async def pay_district_approve(
    election_id: int, district_key: int
) -> WerkzeugResponse | tuple[str, int]:
    election = await get_election(db(), election_id)
    on_refusal(lambda error: _district_page(election, district_key, error.errors, 422))
    done = await approval.approve_district(db(), current_actor(), election.id, district_key)
    await flash(
        _(
            "Approved: %(lines)s lines, %(amount)s in all.",
            lines=done.lines,
            amount=display(done.amount),
        ),
        "success",
    )
    return redirect(
        url_for("planning.pay_district", election_id=election.id, district_key=district_key)
    )


async def _person_page(
    election: Election,
    person_id: int,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    found = await statement.person_statement(db(), election.id, person_id)
    places = await pay_places.places_of(db(), election.id, person_id)
    return (
        await render(
            "planning/pay/person.html",
            election=election,
            statement=found,
            person=found.person,
            places=places,
            errors=errors or {},
            values=values or {},
            **_labels(),
        ),
        status,
    )


@routes.get("/elections/<int:election_id>/pay/people/<int:person_id>")
@requires("pay.edit")
async def pay_person(election_id: int, person_id: int) -> tuple[str, int]:
    election = await get_election(db(), election_id)
    return await _person_page(election, person_id)


@routes.post("/elections/<int:election_id>/pay/people/<int:person_id>/adjustments")
@requires("pay.edit")
async def pay_adjustment_new(
    election_id: int, person_id: int
) -> WerkzeugResponse | tuple[str, int]:
    election = await get_election(db(), election_id)
    form = (await request.form).to_dict()

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _person_page(
            election, person_id, {"adjustment": error.errors}, {"adjustment": form}, 422
        )

    on_refusal(refused)
    await adjustments.add_adjustment(db(), current_actor(), election.id, person_id, form)
    await flash(_("The adjustment has been added."), "success")
    return redirect(url_for("planning.pay_person", election_id=election.id, person_id=person_id))


@routes.post("/elections/<int:election_id>/pay/people/<int:person_id>/shifts/<int:shift_id>")
@requires("pay.edit")
async def pay_hours_settle(
    election_id: int, person_id: int, shift_id: int
) -> WerkzeugResponse | tuple[str, int]:
    election = await get_election(db(), election_id)
    form = (await request.form).to_dict()
    key = f"shift-{shift_id}"

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _person_page(election, person_id, {key: error.errors}, {key: form}, 422)

    on_refusal(refused)
    await adjustments.settle_hours(db(), current_actor(), election.id, shift_id, person_id, form)
    await flash(_("The hours have been settled."), "success")
    return redirect(url_for("planning.pay_person", election_id=election.id, person_id=person_id))


@routes.get("/elections/<int:election_id>/pay/people/<int:person_id>/statement.pdf")
@requires("pay.edit")
async def pay_statement_pdf(election_id: int, person_id: int) -> Response:
    found = await statement.person_statement(db(), election_id, person_id)
    body = await asyncio.to_thread(
        statement.write_statement_pdf, g.tenant.name, g.tenant.timezone, found
    )
    name = f"{slug(_('Pay statement'))}-{slug(found.person.full_name)}-{found.election.id}"
    return attachment(body, "pdf", name)
