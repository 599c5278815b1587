"""Answering an offer from the link in its email (until the clerk portal takes over)."""

from __future__ import annotations

from quart import g, redirect, request, session, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.errors import DomainError
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.documents import filled
from app.domain.models import Assignment
from app.domain.staffing import offers

routes = Routes()

OFFER_SESSION_KEY = "offer_token"


@routes.get("/offer")
async def offer() -> str | WerkzeugResponse | tuple[str, int]:
    link_token = request.args.get("token")
    if link_token:
        # The secret leaves the address bar at once, as with every emailed link.
        session[OFFER_SESSION_KEY] = link_token
        return redirect(url_for("public.offer"))
    assignment = await offers.offer_for_token(db(), str(session.get(OFFER_SESSION_KEY) or ""))
    if assignment is None:
        return await render("public/offer.html", assignment=None, error=None), 410
    return await _offer_page(assignment, None)


async def _offer_page(assignment: Assignment | None, error: str | None) -> str:
    """The offer with what the clerk decides by: pay, answer deadline, contact, place."""
    terms = await offers.offer_terms(db(), g.tenant, assignment) if assignment else None
    intro = await filled.offer_intro(db(), assignment) if assignment else ""
    return await render(
        "public/offer.html", assignment=assignment, terms=terms, error=error, intro=intro
    )


@routes.post("/offer")
async def offer_answer() -> str | tuple[str, int]:
    form = await request.form
    token = str(session.get(OFFER_SESSION_KEY) or "")

    async def refused(error: DomainError) -> tuple[str, int]:
        assignment = await offers.offer_for_token(db(), token)
        return await _offer_page(assignment, error.message), 409

    on_refusal(refused)
    answer = await offers.answer_offer(
        db(), token, form.get("answer") == "accept", form.get("reason", "")
    )
    return await _offer_page(answer.assignment, None)
