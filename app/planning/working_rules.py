"""The municipality's working-time rules (with a confirm step listing the places a new
rule would break) and the confidentiality undertaking's requirement."""

from __future__ import annotations

from typing import Any

from quart import flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.i18n import _
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.clerks import undertaking
from app.domain.documents.catalog import LOCALES
from app.domain.staffing import working_rules
from app.domain.staffing.working_time import WorkingTime, working_time

routes = Routes()


def _hours_text(minutes: int | None) -> str:
    if minutes is None:
        return ""
    hours = minutes / 60
    return f"{hours:g}"


async def _page(
    values: dict[str, Any],
    errors: dict[str, str],
    change: working_rules.WorkingRulesChange | None = None,
    status: int = 200,
) -> tuple[str, int]:
    body = await render(
        "planning/working_rules.html",
        values=values,
        errors=errors,
        change=change,
        status=await undertaking.undertaking_status(db()),
        undertaking_key=undertaking.KEY,
        locales=LOCALES,
    )
    return body, status


def _values(limits: WorkingTime) -> dict[str, Any]:
    return {
        "max_day_hours": _hours_text(limits.max_day_minutes),
        "min_rest_hours": _hours_text(limits.min_rest_minutes),
    }


@routes.get("/working-rules/")
@requires("staffing.view")
async def working_rules_page() -> tuple[str, int]:
    return await _page(_values(await working_time(db())), {})


@routes.post("/working-rules/")
@requires("staffing.edit")
async def working_rules_save() -> tuple[str, int] | WerkzeugResponse:
    """Save the limits; when places held would break them, the page lists those places
    and asks to confirm (nothing is saved until then)."""
    form = (await request.form).to_dict()
    values = {name: form.get(name, "") for name in ("max_day_hours", "min_rest_hours")}
    on_refusal(lambda error: _page(values, error.errors, status=422))
    change = await working_rules.save_working_rules(
        db(), current_actor(), form, confirmed=form.get("confirmed") == "1"
    )
    if not change.saved:
        return await _page(values, {}, change)
    await flash(_("The working-time rules have been saved."), "success")
    return redirect(url_for("planning.working_rules_page"))


@routes.post("/working-rules/undertaking")
@requires("staffing.edit")
async def working_rules_undertaking() -> WerkzeugResponse:
    """Require the undertaking (or not), or ask everyone to sign the text in use again."""
    form = await request.form
    if form.get("action") == "sign_again":
        await undertaking.ask_to_sign_again(db(), current_actor())
        await flash(_("Everyone is asked to sign the undertaking again."), "success")
    else:
        await undertaking.set_required(db(), current_actor(), form.get("required") == "1")
        await flash(_("The undertaking setting has been saved."), "success")
    return redirect(url_for("planning.working_rules_page"))
