"""An election's reminders that run themselves: the settings, what they will send next
and what they have sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.i18n import _
from app.core.models import utcnow
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.elections.elections import get_election
from app.domain.labels import REMINDER_OCCASION
from app.domain.messaging.catalog import LOCALES
from app.domain.reminders.overview import reminder_overview
from app.domain.reminders.settings import save_reminder_settings
from app.jobs.reminders import REMIND_FROM_HOUR

routes = Routes()

FIELDS = (
    "shift_reminder_on",
    "shift_reminder_days",
    "shift_reminder_hour",
    "eve_on",
    "eve_hour",
    "wake_up_on",
    "wake_up_at",
    "offer_on",
    "offer_days",
    "offer_hour",
)


async def _page(
    election_id: int, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> str:
    election = await get_election(db(), election_id)
    overview = await reminder_overview(db(), election.id, utcnow())
    if values is None:
        values = {name: getattr(overview.settings, name) for name in FIELDS}
        values["wake_up_at"] = overview.settings.wake_up_at.strftime("%H:%M")
    return await render(
        "planning/reminders/settings.html",
        election=election,
        overview=overview,
        values=values,
        errors=errors or {},
        occasion_labels=REMINDER_OCCASION,
        zone=g.tenant.timezone,
        course_hour=dt.time(REMIND_FROM_HOUR).strftime("%H:%M"),
        # The texts are the office's message templates, edited in its own language first.
        text_locale=g.tenant.locale if g.tenant.locale in LOCALES else "sv",
    )


@routes.get("/elections/<int:election_id>/reminders")
@requires("staffing.view")
async def reminders_page(election_id: int) -> str:
    return await _page(election_id)


@routes.post("/elections/<int:election_id>/reminders")
@requires("messaging.send")
async def reminders_save(election_id: int) -> str | WerkzeugResponse:
    form = (await request.form).to_dict()

    async def again(errors: dict[str, str]) -> tuple[str, int]:
        return await _page(election_id, form, errors), 422

    on_refusal(lambda error: again(error.errors))
    await save_reminder_settings(db(), current_actor(), election_id, form)
    await flash(_("The reminders have been saved."), "success")
    return redirect(url_for("planning.reminders_page", election_id=election_id))
