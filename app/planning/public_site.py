"""Editing the public site: pages and text blocks per language with drafts, preview,
publishing and history, and the site's look and settings."""

from __future__ import annotations

from typing import Any

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import NotFound
from app.core.hygiene import body_limit, body_too_large
from app.core.i18n import _
from app.core.routes import Routes
from app.core.settings import SUPPORTED_LOCALES
from app.core.web import db, on_refusal, render
from app.domain.labels import WEB_PART
from app.domain.registers.erasure import tenant_today
from app.domain.registers.retention import MAX_ERASED_PER_RUN, inactive_people
from app.domain.site import colours, webparts

routes = Routes()

MAX_LOGO_UPLOAD = webparts.MAX_LOGO_BYTES + 64 * 1024


def _checked(key: str, locale: str) -> None:
    if key not in webparts.KEYS or locale not in SUPPORTED_LOCALES:
        raise NotFound(_("Not found."))


@routes.get("/site/")
@requires("public_pages.edit")
async def site_overview() -> str:
    states = await webparts.overview(db())
    by_key: dict[str, list[webparts.PartState]] = {}
    for state in states:
        by_key.setdefault(state.key, []).append(state)
    return await render(
        "planning/site/overview.html",
        pages=[(key, by_key[key]) for key in webparts.PAGE_KEYS],
        blocks=[(key, by_key[key]) for key in webparts.BLOCK_KEYS],
        part_labels=WEB_PART,
    )


async def _editor(
    key: str, locale: str, values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> tuple[str, int]:
    state = await webparts.part_state(db(), key, locale)
    page = await render(
        "planning/site/edit.html",
        key=key,
        locale=locale,
        state=state,
        values=values,
        errors=errors,
        is_page=key in webparts.PAGE_KEYS,
        part_labels=WEB_PART,
        preview=webparts.render_markdown(
            str(values.get("body") or ""), url_for("public.home", tenant=g.tenant.slug)
        ),
    )
    return page, status


@routes.route("/site/<key>/<locale>", methods=["GET", "POST"])
@requires("public_pages.edit")
async def site_part(key: str, locale: str) -> tuple[str, int] | WerkzeugResponse:
    """Edit a page or block: save a draft, preview it beside the editor, or publish."""
    _checked(key, locale)
    if request.method == "GET":
        state = await webparts.part_state(db(), key, locale)
        version = state.latest
        if version is not None:
            values = {"title": version.title, "body": version.body}
        else:
            title, body = webparts.default_text(key, locale)
            values = {"title": title, "body": body}
        return await _editor(key, locale, values, {})
    form = await request.form
    values = {"title": form.get("title", ""), "body": form.get("body", "")}
    action = form.get("action", "save")
    on_refusal(lambda error: _editor(key, locale, values, error.errors, 422))
    if action == "publish":
        await webparts.publish(db(), current_actor(), key, locale, values)
        await flash(_("Published. The public site shows the new text now."), "success")
    elif action == "preview":
        webparts.clean_text(values, key)
        return await _editor(key, locale, values, {})
    else:
        await webparts.save_draft(db(), current_actor(), key, locale, values)
        await flash(
            _("The draft has been saved. The public site still shows the published text."),
            "success",
        )
    return redirect(url_for("planning.site_part", key=key, locale=locale))


@routes.get("/site/<key>/<locale>/preview")
@requires("public_pages.edit")
async def site_part_preview(key: str, locale: str) -> str:
    """The newest version (the draft) as the public would see it."""
    _checked(key, locale)
    state = await webparts.part_state(db(), key, locale)
    version = state.latest
    title, body = (version.title, version.body) if version else webparts.default_text(key, locale)
    part = webparts.Shown(key, locale, title, body, version)
    return await render("planning/site/preview.html", part=part, state=state)


@routes.get("/site/<key>/<locale>/history")
@requires("public_pages.edit")
async def site_part_history(key: str, locale: str) -> str:
    _checked(key, locale)
    versions = await webparts.history(db(), key, locale)
    state = await webparts.part_state(db(), key, locale)
    return await render(
        "planning/site/history.html",
        key=key,
        locale=locale,
        versions=versions,
        state=state,
        part_labels=WEB_PART,
    )


@routes.post("/site/<key>/<locale>/versions/<int:version_id>/restore")
@requires("public_pages.edit")
async def site_part_restore(key: str, locale: str, version_id: int) -> WerkzeugResponse:
    _checked(key, locale)
    version = await webparts.restore(db(), current_actor(), key, locale, version_id)
    await flash(
        _(
            "Version %(number)s is the draft again. Publish it when it is right.",
            number=version.number,
        ),
        "success",
    )
    return redirect(url_for("planning.site_part", key=key, locale=locale))


@routes.route("/site/settings", methods=["GET", "POST"])
@requires("public_pages.edit")
@body_limit(MAX_LOGO_UPLOAD)
async def site_settings() -> tuple[str, int] | WerkzeugResponse:
    settings = await webparts.site_settings(db())
    values: dict[str, Any] = {
        "brand_color": settings.brand_color,
        "office_email": settings.office_email or "",
        "controller_name": settings.controller_name or "",
        "controller_contact": settings.controller_contact or "",
        "dpo_contact": settings.dpo_contact or "",
        "office_phone": settings.office_phone or "",
        "offer_answer_days": settings.offer_answer_days,
        "retention_months": settings.retention_months,
        "applications_open": settings.applications_open,
        "inactive_retention_months": settings.inactive_retention_months or "",
        "pay_retention_years": settings.pay_retention_years,
    }
    has_logo = bool(settings.logo)
    would_erase = len(await inactive_people(db(), tenant_today(g.tenant)))

    async def settings_page(errors: dict[str, str], status: int) -> tuple[str, int]:
        colour = str(values.get("brand_color", "")).lower()
        if (
            "brand_color" in errors
            and colours.is_colour(colour)
            and not colours.carries_text(colour)
        ):
            # The refusal names the nearest colour text can be read on; it is in the
            # field when the form comes back, so saving again takes it.
            values["brand_color"] = colours.nearest_carrying_text(colour)
        page = await render(
            "planning/site/settings.html",
            values=values,
            errors=errors,
            has_logo=has_logo,
            would_erase=would_erase,
            per_run=MAX_ERASED_PER_RUN,
            people_retention_on=bool(settings.inactive_retention_months),
        )
        return page, status

    if request.method != "POST":
        return await settings_page({}, 200)
    if body_too_large():
        return await settings_page({"logo": _("The logo may be at most 300 kB.")}, 413)
    form = await request.form
    files = await request.files
    values = form.to_dict()
    upload = files.get("logo")
    logo = upload.read() if upload and upload.filename else None
    on_refusal(lambda error: settings_page(error.errors, 422))
    await webparts.save_site_settings(
        db(), current_actor(), values, logo=logo, remove_logo=bool(form.get("remove_logo"))
    )
    await flash(_("The changes have been saved."), "success")
    return redirect(url_for("planning.site_settings"))
