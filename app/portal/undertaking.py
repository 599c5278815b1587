"""The confidentiality undertaking in the portal: the clerk reads the office's text in
their language, ticks and signs; the page then shows when they signed."""

from __future__ import annotations

from quart import flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.i18n import _
from app.core.routes import Routes
from app.core.web import client_ip, db, on_refusal, render
from app.domain.clerks import undertaking
from app.domain.documents.catalog import LOCALES
from app.domain.labels import LANGUAGE
from app.domain.models import Person
from app.portal.me import my_person_or_404

routes = Routes()


async def _page(
    person: Person, locale: str, errors: dict[str, str], status: int = 200
) -> tuple[str, int]:
    body = await render(
        "portal/undertaking.html",
        person=person,
        shown=await undertaking.undertaking_text(db(), person, locale),
        signature=await undertaking.valid_signature(db(), person.id),
        must_sign=await undertaking.must_sign(db(), person),
        languages=[(code, LANGUAGE.get(code, code)) for code in LOCALES],
        errors=errors,
    )
    return body, status


@routes.route("/undertaking", methods=["GET", "POST"])
@requires("portal.use")
async def undertaking_page() -> tuple[str, int] | WerkzeugResponse:
    person = await my_person_or_404()
    if request.method != "POST":
        locale = request.args.get("lang", "")
        if locale not in LOCALES:
            locale = undertaking.reading_locale(person)
        return await _page(person, locale, {})
    form = (await request.form).to_dict()
    locale = form.get("locale", "")
    if locale not in LOCALES:
        locale = undertaking.reading_locale(person)
    on_refusal(lambda error: _page(person, locale, error.errors, 422))
    await undertaking.sign_undertaking(
        db(),
        current_actor(),
        person,
        form,
        ip_address=client_ip(),
        user_agent=request.headers.get("User-Agent", ""),
    )
    await flash(_("Thank you. Your signature of the undertaking is saved."), "success")
    return redirect(url_for("portal.undertaking_page"))
