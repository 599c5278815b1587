"""The clerk's profile: contact details, language, bank account, calendar address, their
data as JSON and PDF, and a request to be removed."""

from __future__ import annotations

import json

from quart import Response, flash, g, redirect, request, session, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, current_user, requires
from app.core.crypto import FieldCipher
from app.core.downloads import attachment
from app.core.errors import DomainError
from app.core.i18n import _, set_locale
from app.core.routes import Routes
from app.core.web import app_settings, db, on_refusal, render
from app.domain.clerks import personal_data, personal_data_pdf
from app.domain.clerks import profile as profiles
from app.domain.labels import (
    APPLICATION_STATUS,
    ASSIGNMENT_STATE,
    EXPERIENCE,
    LANGUAGE,
    PERSON_STATUS,
    WORK_KIND,
)
from app.domain.models import Person
from app.domain.registers.removal_requests import removal_state
from app.portal.calendar import feed_address
from app.portal.me import my_person, my_person_or_404

routes = Routes()


def _cipher() -> FieldCipher:
    return FieldCipher(app_settings().secret_key)


async def _page(
    person: Person,
    values: dict[str, object],
    errors: dict[str, str],
    status: int = 200,
    removal_errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    body = await render(
        "portal/profile.html",
        person=person,
        values=values,
        errors=errors,
        removal_errors=removal_errors or {},
        bank=profiles.stored_bank_account(_cipher(), person),
        feed=feed_address(person),
        language_choices=list(LANGUAGE.items()),
        max_message=profiles.MAX_REMOVAL_MESSAGE,
        removal_state=removal_state(person),
    )
    return body, status


@routes.route("/profile", methods=["GET", "POST"])
@requires("portal.use")
async def profile() -> tuple[str, int] | WerkzeugResponse:
    person = await my_person()
    if person is None:
        # A clerk account the office has not linked to a register entry yet.
        return await render("portal/profile.html", person=None), 200
    if request.method != "POST":
        return await _page(person, profiles.profile_values(person), {})
    form = await request.form
    values: dict[str, object] = form.to_dict()
    user = current_user()
    assert user is not None
    on_refusal(lambda error: _page(person, values, error.errors, 422))
    await profiles.update_profile(
        db(), current_actor(), _cipher(), g.tenant, person, user, form.to_dict()
    )
    # The chosen language takes over at once, on this device too.
    session["lang"] = person.preferred_language
    set_locale(person.preferred_language)
    await flash(_("Your profile has been saved."), "success")
    return redirect(url_for("portal.profile"))


def _labels() -> dict[str, dict[str, object]]:
    return {
        "language": dict(LANGUAGE),
        "work_kind": dict(WORK_KIND),
        "state": dict(ASSIGNMENT_STATE),
        "status": dict(PERSON_STATUS),
        "experience": dict(EXPERIENCE),
        "application_status": dict(APPLICATION_STATUS),
    }


@routes.get("/profile/my-data.json")
@requires("portal.use")
async def my_data_json() -> Response:
    person = await my_person_or_404()
    data = await personal_data.my_data(db(), _cipher(), g.tenant, person, current_user())
    await personal_data.record_export(db(), current_actor(), person, "json")
    body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return attachment(body, "json", personal_data.export_name())


@routes.get("/profile/my-data.pdf")
@requires("portal.use")
async def my_data_pdf() -> Response:
    person = await my_person_or_404()
    data = await personal_data.my_data(db(), _cipher(), g.tenant, person, current_user())
    await personal_data.record_export(db(), current_actor(), person, "pdf")
    body = personal_data_pdf.write_my_data_pdf(data, _labels(), g.tenant.timezone)
    return attachment(body, "pdf", personal_data.export_name())


@routes.post("/profile/removal")
@requires("portal.use")
async def request_removal() -> tuple[str, int] | WerkzeugResponse:
    person = await my_person_or_404()
    form = await request.form
    link = app_settings().base_url + url_for("planning.person_detail", person_id=person.id)

    async def refused(error: DomainError) -> tuple[str, int]:
        values: dict[str, object] = {**profiles.profile_values(person), **form.to_dict()}
        return await _page(person, values, {}, 422, removal_errors=error.errors)

    on_refusal(refused)
    await profiles.request_removal(
        db(), current_actor(), g.tenant, person, form.get("message", ""), link
    )
    await flash(
        _(
            "Your request has been sent to the election office. They will contact you"
            " about what can be removed and when."
        ),
        "success",
    )
    return redirect(url_for("portal.profile", _anchor="removal"))
