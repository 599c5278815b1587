"""The staffing board: see what is missing, put people in places, send offers, keep
reserves, propose last election's teams, and review the optimiser's proposal."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from quart import flash, g, redirect, request, url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError, NotFound
from app.core.i18n import _, ngettext
from app.core.paging import Page, page_number, shown_page
from app.core.routes import Routes
from app.core.validation import parse_id, parse_ids
from app.core.web import app_settings, db, is_htmx, on_refusal, render
from app.domain.autostaff.rerunning import runs_with_declines
from app.domain.elections.elections import get_election
from app.domain.labels import ASSIGNMENT_STATE, STATION_KIND, choices
from app.domain.models import Assignment, Station
from app.domain.registers.people import search_people
from app.domain.staffing import assignments, board, offers, overview, place_notices
from app.domain.staffing.offer_preview import preview_offers
from app.domain.staffing.reserves import regular_places_of_reserves

routes = Routes()

#: Station cards on one page of the board; an election with no more stations shows
#: them without being narrowed first.
STATIONS_PER_PAGE = 10
#: District lines on one page of the board's overview.
DISTRICTS_PER_PAGE = 25


def _filters(args: MultiDict[str, str] | None = None) -> overview.OverviewFilters:
    """The board's filters from its query string (``args``, or the request's own)."""
    args = request.args if args is None else args
    try:
        day = dt.date.fromisoformat(args.get("day", ""))
    except ValueError:
        day = None
    kind = args.get("kind")
    show = args.get("show", "")
    if args.get("unfilled") == "1" and not show:
        show = "open"  # the board's older address for "only stations with open places"
    return overview.OverviewFilters(
        district_id=parse_id(args.get("district")),
        station_kind=kind if kind in ("polling", "advance") else None,
        day=day,
        role_type_id=parse_id(args.get("role")),
        station_query=args.get("q", "")[:100],
        show=show if show in overview.SHOW_CHOICES else "all",
    )


@routes.get("/elections/<int:election_id>/staffing")
@requires("staffing.view")
async def staffing_board(election_id: int) -> str:
    """The board at any size: the totals and the filters with their counts first; then
    the districts a page at a time, or (narrowed, or a small election) a page of
    station cards."""
    election = await get_election(db(), election_id)  # an unknown election is a 404
    filters = _filters()
    found = await overview.staffing_overview(db(), election_id, filters)
    narrowed = bool(filters.district_id or filters.station_kind or filters.station_query) or (
        filters.show != "all"
    )
    show_stations = narrowed or len(found.stations) <= STATIONS_PER_PAGE
    asked = page_number(request.args.get("page"))
    districts = await board.district_choices(db(), election_id)
    lines: list[overview.DistrictLine] = []
    if not narrowed:
        lacking = await overview.lacking_course_by_district(db(), election_id)
        lines = found.districts(districts, lacking)
    if show_stations:
        total, per_page = len(found.stations), STATIONS_PER_PAGE
        page = shown_page(asked, total, per_page)
        shown = found.stations[(page - 1) * per_page : page * per_page]
        result = await board.staffing_board(
            db(),
            election_id,
            board.BoardFilters(
                district_id=filters.district_id,
                day=filters.day,
                station_ids=[line.station_id for line in shown],
                role_type_id=filters.role_type_id,
            ),
        )
    else:
        total, per_page = len(lines), DISTRICTS_PER_PAGE
        page = shown_page(asked, total, per_page)
        lines = lines[(page - 1) * per_page : page * per_page]
        result = board.Board(election, [], [], [], board.BoardFilters())
    return await render(
        "planning/staffing/board.html",
        block="board",
        board=result,
        filters=filters,
        overview=found,
        totals=found.totals,
        lines=lines,
        paging=Page(page=page, per_page=per_page, total=total),
        districts=districts,
        show_stations=show_stations,
        kind_choices=choices(STATION_KIND),
        state_labels=ASSIGNMENT_STATE,
        # The page's head (not the board's swapped part): proposals with declines.
        declined_runs=[] if is_htmx() else await runs_with_declines(db(), election_id),
    )


async def _station_card(station_id: int, election_id: int, **context: Any) -> str:
    """One station's card of the board, re-drawn after a change (HTMX swaps it), and
    the board's counters beside it, swapped out of band so they follow the change."""
    station = await _station(station_id, election_id)
    result = await board.staffing_board(
        db(), election_id, board.BoardFilters(station_ids=[station.id])
    )
    rows = [row for row in result.stations if row.station.id == station.id]
    if not rows:
        raise NotFound(_("Not found."))
    card = await render("planning/staffing/_station.html", row=rows[0], board=result, **context)
    found = await overview.staffing_overview(db(), election_id, _filters(_board_query()))
    summary = await render("planning/staffing/_summary.html", totals=found.totals, summary_oob=True)
    return card + summary


def _board_query() -> MultiDict[str, str]:
    """The query of the board page an HTMX request came from (its filters), so the
    counters sent with a card count what the page counts."""
    query = urlsplit(request.headers.get("HX-Current-URL", "")).query
    return MultiDict(parse_qsl(query))


async def _station(station_id: int, election_id: int) -> Station:
    station = await db().scalar(
        select(Station).where(Station.id == station_id, Station.election_id == election_id)
    )
    if station is None:
        raise NotFound(_("Not found."))
    return station


@routes.get("/elections/<int:election_id>/staffing/place")
@requires("staffing.edit")
async def staffing_place(election_id: int) -> str:
    """The panel for one place: who holds it and who could (search, or suggestions)."""
    shift_id = parse_id(request.args.get("shift"))
    role_type_id = parse_id(request.args.get("role"))
    if shift_id is None or role_type_id is None:
        raise NotFound(_("Not found."))
    slot, found = await board.candidates(db(), shift_id, role_type_id, request.args.get("q", ""))
    if slot.election.id != election_id:
        raise NotFound(_("Not found."))
    template = "planning/staffing/_place.html"
    context: dict[str, Any] = {
        "slot": slot,
        "candidates": found,
        "query": request.args.get("q", ""),
    }
    if is_htmx() and request.args.get("results") == "1":
        return await render(template, block="results", **context)
    return await render(template, **context)


@routes.post("/elections/<int:election_id>/staffing/assign")
@requires("staffing.edit")
async def staffing_assign(election_id: int) -> Any:
    form = await request.form
    shift_id = parse_id(form.get("shift_id"))
    role_type_id = parse_id(form.get("role_type_id"))
    person_id = parse_id(form.get("person_id"))
    if shift_id is None or role_type_id is None or person_id is None:
        raise NotFound(_("Not found."))
    slot = await assignments.slot_context(db(), shift_id, role_type_id)
    if slot.election.id != election_id:
        raise NotFound(_("Not found."))
    station_id = slot.station.id

    async def refused(error: DomainError) -> Any:
        context = {
            "conflict": error,
            "conflict_person": person_id,
            "conflict_shift": shift_id,
            "conflict_role": role_type_id,
        }
        if is_htmx():
            return await _station_card(station_id, election_id, **context), 409
        await flash(error.message, "error")
        return redirect(url_for("planning.staffing_board", election_id=election_id))

    on_refusal(refused)
    assignment = await assignments.assign_person(
        db(),
        current_actor(),
        shift_id,
        role_type_id,
        person_id,
        override=form.get("override") == "1",
        override_reason=form.get("override_reason", ""),
    )
    if is_htmx():
        # The card comes back with focus on the person just placed (and says so).
        return await _station_card(station_id, election_id, placed=assignment.id)
    await flash(_("The person has been proposed for the place."), "success")
    return redirect(
        url_for(
            "planning.staffing_board", election_id=election_id, district=slot.station.district_id
        )
    )


@routes.route(
    "/elections/<int:election_id>/staffing/assignments/<int:assignment_id>/withdraw",
    methods=["GET", "POST"],
)
@requires("staffing.edit")
async def staffing_withdraw(election_id: int, assignment_id: int) -> Any:
    """Take a person off a place, after a confirm step: the × opens it (in the board's
    panel with HTMX, as a page without script), and only a confirmed post withdraws."""
    summary = await place_notices.place_summary(db(), assignment_id)
    if summary.assignment.election_id != election_id:
        raise NotFound(_("Not found."))
    station = await _station(summary.assignment.station_id, election_id)
    station_id = station.id
    form = await request.form if request.method == "POST" else None
    if form is None or form.get("confirmed") != "1":
        return await render(
            "planning/staffing/withdraw.html",
            block="confirm",
            election=await get_election(db(), election_id),
            district_id=station.district_id,
            summary=summary,
            state_labels=ASSIGNMENT_STATE,
            in_panel=is_htmx(),
        )

    async def board_again() -> Any:
        if is_htmx():
            return await _station_card(station_id, election_id)
        return redirect(
            url_for(
                "planning.staffing_board",
                election_id=election_id,
                district=station.district_id,
                _anchor=f"station-{station_id}",
            )
        )

    async def refused(error: DomainError) -> Any:
        await flash(error.message, "error")
        return await board_again()

    on_refusal(refused)
    await assignments.withdraw_assignment(db(), current_actor(), assignment_id)
    message = (
        _("%(name)s has been taken off the shift and told.", name=summary.person.full_name)
        if summary.will_be_told
        else _("%(name)s has been taken off the shift.", name=summary.person.full_name)
    )
    if is_htmx():
        return await _station_card(station_id, election_id, notice=message)
    await flash(message, "success")
    return await board_again()


@routes.post("/elections/<int:election_id>/staffing/stations/<int:station_id>/team")
@requires("staffing.edit")
async def staffing_team(election_id: int, station_id: int) -> Any:
    await _station(station_id, election_id)

    async def refused(error: DomainError) -> Any:
        return await _station_card(station_id, election_id, notice=error.message), 409

    on_refusal(refused)
    result = await assignments.propose_last_team(db(), current_actor(), station_id)
    notice = _("%(count)s of last election's team proposed.", count=result.proposed)
    return await _station_card(station_id, election_id, notice=notice, skipped=result.skipped)


@routes.post("/elections/<int:election_id>/staffing/offers")
@requires("staffing.edit")
async def staffing_send_offers(election_id: int) -> str | WerkzeugResponse:
    """Send offers for the proposals of the whole election, or of one district: the
    first post shows how many offers, e-mails and SMS (parts, cost) it will send."""
    await get_election(db(), election_id)
    form = await request.form
    district_id = parse_id(form.get("district"))
    statement = select(Assignment.id).where(
        Assignment.election_id == election_id, Assignment.state == "proposed"
    )
    if district_id is not None:
        statement = statement.join(Station, Station.id == Assignment.station_id).where(
            Station.district_id == district_id
        )
    ids = parse_ids([str(i) for i in await db().scalars(statement)], limit=100_000)
    if form.get("confirmed") != "1":
        # First what it will send and cost; the office confirms on that page.
        counted = await preview_offers(db(), g.tenant, ids, app_settings().base_url)
        cost = app_settings().sms_price_per_part * counted.sms_parts
        return await render(
            "planning/staffing/offers_confirm.html",
            election=await get_election(db(), election_id),
            district_id=district_id,
            counted=counted,
            cost=cost,
        )
    sent = await offers.send_offers(db(), current_actor(), g.tenant, ids, app_settings().base_url)
    await flash(ngettext("%(num)s offer sent.", "%(num)s offers sent.", sent), "success")
    return redirect(
        url_for("planning.staffing_board", election_id=election_id, district=district_id)
    )


# --- reserves -------------------------------------------------------------------------------


async def _reserves_page(
    election_id: int, errors: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    election = await get_election(db(), election_id)
    query = request.args.get("q", "")
    found = (await search_people(db(), query=query, status="active")).people if query else []
    page = await render(
        "planning/staffing/reserves.html",
        election=election,
        pool=await assignments.reserve_pool(db(), election.id),
        regular_places=await regular_places_of_reserves(db(), election.id),
        state_labels=ASSIGNMENT_STATE,
        districts=await overview.district_summaries(db(), election.id),
        found=found,
        query=query,
        errors=errors or {},
    )
    return page, status


@routes.get("/elections/<int:election_id>/reserves")
@requires("staffing.view")
async def reserves(election_id: int) -> tuple[str, int]:
    """The election's reserve pool: people ready to be sent where someone is missing."""
    return await _reserves_page(election_id)


@routes.post("/elections/<int:election_id>/reserves")
@requires("staffing.edit")
async def reserve_add(election_id: int) -> Any:
    election = await get_election(db(), election_id)
    form = await request.form
    person_id = parse_id(form.get("person_id"))
    if person_id is None:
        raise NotFound(_("Not found."))

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _reserves_page(election_id, {"person_id": error.message}, 409)

    on_refusal(refused)
    await assignments.add_reserve(
        db(),
        current_actor(),
        election.id,
        person_id,
        parse_id(form.get("district_id")),
        form.get("note", ""),
    )
    await flash(_("Added to the reserves."), "success")
    return redirect(url_for("planning.reserves", election_id=election.id))


@routes.post("/elections/<int:election_id>/reserves/<int:reserve_id>/remove")
@requires("staffing.edit")
async def reserve_remove(election_id: int, reserve_id: int) -> WerkzeugResponse:
    await get_election(db(), election_id)
    await assignments.remove_reserve(db(), current_actor(), election_id, reserve_id)
    await flash(_("Removed from the reserves."), "success")
    return redirect(url_for("planning.reserves", election_id=election_id))
