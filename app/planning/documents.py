"""The documents the office edits: the list of them per language, the editor with a
preview for a real person, the versions, and reset to default."""

from __future__ import annotations

from typing import Any

from quart import flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.i18n import _
from app.core.routes import Routes
from app.core.web import db, is_htmx, on_refusal, render
from app.domain.documents import filled, texts
from app.domain.documents.catalog import DOCUMENTS, LOCALES

routes = Routes()


@routes.get("/documents/")
@requires("messaging.send")
async def documents_overview() -> str:
    states = await texts.overview(db())
    by_key: dict[str, list[texts.DocumentState]] = {}
    for state in states:
        by_key.setdefault(state.key, []).append(state)
    return await render("planning/documents/overview.html", documents=DOCUMENTS, by_key=by_key)


async def _editor(
    key: str,
    locale: str,
    values: dict[str, Any],
    errors: dict[str, str],
    preview: filled.Preview | None = None,
    status: int = 200,
) -> tuple[str, int]:
    kind = texts.document_kind(key, locale)
    block = "preview" if is_htmx() and preview is not None and not errors else None
    page = await render(
        "planning/documents/edit.html",
        block=block,
        key=key,
        locale=locale,
        kind=kind,
        locales=LOCALES,
        state=await texts.document_state(db(), key, locale),
        versions=await texts.history(db(), key, locale),
        values=values,
        errors=errors,
        preview=preview,
    )
    return page, status


@routes.route("/documents/<document>/<locale>", methods=["GET", "POST"])
@requires("messaging.send")
async def document_edit(document: str, locale: str) -> tuple[str, int] | WerkzeugResponse:
    """Edit a document's text in one language: save it (checked), preview it filled in
    for a real person, or go back to the default text."""
    key = document
    texts.document_kind(key, locale)
    if request.method == "GET":
        state = await texts.document_state(db(), key, locale)
        return await _editor(key, locale, {"body": state.text, "person": ""}, {})
    form = await request.form
    values = {"body": form.get("body", ""), "person": form.get("person", "")}
    action = form.get("action", "save")
    on_refusal(lambda error: _editor(key, locale, values, error.errors, status=422))
    if action == "preview":
        shown = await filled.preview(
            db(), key, locale, str(values["body"]).replace("\r\n", "\n"), str(values["person"])
        )
        return await _editor(key, locale, values, {}, shown)
    if action == "reset":
        await texts.reset_text(db(), current_actor(), key, locale)
        await flash(_("The default text is used again."), "success")
    else:
        await texts.save_text(db(), current_actor(), key, locale, values)
        await flash(_("The text has been saved and is used from now on."), "success")
    return redirect(url_for("planning.document_edit", document=key, locale=locale))


@routes.post("/documents/<document>/<locale>/versions/<int:version_id>/restore")
@requires("messaging.send")
async def document_restore(document: str, locale: str, version_id: int) -> WerkzeugResponse:
    """Use an earlier version again (saved as the newest, so the history stays)."""
    key = document
    await texts.restore_version(db(), current_actor(), key, locale, version_id)
    await flash(_("The earlier version is used again."), "success")
    return redirect(url_for("planning.document_edit", document=key, locale=locale))
