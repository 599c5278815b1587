"""The portal's start page: my places, my co-workers, and my offers to answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError, NotFound
from app.core.i18n import _, get_locale
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.clerks import places as portal
from app.domain.clerks import undertaking
from app.domain.courses.my_courses import needs_by_assignment
from app.domain.labels import ASSIGNMENT_STATE
from app.domain.ops.access import local_today
from app.domain.site import webparts
from app.domain.staffing.offer_terms import OfferTerms, make_terms
from app.portal.me import my_person

routes = Routes()

#: Declining this close to the shift warns that the office is told at once.
LATE_DECLINE_DAYS = 14


@routes.get("/")
@requires("portal.use")
async def home() -> str:
    person = await my_person()
    places = await portal.my_places(db(), person) if person else []
    today = await local_today(db())
    upcoming = [p for p in places if not p.is_past]
    # Shifts already worked in an election still ahead are done, not an earlier election.
    past = [p for p in places if p.is_past]
    done = [p for p in past if p.election.election_day >= today]
    course_needs = (
        await needs_by_assignment(db(), person, [p.assignment for p in upcoming]) if person else {}
    )
    return await render(
        "portal/home.html",
        person=person,
        upcoming=upcoming,
        course_needs=course_needs,
        done=sorted(done, key=lambda p: (p.shift.day, p.shift.starts_at), reverse=True),
        past=[p for p in past if p.election.election_day < today],
        state_labels=ASSIGNMENT_STATE,
        late_until=today + dt.timedelta(days=LATE_DECLINE_DAYS),
        offer_terms=await _offer_terms(upcoming),
        bring=await webparts.shown(db(), "what_to_bring", get_locale()),
        must_sign=await undertaking.must_sign(db(), person) if person else False,
    )


async def _offer_terms(places: list[portal.MyPlace]) -> dict[int, OfferTerms]:
    """Pay, answer deadline and the office's contact of each place still to answer."""
    offered = [p for p in places if p.assignment.state == "offered"]
    if not offered:
        return {}
    settings = await webparts.site_settings(db())
    return {
        p.assignment.id: make_terms(
            p.role, p.station, p.building, p.assignment.answer_by, settings, g.tenant.timezone
        )
        for p in offered
    }


@routes.post("/offers/<int:assignment_id>")
@requires("portal.use")
async def answer_offer(assignment_id: int) -> WerkzeugResponse:
    person = await my_person()
    if person is None:
        raise NotFound(_("Not found."))
    form = await request.form
    accept = form.get("answer") == "accept"

    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(url_for("portal.home"))

    on_refusal(refused)
    answer = await portal.answer_my_offer(
        db(),
        g.tenant,
        person,
        assignment_id,
        accept,
        form.get("reason", ""),
        actor=current_actor(),
    )
    message: Any = (
        _("Thank you! You have accepted the place.")
        if answer.accepted
        else _("You have declined. The election office has been told.")
    )
    await flash(message, "success")
    return redirect(url_for("portal.home"))
