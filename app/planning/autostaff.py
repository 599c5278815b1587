"""The optimiser from the board: run it, review its proposal as a diff, accept all,
some or none."""

from __future__ import annotations

from typing import Any

from quart import flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _, ngettext
from app.core.paging import Page, page_number, shown_page
from app.core.routes import Routes
from app.core.validation import parse_id, parse_ids
from app.core.web import db, on_refusal, render
from app.domain import autostaff
from app.domain.autostaff.rerunning import change_rows, declined_since, rerun_after_declines
from app.domain.autostaff.unfilled import open_places
from app.domain.elections.elections import get_election
from app.domain.labels import RUN_STATUS
from app.domain.staffing import board, proposals, review

routes = Routes()

#: Places left open listed with their reasons on the review (the first, in shift order).
OPEN_PLACES_SHOWN = 50
#: Districts on one page of the review; each opens to its proposals.
GROUPS_PER_PAGE = 25
#: A review with no more rows than this shows every district open.
OPEN_LIMIT = 60


@routes.post("/elections/<int:election_id>/autostaff")
@requires("staffing.edit")
async def autostaff_run(election_id: int) -> WerkzeugResponse:
    await get_election(db(), election_id)
    form = await request.form
    run = await autostaff.create_run(
        db(), current_actor(), election_id, include_reserves=form.get("include_reserves") == "1"
    )
    return redirect(url_for("planning.autostaff_review", election_id=election_id, run_id=run.id))


@routes.get("/elections/<int:election_id>/autostaff/<int:run_id>")
@requires("staffing.edit")
async def autostaff_review(election_id: int, run_id: int) -> str:
    """The proposal: its summary in words, then its rows by district, a page at a time."""
    election = await get_election(db(), election_id)
    run = await proposals.get_run(db(), election.id, run_id)
    filters = review.ReviewFilters(
        district_id=parse_id(request.args.get("district")),
        role=request.args.get("role", "")[:100],
        station_query=request.args.get("q", "")[:100],
    )
    rows = await proposals.proposal_rows(db(), run)
    found = await review.review(db(), run, rows, filters)
    page = shown_page(page_number(request.args.get("page")), len(found.groups), GROUPS_PER_PAGE)
    return await render(
        "planning/staffing/autostaff.html",
        election=election,
        run=run,
        review=found,
        summary=found.summary,
        groups=found.groups[(page - 1) * GROUPS_PER_PAGE : page * GROUPS_PER_PAGE],
        paging=Page(page=page, per_page=GROUPS_PER_PAGE, total=len(found.groups)),
        open_groups=bool(filters.district_id) or found.shown <= OPEN_LIMIT,
        filters=filters,
        districts=await board.district_choices(db(), election.id),
        run_status=RUN_STATUS,
        reserve_ids=found.reserve_ids,
        open_places=await open_places(db(), run, OPEN_PLACES_SHOWN),
        unfilled_count=len(run.costs.get("unfilled") or []),
        declined=len(await declined_since(db(), run)),
        changes=await change_rows(db(), run),
    )


@routes.post("/elections/<int:election_id>/autostaff/<int:run_id>/rerun")
@requires("staffing.edit")
async def autostaff_rerun(election_id: int, run_id: int) -> WerkzeugResponse:
    """Fill again only the places of this proposal declined since it was accepted."""
    election = await get_election(db(), election_id)
    run = await proposals.get_run(db(), election.id, run_id)
    on_refusal(lambda error: _to_review(election.id, run.id, error))
    new = await rerun_after_declines(db(), current_actor(), run.id)
    filled = sum(1 for row in new.costs["changes"] if row[3])
    await flash(
        ngettext(
            "Re-run: %(num)s freed place filled again; everyone else keeps their place.",
            "Re-run: %(num)s freed places filled again; everyone else keeps their place.",
            filled,
        ),
        "success",
    )
    return redirect(url_for("planning.autostaff_review", election_id=election.id, run_id=new.id))


@routes.post("/elections/<int:election_id>/autostaff/<int:run_id>/apply")
@requires("staffing.edit")
async def autostaff_apply(election_id: int, run_id: int) -> Any:
    election = await get_election(db(), election_id)
    run = await proposals.get_run(db(), election.id, run_id)
    form = await request.form
    indexes = None if form.get("all") == "1" else parse_ids(form.getlist("items"), limit=100_000)
    if indexes is not None:
        # Ids are 1-based on the wire (0 is not a valid id); items are 0-based.
        indexes = [index - 1 for index in indexes]
    on_refusal(lambda error: _to_board(election_id, error))
    applied, skipped = await autostaff.apply_run(db(), current_actor(), run.id, indexes)
    accepted = ngettext(
        "%(num)s proposal accepted as an assignment.",
        "%(num)s proposals accepted as assignments.",
        applied,
    )
    await flash(accepted, "success")
    if skipped:
        await flash(
            _("%(count)s could not be accepted; they no longer fit.", count=len(skipped)), "error"
        )
    if run.status == "pending":
        # Part of the proposal is still waiting: back to it, for the next district.
        return redirect(
            url_for("planning.autostaff_review", election_id=election.id, run_id=run.id)
        )
    return redirect(url_for("planning.staffing_board", election_id=election.id))


@routes.post("/elections/<int:election_id>/autostaff/<int:run_id>/discard")
@requires("staffing.edit")
async def autostaff_discard(election_id: int, run_id: int) -> WerkzeugResponse:
    election = await get_election(db(), election_id)
    run = await proposals.get_run(db(), election.id, run_id)
    on_refusal(lambda error: _to_board(election_id, error))
    await autostaff.discard_run(db(), current_actor(), run.id)
    await flash(_("The proposal has been discarded. Nothing was changed."), "success")
    return redirect(url_for("planning.staffing_board", election_id=election.id))


async def _to_board(election_id: int, error: DomainError) -> WerkzeugResponse:
    """A refused apply or discard: the message, on the staffing board."""
    await flash(error.message, "error")
    return redirect(url_for("planning.staffing_board", election_id=election_id))


async def _to_review(election_id: int, run_id: int, error: DomainError) -> WerkzeugResponse:
    """A refused re-run: the message, on the proposal."""
    await flash(error.message, "error")
    return redirect(url_for("planning.autostaff_review", election_id=election_id, run_id=run_id))
