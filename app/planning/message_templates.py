"""The office's message templates: the system's messages and its own, per channel and
language, with an editor that previews a text as a real person would get it, and the
versions of each text."""

from __future__ import annotations

from typing import Any

from quart import flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.i18n import _
from app.core.routes import Routes
from app.core.validation import parse_id
from app.core.web import app_settings, db, on_refusal, render
from app.domain.messaging import editing
from app.domain.messaging.catalog import LOCALES
from app.domain.messaging.fields import fields_for
from app.domain.messaging.preview import preview
from app.domain.registers.people import search_people

routes = Routes()


def _channel_labels() -> dict[str, str]:
    return {"email": _("E-mail"), "sms": _("SMS")}


@routes.get("/message-templates/")
@requires("messaging.send")
async def msg_templates() -> str:
    return await render(
        "planning/message_templates/list.html",
        rows=await editing.overview(db()),
        locales=LOCALES,
        channel_labels=_channel_labels(),
        values={"channels": ["email", "sms"]},
        errors={},
    )


@routes.post("/message-templates/")
@requires("messaging.send")
async def msg_template_create() -> WerkzeugResponse:
    form = await request.form
    values: dict[str, Any] = {"name": form.get("name", ""), "channels": form.getlist("channels")}

    async def again(error: Any) -> tuple[str, int]:
        page = await render(
            "planning/message_templates/list.html",
            rows=await editing.overview(db()),
            locales=LOCALES,
            channel_labels=_channel_labels(),
            values=values,
            errors=error.errors,
        )
        return page, 422

    on_refusal(again)
    kind = await editing.create_own(db(), current_actor(), values)
    await flash(_("The template has been made. Write its text in each language."), "success")
    first = kind.channels[0]
    return redirect(url_for("planning.msg_template", key=kind.key, channel=first, locale="sv"))


async def _editor(
    kind: editing.Kind,
    channel: str,
    locale: str,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> tuple[str, int]:
    state = await editing.text_state(db(), kind, channel, locale)
    person_id = parse_id(values.get("person_id"))
    shown = None
    if not errors:
        on_refusal(lambda error: _editor(kind, channel, locale, values, error.errors, 422))
        shown = await preview(
            db(), kind, channel, locale, values, person_id, app_settings().base_url
        )
    page = await render(
        "planning/message_templates/edit.html",
        kind=kind,
        channel=channel,
        text_locale=locale,
        state=state,
        values=values,
        errors=errors,
        fields=fields_for(kind.fields),
        shown=shown,
        channel_labels=_channel_labels(),
        locales=LOCALES,
    )
    return page, status


@routes.route("/message-templates/<key>/<channel>/<locale>", methods=["GET", "POST"])
@requires("messaging.send")
async def msg_template(key: str, channel: str, locale: str) -> tuple[str, int] | WerkzeugResponse:
    """Edit one text: preview it with a person of the register, save it as a version."""
    kind = await editing.kind_of(db(), key)
    await editing.text_state(db(), kind, channel, locale)  # 404 for a channel it lacks
    if request.method == "GET":
        values: dict[str, Any] = await editing.current_text(db(), kind, channel, locale)
        values["person_id"] = request.args.get("person_id", "")
        return await _editor(kind, channel, locale, values, {})
    form = await request.form
    values = {
        "subject": form.get("subject", ""),
        "body": form.get("body", ""),
        "person_id": form.get("person_id", ""),
        "person_query": form.get("person_query", ""),
    }
    on_refusal(lambda error: _editor(kind, channel, locale, values, error.errors, 422))
    if form.get("action") == "preview":
        page, status = await _editor(kind, channel, locale, values, {})
        return page, status
    saved = await editing.save_text(db(), current_actor(), key, channel, locale, values)
    if saved is None:
        await flash(_("Nothing has changed."), "success")
    else:
        await flash(
            _("Saved as version %(number)s. The next message sent uses it.", number=saved.number),
            "success",
        )
    return redirect(url_for("planning.msg_template", key=key, channel=channel, locale=locale))


@routes.post("/message-templates/<key>/<channel>/<locale>/preview")
@requires("messaging.send")
async def msg_template_preview(key: str, channel: str, locale: str) -> tuple[str, int]:
    """The preview beside the editor, for HTMX as the text is written."""
    kind = await editing.kind_of(db(), key)
    form = await request.form
    values = {
        "subject": form.get("subject", ""),
        "body": form.get("body", ""),
        "person_id": form.get("person_id", ""),
    }

    async def refused(error: Any) -> tuple[str, int]:
        page = await render(
            "planning/message_templates/_preview.html",
            errors=error.errors,
            shown=None,
            channel=channel,
            text_locale=locale,
        )
        return page, 200

    on_refusal(refused)
    await editing.text_state(db(), kind, channel, locale)
    shown = await preview(
        db(), kind, channel, locale, values, parse_id(values["person_id"]), app_settings().base_url
    )
    page = await render(
        "planning/message_templates/_preview.html",
        errors={},
        shown=shown,
        channel=channel,
        text_locale=locale,
    )
    return page, 200


@routes.get("/message-templates/people")
@requires("messaging.send")
async def msg_template_people() -> str:
    """People of the register whose name matches, to preview a text with (a fragment)."""
    query = request.args.get("person_query", "").strip()[:100]
    found = (await search_people(db(), query=query, per_page=20)).people if query else []
    return await render(
        "planning/message_templates/_people.html", found=found, query=query, selected=""
    )


@routes.get("/message-templates/<key>/<channel>/<locale>/history")
@requires("messaging.send")
async def msg_template_history(key: str, channel: str, locale: str) -> str:
    kind = await editing.kind_of(db(), key)
    versions = await editing.history(db(), key, channel, locale)
    return await render(
        "planning/message_templates/history.html",
        kind=kind,
        channel=channel,
        text_locale=locale,
        versions=versions,
        channel_labels=_channel_labels(),
    )


@routes.post("/message-templates/<key>/<channel>/<locale>/versions/<int:version_id>/restore")
@requires("messaging.send")
async def msg_template_restore(
    key: str, channel: str, locale: str, version_id: int
) -> WerkzeugResponse:
    here = url_for("planning.msg_template_history", key=key, channel=channel, locale=locale)

    async def refused(error: Any) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(here)

    on_refusal(refused)
    version = await editing.restore(db(), current_actor(), key, channel, locale, version_id)
    if version is not None:
        await flash(
            _("Version %(number)s is sent again, saved as the newest.", number=version.number),
            "success",
        )
    return redirect(url_for("planning.msg_template", key=key, channel=channel, locale=locale))


@routes.post("/message-templates/<key>/<channel>/<locale>/reset")
@requires("messaging.send")
async def msg_template_reset(key: str, channel: str, locale: str) -> WerkzeugResponse:
    here = url_for("planning.msg_template", key=key, channel=channel, locale=locale)

    async def refused(error: Any) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(here)

    on_refusal(refused)
    await editing.reset_to_default(db(), current_actor(), key, channel, locale)
    await flash(_("The default text is sent again."), "success")
    return redirect(here)
