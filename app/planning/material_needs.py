"""Materials: the need rules, each station's needs and figures, and the shortfall."""

from __future__ import annotations

from typing import Any

from quart import flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.elections.elections import get_election
from app.domain.materials import catalogue, needs, rules, stock
from app.domain.materials.needs import NeedsChange
from app.domain.models import ARTICLE_CATEGORIES, RULE_STATION_KINDS, STATION_FIGURES
from app.domain.ops.dashboard import election_in_focus

routes = Routes()

#: How many changed needs a recompute lists on the page (the rest are counted).
CHANGES_SHOWN = 300


async def _rule_choices() -> dict[str, Any]:
    articles = await catalogue.list_articles(db(), active_only=True)
    targets = [(str(a.id), a.name) for a in articles] + [
        (f"category:{c}", _("%(category)s (each article)", category=catalogue.CATEGORY_LABELS[c]))
        for c in ARTICLE_CATEGORIES
    ]
    return {
        "targets": targets,
        "station_kinds": [(k, rules.STATION_KIND_LABELS[k]) for k in RULE_STATION_KINDS],
    }


async def _rules_page(
    values: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> str:
    found = await rules.list_rules(db())
    return await render(
        "planning/materials/rules.html",
        rules=[(rule, rules.sentence(rule), rules.formula_of(rule)) for rule in found],
        values=values or {"station_kinds": ["polling", "advance"]},
        errors=errors or {},
        **await _rule_choices(),
    )


async def _rule_values() -> dict[str, Any]:
    form = await request.form
    return {**form.to_dict(), "station_kinds": form.getlist("station_kinds")}


@routes.get("/materials/rules")
@requires("materials.view")
async def materials_rules() -> str:
    """The need rules as sentences, and a form to add one."""
    return await _rules_page()


@routes.post("/materials/rules")
@requires("materials.edit")
async def materials_rule_new() -> WerkzeugResponse | tuple[str, int]:
    values = await _rule_values()

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _rules_page(values, error.errors), 422

    on_refusal(refused)
    await rules.save_rule(db(), current_actor(), values)
    await flash(_("The rule has been added. Recompute the needs to apply it."), "success")
    return redirect(url_for("planning.materials_rules"))


@routes.route("/materials/rules/<int:rule_id>", methods=["GET", "POST"])
@requires("materials.edit")
async def materials_rule_edit(rule_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    rule = await rules.get_rule(db(), rule_id)
    values = rules.rule_values(rule)

    async def form_page(errors: dict[str, str], status: int = 200) -> tuple[str, int]:
        page = await render(
            "planning/materials/rule_form.html",
            rule=rule,
            sentence=rules.sentence(rule),
            values=values,
            errors=errors,
            **await _rule_choices(),
        )
        return page, status

    if request.method == "POST":
        values = await _rule_values()
        values["active"] = values.get("active", "")
        on_refusal(lambda error: form_page(error.errors, 422))
        await rules.save_rule(db(), current_actor(), values, rule.id)
        await flash(_("The rule has been saved. Recompute the needs to apply it."), "success")
        return redirect(url_for("planning.materials_rules"))
    return await form_page({})


@routes.get("/materials/needs")
@requires("materials.view")
async def materials_needs_now() -> WerkzeugResponse:
    """The menu's entry: the needs of the election in focus."""
    election_id = await election_in_focus(db())
    if election_id is None:
        await flash(_("There is no election yet."), "error")
        return redirect(url_for("planning.home"))
    return redirect(url_for("planning.materials_needs", election_id=election_id))


async def _needs_page(election_id: int, change: NeedsChange | None = None) -> str:
    election = await get_election(db(), election_id)
    overview = await needs.needs_overview(db(), election.id)
    return await render(
        "planning/materials/needs.html",
        election=election,
        overview=overview,
        change=change,
        changes_shown=CHANGES_SHOWN,
        figures=STATION_FIGURES,
        figure_labels=rules.FIGURE_LABELS,
    )


@routes.get("/materials/elections/<int:election_id>/needs")
@requires("materials.view")
async def materials_needs(election_id: int) -> str:
    """Every station's figures and needs, with the totals per article."""
    return await _needs_page(election_id)


@routes.post("/materials/elections/<int:election_id>/needs")
@requires("materials.edit")
async def materials_needs_compute(election_id: int) -> str:
    """Recompute the needs of every station and show what changed."""
    change = await needs.compute_needs(db(), current_actor(), election_id)
    return await _needs_page(election_id, change)


async def _station_page(
    election_id: int,
    station_id: int,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> str:
    election = await get_election(db(), election_id)
    overview = await needs.needs_overview(db(), election.id, station_id)
    if not overview.stations:
        raise NotFound(_("Not found."))
    articles = {a.id: a for a in await catalogue.list_articles(db(), election.id)}
    return await render(
        "planning/materials/station.html",
        election=election,
        station=overview.stations[0],
        station_needs=overview.needs.get(station_id, {}),
        articles=articles,
        figures=STATION_FIGURES,
        figure_labels=rules.FIGURE_LABELS,
        values=values or {"figure": "voters"},
        errors=errors or {},
    )


@routes.get("/materials/elections/<int:election_id>/stations/<int:station_id>")
@requires("materials.view")
async def materials_station(election_id: int, station_id: int) -> str:
    """A station's figures (the register's and the planner's) and its needs."""
    return await _station_page(election_id, station_id)


@routes.post("/materials/elections/<int:election_id>/stations/<int:station_id>")
@requires("materials.edit")
async def materials_station_figure(
    election_id: int, station_id: int
) -> WerkzeugResponse | tuple[str, int]:
    """Set one of the station's figures by hand, with the reason."""
    values = (await request.form).to_dict()

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _station_page(election_id, station_id, values, error.errors), 422

    on_refusal(refused)
    await needs.set_station_figure(db(), current_actor(), election_id, station_id, values)
    await flash(_("The figure has been saved. Recompute the needs to apply it."), "success")
    return redirect(
        url_for("planning.materials_station", election_id=election_id, station_id=station_id)
    )


async def _shortfall_page(election_id: int, result: stock.ReservationResult | None = None) -> str:
    election = await get_election(db(), election_id)
    return await render(
        "planning/materials/shortfall.html",
        election=election,
        lines=await stock.shortfall(db(), election.id),
        result=result,
        category_labels=catalogue.CATEGORY_LABELS,
    )


@routes.get("/materials/elections/<int:election_id>/shortfall")
@requires("materials.view")
async def materials_shortfall(election_id: int) -> str:
    """What the election needs, what the depots hold, and what to order."""
    return await _shortfall_page(election_id)


@routes.post("/materials/elections/<int:election_id>/reservations")
@requires("materials.edit")
async def materials_reserve(election_id: int) -> str:
    """Set stock aside for every station's needs."""
    result = await stock.reserve(db(), current_actor(), election_id)
    return await _shortfall_page(election_id, result)
