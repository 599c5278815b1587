"""A municipality's public site at /<tenant>/: information pages, the application form
for poll clerks, the contact form, and an applicant's own data."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from quart import Response, g, redirect, request, session, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.downloads import attachment
from app.core.errors import DomainError
from app.core.hygiene import body_limit, body_too_large
from app.core.i18n import _, get_locale, language_in_reader
from app.core.ratelimit import RateLimited
from app.core.routes import Routes
from app.core.web import app_settings, client_ip, db, on_refusal, render
from app.domain.models import EXPERIENCE_LEVELS
from app.domain.recruitment import application_form, applications, contact, own_application
from app.domain.site import colours, webparts
from app.domain.site.accessibility import accessibility_facts
from app.domain.site.privacy import privacy_facts
from app.public.labels import apply_labels

routes = Routes()

#: Bigger posts are refused before they are read: a whole application is a few kB.
MAX_POST_BYTES = 64 * 1024
#: A field no person sees; a program filling in every field fills in this one too.
HONEYPOT = "website"
ACCESS_SESSION_KEY = "application_access"
SENT_SESSION_KEY = "application_sent"


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


async def _page(key: str, **context: Any) -> str:
    part = await webparts.shown(db(), key, get_locale())
    newer = await webparts.newer_in_own_language(db(), part, g.tenant.locale)
    return await render(
        "public/page.html",
        part=part,
        key=key,
        newer=newer,
        newer_language=language_in_reader(newer.locale) if newer else "",
        **context,
    )


@routes.get("/")
async def home() -> str:
    return await _page("start")


@routes.get("/work")
async def work() -> str:
    return await _page("work")


@routes.get("/faq")
async def faq() -> str:
    return await _page("faq")


@routes.get("/pay")
async def pay() -> str:
    return await _page("pay")


@routes.get("/privacy")
async def privacy() -> str:
    """The office's notice, then what every notice must say (from the settings)."""
    facts = privacy_facts(g.tenant, await webparts.site_settings(db()))
    return await _page("privacy", privacy=facts)


@routes.get("/accessibility")
async def accessibility() -> str:
    """The office's accessibility statement, then what every statement must say: how to
    report a problem, the supervisory authority of the country, the dates."""
    part = await webparts.shown(db(), "accessibility", get_locale())
    settings = await webparts.site_settings(db())
    facts = await accessibility_facts(db(), g.tenant, settings, part.version)
    return await _page("accessibility", accessibility=facts)


@routes.get("/brand.css")
async def brand_css() -> Response:
    """The municipality's colour as a stylesheet (the CSP allows no inline styles)."""
    settings = await webparts.site_settings(db())
    # Text on the colour and the colour as text, each chosen by WCAG's contrast ratio.
    body = colours.palette(settings.brand_color).css()
    response = Response(body, content_type="text/css; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@routes.get("/logo")
async def logo() -> Response:
    settings = await webparts.site_settings(db())
    if not settings.logo or not settings.logo_content_type:
        raise HTTPNotFound()
    response = Response(settings.logo, content_type=settings.logo_content_type)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- applying ---------------------------------------------------------------------------


def _form_data(form: MultiDict[str, str]) -> dict[str, Any]:
    """The application as the domain takes it, from the form's flat fields.

    An election counts as chosen when its box is ticked or work or days are given for it.
    """
    data: dict[str, Any] = {key: form.get(key) for key in form}
    data["spoken_languages"] = form.getlist("spoken_languages")
    chosen = list(dict.fromkeys(form.getlist("election")))
    for key in form:
        prefix, _sep, election_id = key.partition("_")
        if prefix in ("kinds", "days") and election_id and election_id not in chosen:
            chosen.append(election_id)
    data["elections"] = [
        {
            "election_id": election_id,
            "work_kinds": form.getlist(f"kinds_{election_id}"),
            "days": form.getlist(f"days_{election_id}"),
            "district_ids": form.getlist(f"districts_{election_id}"),
        }
        for election_id in chosen
    ]
    return data


def _values(form: MultiDict[str, str]) -> dict[str, Any]:
    """What to put back in the fields when the form is shown again."""
    values: dict[str, Any] = {key: form.get(key) for key in form}
    for key in form:
        if key in ("spoken_languages", "election") or key.split("_", 1)[0] in (
            "kinds",
            "days",
            "districts",
        ):
            values[key] = form.getlist(key)
    return values


async def _apply_page(
    values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> tuple[str, int]:
    locale = get_locale()
    offered = await application_form.open_elections(db(), _today())
    settings = await webparts.site_settings(db())
    blocks = await webparts.shown_many(db(), ("apply_intro",), locale)
    page = await render(
        "public/apply.html",
        offered=offered,
        is_open=settings.applications_open and bool(offered),
        values=values,
        errors=errors,
        intro=blocks["apply_intro"],
        experience_levels=EXPERIENCE_LEVELS,
        honeypot_field=HONEYPOT,
        **apply_labels(),
    )
    return page, status


def _default_values(offered_ids: list[int]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "national_id_country": {"da": "DK"}.get(g.tenant.locale, "SE"),
        "preferred_language": get_locale(),
        "experience": "none",
    }
    if len(offered_ids) == 1:
        values["election"] = [str(offered_ids[0])]
    return values


@routes.route("/apply", methods=["GET", "POST"])
@body_limit(MAX_POST_BYTES)
async def apply() -> tuple[str, int] | WerkzeugResponse:
    if request.method == "GET":
        offered = await application_form.open_elections(db(), _today())
        return await _apply_page(_default_values([o.id for o in offered]), {})
    if body_too_large():
        message = _("The application is too large to be received. Shorten the longest texts.")
        return await _apply_page(_default_values([]), {"form": message}, 413)
    form = await request.form
    values = _values(form)
    if form.get(HONEYPOT):
        # A program filled in the field no person sees: it gets the ordinary thank-you,
        # so it learns nothing, and nothing is stored or mailed.
        session[SENT_SESSION_KEY] = True
        return redirect(url_for("public.apply_sent"))
    settings = await webparts.site_settings(db())
    if not settings.applications_open:
        return await _apply_page(values, {}, 409)

    async def refused(error: DomainError) -> tuple[str, int]:
        errors = dict(error.errors)
        if "elections" in errors:
            # The election boxes are named "election": the summary links there.
            errors["election"] = errors.pop("elections")
        return await _apply_page(values, errors, 422)

    on_refusal(refused)
    try:
        await applications.submit_application(
            db(),
            g.tenant,
            _form_data(form),
            locale=get_locale(),
            base_url=app_settings().base_url,
            today=_today(),
            ip_address=client_ip(),
        )
    except RateLimited:
        message = _("Too many applications have been sent from your network. Try again later.")
        return await _apply_page(values, {"form": message}, 429)
    session[SENT_SESSION_KEY] = True
    return redirect(url_for("public.apply_sent"))


@routes.get("/apply/sent")
async def apply_sent() -> str | WerkzeugResponse:
    if not session.pop(SENT_SESSION_KEY, False):
        return redirect(url_for("public.apply"))
    done = await webparts.shown(db(), "apply_done", get_locale())
    return await render("public/apply_sent.html", done=done)


# --- the applicant's own data -----------------------------------------------------------


@routes.get("/apply/mine")
async def my_application() -> str | WerkzeugResponse | tuple[str, int]:
    link_token = request.args.get("token")
    if link_token:
        # The secret leaves the address bar (and history and referrers) at once.
        session[ACCESS_SESSION_KEY] = link_token
        return redirect(url_for("public.my_application"))
    application = await own_application.application_for_token(
        db(), str(session.get(ACCESS_SESSION_KEY) or "")
    )
    if application is None:
        return await render("public/my_application.html", data=None), 410
    data = await own_application.application_data(db(), application)
    return await render("public/my_application.html", data=data, **apply_labels())


@routes.get("/apply/mine.json")
async def my_application_json() -> Response:
    application = await own_application.application_for_token(
        db(), str(session.get(ACCESS_SESSION_KEY) or "")
    )
    if application is None:
        raise HTTPNotFound()
    data = await own_application.application_data(db(), application)
    body = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return attachment(body, "json", "my-application")


@routes.post("/apply/mine/withdraw")
async def withdraw_application() -> str | tuple[str, int]:
    token = str(session.pop(ACCESS_SESSION_KEY, "") or "")
    withdrawn = await own_application.withdraw_application(db(), token)
    return await render("public/withdrawn.html"), 200 if withdrawn else 410


@routes.route("/apply/mine/new", methods=["GET", "POST"])
async def application_link() -> str | tuple[str, int]:
    """Ask for a fresh link to one's application data by the email address applied with."""
    days = applications.DATA_LINK_VALID.days
    if request.method != "POST":
        return await render(
            "public/application_link.html", values={}, errors={}, days=days, sent=False
        )
    form = await request.form
    values = {"email": str(form.get("email") or "")[:254]}

    async def refused(error: DomainError) -> tuple[str, int]:
        page = await render(
            "public/application_link.html",
            values=values,
            errors=error.errors,
            days=days,
            sent=False,
        )
        return page, 422

    on_refusal(refused)
    try:
        await own_application.mail_fresh_links(
            db(),
            g.tenant,
            values["email"],
            locale=get_locale(),
            base_url=app_settings().base_url,
            ip_address=client_ip(),
        )
    except RateLimited:
        errors = {"form": _("Too many attempts. Wait a while and try again.")}
        page = await render(
            "public/application_link.html", values=values, errors=errors, days=days, sent=False
        )
        return page, 429
    return await render("public/application_link.html", values={}, errors={}, days=days, sent=True)


# --- contact ----------------------------------------------------------------------------


@routes.route("/contact", methods=["GET", "POST"])
@body_limit(MAX_POST_BYTES)
async def contact_form() -> tuple[str, int] | WerkzeugResponse:
    if request.method != "POST":
        return await _contact_page({}, {})
    if body_too_large():
        message = _("The message is too large to be received. Shorten it.")
        return await _contact_page({}, {"form": message}, 413)
    form = await request.form
    values: dict[str, Any] = form.to_dict()
    if form.get(HONEYPOT):
        # As for applications: the ordinary thank-you, nothing stored.
        session["contact_sent"] = True
        return redirect(url_for("public.contact_sent"))
    on_refusal(lambda error: _contact_page(values, error.errors, 422))
    try:
        await contact.submit_contact_message(
            db(), g.tenant, values, locale=get_locale(), ip_address=client_ip()
        )
    except RateLimited:
        message = _("Too many messages from your network. Try again later.")
        return await _contact_page(values, {"form": message}, 429)
    session["contact_sent"] = True
    return redirect(url_for("public.contact_sent"))


async def _contact_page(
    values: dict[str, Any], errors: dict[str, str], status: int = 200
) -> tuple[str, int]:
    intro = await webparts.shown(db(), "contact_intro", get_locale())
    page = await render(
        "public/contact.html", values=values, errors=errors, intro=intro, honeypot_field=HONEYPOT
    )
    return page, status


@routes.get("/contact/sent")
async def contact_sent() -> str | WerkzeugResponse:
    if not session.pop("contact_sent", False):
        return redirect(url_for("public.contact_form"))
    return await render("public/contact_sent.html")


@routes.app_context_processor
async def _site() -> dict[str, Any]:
    """The public site's menu and look, for the public layout."""
    tenant = g.get("tenant")
    if tenant is None or request.blueprint != "public":
        return {"site": None}
    settings = await webparts.site_settings(db())
    titles = await webparts.shown_many(db(), webparts.PAGE_KEYS, get_locale())
    return {
        "site": {
            "has_logo": bool(settings.logo),
            "menu": [
                (key, titles[key].title)
                for key in webparts.PAGE_KEYS
                if key not in webparts.FOOTER_KEYS
            ],
            "privacy_title": titles["privacy"].title,
        }
    }
