"""The population register: upload an extract file, see what it changes, confirm."""

from __future__ import annotations

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.ops.access import local_today
from app.domain.registers.population import refresh
from app.domain.registers.population.extract import ALIASES, FIXED_LAYOUT
from app.planning.people import default_country
from app.planning.staged_files import (
    back_to_upload,
    errors_at_file,
    preview_status,
    uploaded_file,
)

routes = Routes()


def column_names() -> dict[str, str]:
    """Each field's words (the preview's columns, the layout's table)."""
    return {
        "national_id": _("Identity number"),
        "first_name": _("First name"),
        "last_name": _("Last name"),
        "street_address": _("Street address"),
        "postal_code": _("Postal code"),
        "city": _("City"),
        "protected": _("Protected identity"),
        "died_on": _("Died"),
        "moved_out_on": _("Moved out"),
        "": _("Line"),
    }


def change_names() -> dict[str, str]:
    return {
        "name": _("Name"),
        "address": _("Address"),
        "protected": _("Protected identity"),
        "died": _("Died"),
        "moved_out": _("Moved out"),
        "birth_date": _("Date of birth"),
    }


@routes.route("/register/population", methods=["GET", "POST"])
@requires("registers.edit")
async def population_page() -> str | WerkzeugResponse | tuple[str, int]:
    """The layouts an extract file may have, and the upload."""

    async def page(errors: dict[str, str]) -> str:
        return await render(
            "planning/population/upload.html",
            errors=errors,
            aliases=ALIASES,
            fixed_layout=FIXED_LAYOUT,
            column_names=column_names(),
            # The demo municipality's people are the same every time: its file fits.
            demo_file=url_for("static", filename="demo/registerutdrag-demo.csv")
            if g.tenant.slug == "demo"
            else None,
        )

    async def refused(error: DomainError) -> tuple[str, int]:
        return await page(errors_at_file(error)), 422

    if request.method == "POST":
        on_refusal(refused)
        filename, content = await uploaded_file()
        preview = await refresh.stage_extract(
            db(), current_actor(), filename, content, default_country(), await local_today(db())
        )
        return redirect(url_for("planning.population_preview", batch_id=preview.batch.id))
    return await page({})


@routes.route("/register/population/<int:batch_id>", methods=["GET", "POST"])
@requires("registers.edit")
async def population_preview(batch_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """What an extract changes, person by person; confirm to write it."""

    on_refusal(back_to_upload(url_for("planning.population_page")))
    today = await local_today(db())
    if request.method == "POST":
        preview = await refresh.commit_extract(
            db(), current_actor(), batch_id, default_country(), today
        )
        if preview.ok and preview.refresh is not None:
            await flash(
                _(
                    "The register is refreshed: %(changed)s people changed.",
                    changed=sum(1 for change in preview.refresh.changes if change.fields),
                ),
                "success",
            )
            return redirect(url_for("planning.population_page"))
    else:
        preview = await refresh.preview_extract(db(), batch_id, default_country(), today)
    page = await render(
        "planning/population/preview.html",
        preview=preview,
        column_names=column_names(),
        change_names=change_names(),
    )
    return page, preview_status(preview.ok)
