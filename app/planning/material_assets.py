"""Equipment out and back: the items with their holders (filtered by article, state,
holder and overdue), one item's history, the hand-out and take-back forms (a scanner
types the tag and Enter), and after the election what is still out, per holder, with
a reminder to the holders and the list as a spreadsheet.

Read with ``materials.view``; every change needs ``materials.edit`` (the services check
again). Of people these pages show a holder's name and a station lead's phone only.
"""

from __future__ import annotations

from typing import Any

from quart import flash, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.downloads import attachment, slug
from app.core.errors import DomainError
from app.core.i18n import _, lazy_gettext, ngettext
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.elections.elections import get_election
from app.domain.materials import catalogue, handouts, not_returned
from app.domain.models import ASSET_STATES
from app.domain.ops.access import local_today
from app.domain.ops.dashboard import election_in_focus

routes = Routes()

#: At most this many items on the page: the filters and the search find the others.
SHOWN = 300

HOLDER_LABELS = {
    "station": lazy_gettext("At a station"),
    "person": lazy_gettext("With a person"),
    "none": lazy_gettext("Not handed out"),
}


def _id(text: Any) -> int | None:
    """An id given in a form or a query, or None for anything that is not one."""
    text = str(text or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def _filters() -> dict[str, Any]:
    args = request.args
    return {
        "article_id": _id(args.get("article_id")),
        "state": args.get("state") if args.get("state") in ASSET_STATES else "",
        "holder": args.get("holder") if args.get("holder") in handouts.HOLDER_FILTERS else "",
        "overdue": args.get("overdue") == "1",
        "q": args.get("q", "")[:64],
    }


async def _holder_choices(
    election_id: int | None, person_id: int | None, give_values: dict[str, Any]
) -> dict[str, Any]:
    """The stations that match what was typed in the form shown again, or else the one
    chosen, or else the first (``material_asset_stations`` searches), and the station
    leads of the election in focus (with the person the form was opened for, from their
    page)."""
    stations = handouts.StationMatches([], 0)
    people: list[tuple[int, str]] = []
    if election_id is not None:
        stations = await handouts.find_stations(
            db(),
            election_id,
            str(give_values.get("station_query") or ""),
            chosen=_id(give_values.get("station_id")),
        )
        people = await handouts.election_leads(db(), election_id)
    if person_id is not None and person_id not in {p for p, _n in people}:
        named = await handouts.person_choice(db(), person_id)
        if named is not None:
            people.insert(0, named)
    return {"stations": stations, "people": people}


async def _assets_page(
    give: tuple[dict[str, Any], dict[str, str]] | None = None,
    back: tuple[dict[str, Any], dict[str, str]] | None = None,
) -> str:
    """The list, and the hand-out (``give``) or take-back (``back``) form's values and
    errors to show again."""
    filters = _filters()
    today = await local_today(db())
    election_id = await election_in_focus(db())
    give_values = give[0] if give else {"holder": "station"}
    person_id = _id(request.args.get("person_id"))
    if person_id is not None:  # opened from the person's page
        give_values = {**give_values, "holder": "person", "person_id": person_id}
    person_id = person_id or _id(give_values.get("person_id"))
    articles = [a for a in await catalogue.list_articles(db()) if a.kind == "equipment"]
    return await render(
        "planning/materials/assets.html",
        rows=await handouts.list_assets(db(), filters, today, limit=SHOWN + 1),
        shown=SHOWN,
        filters=filters,
        articles=[(a.id, a.name) for a in articles],
        states=[(s, catalogue.ASSET_STATE_LABELS[s]) for s in ASSET_STATES],
        state_labels=catalogue.ASSET_STATE_LABELS,
        holders=list(HOLDER_LABELS.items()),
        conditions=list(handouts.CONDITION_LABELS.items()),
        election_id=election_id,
        give_values=give_values,
        give_errors=give[1] if give else {},
        back_values=back[0] if back else {"condition": "ok"},
        back_errors=back[1] if back else {},
        **await _holder_choices(election_id, person_id, give_values),
    )


@routes.get("/materials/assets")
@requires("materials.view")
async def material_assets() -> str:
    """Every item with who holds it; hand out and take back by the tag."""
    return await _assets_page()


@routes.get("/materials/assets/stations")
@requires("materials.view")
async def material_asset_stations() -> str:
    """The hand-out form's stations whose name or district holds what was typed, by
    district (a fragment): a city has too many for one list."""
    election_id = await election_in_focus(db())
    query = request.args.get("station_query", "")[:100]
    matches = handouts.StationMatches([], 0)
    if election_id is not None:
        matches = await handouts.find_stations(db(), election_id, query)
    return await render(
        "planning/materials/_station_choice.html",
        stations=matches,
        station_query=query,
        selected=str(_id(request.args.get("station_id")) or ""),
    )


@routes.post("/materials/assets/hand-out")
@requires("materials.edit")
async def material_asset_hand_out() -> WerkzeugResponse | tuple[str, int]:
    values = (await request.form).to_dict()

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _assets_page(give=(values, error.errors)), 422

    on_refusal(refused)
    handout = await handouts.hand_out(db(), current_actor(), values)
    asset = await handouts.get_asset(db(), handout.asset_id)  # the tag as registered
    await flash(_("%(tag)s has been handed out.", tag=asset.tag), "success")
    if handout.person_id is not None and values.get("back_to") == "person":
        return redirect(url_for("planning.person_detail", person_id=handout.person_id))
    return redirect(url_for("planning.material_assets"))


@routes.post("/materials/assets/take-back")
@requires("materials.edit")
async def material_asset_take_back() -> WerkzeugResponse | tuple[str, int]:
    values = (await request.form).to_dict()

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _assets_page(back=(values, error.errors)), 422

    on_refusal(refused)
    handout = await handouts.take_back(db(), current_actor(), values)
    label = handouts.CONDITION_LABELS[handout.condition or "ok"]
    asset = await handouts.get_asset(db(), handout.asset_id)
    await flash(
        _("%(tag)s has been taken back (%(condition)s).", tag=asset.tag, condition=label),
        "success",
    )  # fmt: skip
    return redirect(url_for("planning.material_assets"))


@routes.get("/materials/assets/<int:asset_id>")
@requires("materials.view")
async def material_asset_history(asset_id: int) -> str:
    """One item: where it is kept, and every hand-out with who, when and how it came back."""
    asset = await handouts.get_asset(db(), asset_id)
    return await render(
        "planning/materials/asset_history.html",
        asset=asset,
        history=await handouts.asset_history(db(), asset.id),
        state_labels=catalogue.ASSET_STATE_LABELS,
        condition_labels=handouts.CONDITION_LABELS,
    )


# --- after the election ----------------------------------------------------------------


@routes.get("/materials/elections/<int:election_id>/not-returned")
@requires("materials.view")
async def material_not_returned(election_id: int) -> str:
    """The election's items still out, per holder, with whom to call."""
    election = await get_election(db(), election_id)
    today = await local_today(db())
    return await render(
        "planning/materials/not_returned.html",
        election=election,
        holders=await not_returned.still_out(db(), election),
        today=today,
        over=today > election.election_day,
    )


@routes.post("/materials/elections/<int:election_id>/not-returned/remind")
@requires("materials.edit")
async def material_not_returned_remind(election_id: int) -> WerkzeugResponse:
    """A reminder to every holder: by SMS, or mail without a mobile; once a day."""
    election = await get_election(db(), election_id)
    back = url_for("planning.material_not_returned", election_id=election.id)

    async def refused(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(back)

    on_refusal(refused)
    count = await not_returned.remind_holders(
        db(), current_actor(), election, g.tenant.name, await local_today(db())
    )
    await flash(
        ngettext("%(num)s reminder has been queued.", "%(num)s reminders have been queued.", count),
        "success",
    )
    return redirect(back)


@routes.get("/materials/elections/<int:election_id>/not-returned.xlsx")
@requires("materials.view")
async def material_not_returned_xlsx(election_id: int) -> Any:
    election = await get_election(db(), election_id)
    today = await local_today(db())
    holders = await not_returned.still_out(db(), election)
    body = not_returned.report_xlsx(holders, today)
    return attachment(body, "xlsx", f"{slug(_('Not returned'))}-{slug(election.name)}")
