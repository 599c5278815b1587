"""People entered twice: the likely pairs, the two records side by side, the merge."""

from __future__ import annotations

from quart import abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.registers import duplicates, merging

routes = Routes()


@routes.get("/people/duplicates")
@requires("registers.edit")
async def duplicates_page() -> str:
    """The records the register itself says are likely one person, with why."""
    return await render(
        "planning/people/duplicates.html",
        pairs=await duplicates.likely_pairs(db()),
        max_pairs=duplicates.MAX_PAIRS,
    )


@routes.route("/people/merge/<int:survivor_id>/<int:merged_id>", methods=["GET", "POST"])
@requires("registers.edit")
async def person_merge(
    survivor_id: int, merged_id: int
) -> str | WerkzeugResponse | tuple[str, int]:
    """Two records side by side: the one that stays, per field the value kept, what
    moves and what stands in the way; merging asks for a confirmation."""
    if survivor_id == merged_id:
        abort(404)
    plan = await merging.plan_merge(db(), survivor_id, merged_id)
    chosen: dict[str, str] = {f.name: f.default for f in plan.fields}

    async def page(errors: dict[str, str]) -> str:
        return await render(
            "planning/people/merge.html",
            plan=plan,
            chosen=chosen,
            errors=errors,
            tables=merging.TABLE_LABELS,
        )

    if request.method == "POST":
        form = await request.form
        chosen.update(
            {name: form[f"keep_{name}"] for name in merging.FIELD_GROUPS if f"keep_{name}" in form}
        )
        if form.get("confirm") != "1":
            return await page({"confirm": _("Tick the box to confirm the merge.")}), 422

        async def refused(error: DomainError) -> tuple[str, int]:
            # The plan read before the refusal's rollback: read it again.
            nonlocal plan
            plan = await merging.plan_merge(db(), survivor_id, merged_id)
            return await page({error.field or "conflicts": error.message}), 422

        on_refusal(refused)
        await merging.merge_people(db(), current_actor(), survivor_id, merged_id, chosen)
        await flash(_("The two records are merged into one."), "success")
        return redirect(url_for("planning.person_detail", person_id=survivor_id))
    return await page({})
