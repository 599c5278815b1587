"""The clerk's calendar feed: the secret address itself, and making or resetting it."""

from __future__ import annotations

from dataclasses import dataclass

from quart import Response, abort, flash, g, redirect, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.i18n import _, locale_scope
from app.core.routes import Routes
from app.core.web import app_settings, db
from app.domain.clerks import calendar_feed
from app.domain.models import Person
from app.portal.me import my_person_or_404

routes = Routes()


@dataclass(frozen=True)
class FeedAddress:
    """The person's feed address, to copy (https) or to open in a calendar app (webcal)."""

    url: str

    @property
    def webcal(self) -> str:
        return "webcal://" + self.url.split("://", 1)[1]


def feed_address(person: Person) -> FeedAddress | None:
    """For the profile page: the current address, or None when there is none to show."""
    settings = app_settings()
    token = calendar_feed.feed_token(settings.secret_key, person)
    if token is None:
        return None
    return FeedAddress(settings.base_url + url_for("portal.calendar_feed", token=token))


@routes.get("/calendar/<token>.ics", endpoint="calendar_feed")
async def feed(token: str) -> Response:
    """The feed. No sign-in (calendar apps cannot): the token is the key, and an unknown
    or reset token is a plain 404."""
    person = await calendar_feed.person_for_token(db(), token)
    if person is None:
        abort(404)
    tenant = g.tenant
    portal_url = app_settings().base_url + url_for("portal.home")
    with locale_scope(person.preferred_language):
        events = await calendar_feed.feed_events(db(), tenant, person)
        body = calendar_feed.write_calendar(tenant, events, portal_url)
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@routes.post("/calendar/reset")
@requires("portal.use")
async def calendar_reset() -> WerkzeugResponse:
    person = await my_person_or_404()
    had_one = person.calendar_token_hash is not None
    await calendar_feed.reset_feed(db(), current_actor(), app_settings().secret_key, person)
    await flash(
        _("You have a new calendar address. The old one no longer works.")
        if had_one
        else _("Your calendar address is ready: add it to your calendar app."),
        "success",
    )
    return redirect(url_for("portal.profile", _anchor="calendar"))


@routes.post("/calendar/stop")
@requires("portal.use")
async def calendar_stop() -> WerkzeugResponse:
    person = await my_person_or_404()
    await calendar_feed.stop_feed(db(), current_actor(), person)
    await flash(_("The calendar address has been turned off."), "success")
    return redirect(url_for("portal.profile", _anchor="calendar"))
