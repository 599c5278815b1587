"""Role types with their pay, and staffing templates."""

from __future__ import annotations

from typing import Any

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.routes import Routes
from app.core.settings import SUPPORTED_LOCALES
from app.core.web import db, on_refusal, render
from app.domain.courses.catalog import list_courses
from app.domain.elections import norm_templates
from app.domain.labels import PAY_UNIT, STATION_KIND, WORK_KIND, choices
from app.domain.local_names import name_languages
from app.domain.registers import roles

routes = Routes()

TEMPLATE_ROWS = 4


@routes.get("/roles/")
@requires("registers.view")
async def role_types() -> str:
    return await _role_types_page({}, None)


async def _role_types_page(
    errors: dict[str, str], failed_id: int | None, values: dict[str, Any] | None = None
) -> str:
    courses = await list_courses(db())
    required: dict[int, list[Any]] = {}
    for course in courses:
        for requirement in course.requirements:
            required.setdefault(requirement.role_type_id, []).append(course)
    return await render(
        "planning/roles.html",
        role_types=await roles.list_role_types(db()),
        pay_units=choices(PAY_UNIT),
        work_kinds=choices(WORK_KIND),
        courses=[course for course in courses if course.active],
        required=required,
        errors=errors,
        failed_id=failed_id,
        values=values or {},
        **name_languages(g.tenant.locale),
    )


@routes.post("/roles/")
@requires("registers.edit")
async def role_type_create() -> WerkzeugResponse | tuple[str, int]:
    form = (await request.form).to_dict()

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _role_types_page(error.errors, 0, form), 422

    on_refusal(refused)
    await roles.create_role_type(db(), current_actor(), form)
    await flash(_("The role has been added."), "success")
    return redirect(url_for("planning.role_types"))


@routes.post("/roles/<int:role_type_id>")
@requires("registers.edit")
async def role_type_update(role_type_id: int) -> WerkzeugResponse | tuple[str, int]:
    form = (await request.form).to_dict()

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _role_types_page(error.errors, role_type_id), 422

    on_refusal(refused)
    await roles.update_role_type(db(), current_actor(), role_type_id, form)
    await flash(_("The role has been saved."), "success")
    return redirect(url_for("planning.role_types"))


@routes.post("/roles/<int:role_type_id>/<action>")
@requires("registers.edit")
async def role_type_action(role_type_id: int, action: str) -> WerkzeugResponse | tuple[str, int]:
    """Retire, take back into use, delete or move a role."""
    if action not in ("retire", "restore", "delete", "up", "down"):
        raise NotFound(_("Not found."))

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _role_types_page({"form": error.message}, role_type_id), 422

    on_refusal(refused)
    if action in ("retire", "restore"):
        await roles.set_retired(db(), current_actor(), role_type_id, action == "retire")
        retired = action == "retire"
        await flash(
            _("The role is retired.") if retired else _("The role is in use again."), "success"
        )
    elif action == "delete":
        await roles.delete_role_type(db(), current_actor(), role_type_id)
        await flash(_("The role has been deleted."), "success")
    else:
        await roles.move_role_type(db(), current_actor(), role_type_id, action)
    return redirect(url_for("planning.role_types"))


@routes.get("/templates/")
@requires("registers.view")
async def staffing_templates() -> str:
    return await render(
        "planning/templates/list.html",
        templates=await norm_templates.list_templates(db()),
        role_types=await roles.list_role_types(db()),
        kind_labels=STATION_KIND,
    )


@routes.route("/templates/new", methods=["GET", "POST"])
@requires("registers.edit")
async def staffing_template_new() -> str | WerkzeugResponse | tuple[str, int]:
    return await _template_form(None)


@routes.route("/templates/<int:template_id>", methods=["GET", "POST"])
@requires("registers.edit")
async def staffing_template_edit(template_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    return await _template_form(template_id)


def _shifts_from_form(form: Any, role_codes: list[str]) -> list[dict[str, Any]]:
    """Rows of the template form; a row without a name is left out."""
    shifts = []
    for index in range(TEMPLATE_ROWS):
        name = (form.get(f"name_{index}") or "").strip()
        if not name:
            continue
        norms = {}
        for code in role_codes:
            minimum = form.get(f"min_{index}_{code}") or "0"
            target = form.get(f"target_{index}_{code}") or minimum
            if minimum != "0" or target != "0":
                norms[code] = [minimum, target]
        shifts.append(
            {
                "name": name,
                "names": {code: form.get(f"name_{index}_{code}", "") for code in SUPPORTED_LOCALES},
                "starts_at": form.get(f"starts_{index}", ""),
                "ends_at": form.get(f"ends_{index}", ""),
                "norms": norms,
            }
        )
    return shifts


async def _template_form(template_id: int | None) -> str | WerkzeugResponse | tuple[str, int]:
    template = None
    if template_id is not None:
        template = await norm_templates.get_template(db(), template_id)
    # A retired role shows only in a template that has it.
    kept = {code for shift in (template.shifts if template else []) for code in shift["norms"]}
    role_types = [r for r in await roles.list_role_types(db()) if not r.retired or r.code in kept]
    values: dict[str, Any] = {"station_kind": "polling"}
    if template is not None:
        values = {"name": template.name, "station_kind": template.station_kind}
        for index, shift in enumerate(template.shifts[:TEMPLATE_ROWS]):
            values.update(
                {
                    f"name_{index}": shift["name"],
                    **{
                        f"name_{index}_{code}": name
                        for code, name in (shift.get("names") or {}).items()
                    },
                    f"starts_{index}": shift["starts_at"],
                    f"ends_{index}": shift["ends_at"],
                }
            )
            for code, (minimum, target) in shift["norms"].items():
                values[f"min_{index}_{code}"], values[f"target_{index}_{code}"] = minimum, target

    async def form_page(errors: dict[str, str], status: int) -> tuple[str, int]:
        page = await render(
            "planning/templates/form.html",
            norm_template=template,
            values=values,
            errors=errors,
            role_types=role_types,
            rows=range(TEMPLATE_ROWS),
            kind_choices=choices(STATION_KIND),
            **name_languages(g.tenant.locale),
        )
        return page, status

    if request.method == "POST":
        form = await request.form
        values = form.to_dict()
        data = {
            "name": form.get("name", ""),
            "station_kind": form.get("station_kind", ""),
            "shifts": _shifts_from_form(form, [r.code for r in role_types]),
        }
        on_refusal(lambda error: form_page(error.errors, 422))
        await norm_templates.save_template(db(), current_actor(), data, template_id)
        await flash(_("The template has been saved."), "success")
        return redirect(url_for("planning.staffing_templates"))
    return await form_page({}, 200)
