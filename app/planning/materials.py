"""Materials: the catalogue of articles, equipment by asset tag, depots and stock."""

from __future__ import annotations

from typing import Any

from quart import flash, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.auth import current_actor, requires
from app.core.errors import DomainError
from app.core.i18n import _, ngettext
from app.core.routes import Routes
from app.core.web import db, on_refusal, render
from app.domain.elections.elections import list_elections
from app.domain.materials import catalogue, stock
from app.domain.materials.asset_import import AssetImportError, import_assets
from app.domain.models import ARTICLE_CATEGORIES, ARTICLE_KINDS, ASSET_STATES

routes = Routes()

ARTICLE_FIELDS = ("name", "unit", "kind", "category", "party", "election_id", "pack_size", "active")
ASSET_FIELDS = ("article_id", "tag", "serial", "depot_id", "state", "note")


async def _choices() -> dict[str, Any]:
    """What the catalogue's forms choose from."""
    elections = [(e.id, e.name) for e, _d, _s in await list_elections(db())]
    return {
        "kinds": [(k, catalogue.KIND_LABELS[k]) for k in ARTICLE_KINDS],
        "categories": [(c, catalogue.CATEGORY_LABELS[c]) for c in ARTICLE_CATEGORIES],
        "states": [(s, catalogue.ASSET_STATE_LABELS[s]) for s in ASSET_STATES],
        "elections": elections,
        "election_names": dict(elections),
        "category_labels": catalogue.CATEGORY_LABELS,
        "kind_labels": catalogue.KIND_LABELS,
        "state_labels": catalogue.ASSET_STATE_LABELS,
    }


async def _catalogue_page(
    values: dict[str, Any] | None = None, errors: dict[str, str] | None = None
) -> str:
    return await render(
        "planning/materials/catalogue.html",
        articles=await catalogue.list_articles(db()),
        values=values or {"unit": "st", "pack_size": 1, "kind": "consumable"},
        errors=errors or {},
        **await _choices(),
    )


@routes.get("/materials/")
@requires("materials.view")
async def materials_catalogue() -> str:
    """Every article of the catalogue, and a form to add one."""
    return await _catalogue_page()


@routes.post("/materials/articles")
@requires("materials.edit")
async def materials_article_new() -> WerkzeugResponse | tuple[str, int]:
    values = (await request.form).to_dict()

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _catalogue_page(values, error.errors), 422

    on_refusal(refused)
    await catalogue.save_article(db(), current_actor(), values)
    await flash(_("The article has been added."), "success")
    return redirect(url_for("planning.materials_catalogue"))


@routes.route("/materials/articles/<int:article_id>", methods=["GET", "POST"])
@requires("materials.edit")
async def materials_article_edit(article_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    """Change an article; unticking “In use” retires it (its history stays)."""
    article = await catalogue.get_article(db(), article_id)
    values: dict[str, Any] = {key: getattr(article, key) for key in ARTICLE_FIELDS}

    async def form_page(errors: dict[str, str], status: int = 200) -> tuple[str, int]:
        page = await render(
            "planning/materials/article_form.html",
            article=article,
            values=values,
            errors=errors,
            **await _choices(),
        )
        return page, status

    if request.method == "POST":
        form = await request.form
        values = {**form.to_dict(), "active": form.get("active", "")}
        on_refusal(lambda error: form_page(error.errors, 422))
        await catalogue.save_article(db(), current_actor(), values, article.id)
        await flash(_("The article has been saved."), "success")
        return redirect(url_for("planning.materials_catalogue"))
    return await form_page({})


async def _equipment_page(
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    import_problems: list[str] | None = None,
) -> str:
    query = request.args.get("q", "")
    equipment = [a for a in await catalogue.list_articles(db()) if a.kind == "equipment"]
    return await render(
        "planning/materials/equipment.html",
        assets=await catalogue.list_assets(db(), query),
        query=query,
        equipment=[(a.id, a.name) for a in equipment],
        depots=[(d.id, d.name) for d in await catalogue.list_depots(db())],
        values=values or {"state": "in_stock"},
        errors=errors or {},
        import_problems=import_problems or [],
        **await _choices(),
    )


@routes.get("/materials/equipment")
@requires("materials.view")
async def materials_equipment() -> str:
    """Equipment by asset tag: where each item is kept and its state."""
    return await _equipment_page()


@routes.post("/materials/equipment")
@requires("materials.edit")
async def materials_asset_new() -> WerkzeugResponse | tuple[str, int]:
    values = (await request.form).to_dict()

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _equipment_page(values, error.errors), 422

    on_refusal(refused)
    await catalogue.save_asset(db(), current_actor(), values)
    await flash(_("The item has been registered."), "success")
    return redirect(url_for("planning.materials_equipment"))


@routes.post("/materials/equipment/import")
@requires("materials.edit")
async def materials_asset_import() -> WerkzeugResponse | tuple[str, int]:
    """Register the items of a CSV or Excel file: every row, or none."""
    upload = (await request.files).get("file")
    if upload is None or not upload.filename:
        return await _equipment_page(import_problems=[_("Choose a file.")]), 422

    async def refused(error: DomainError) -> tuple[str, int]:
        problems = error.problems if isinstance(error, AssetImportError) else [error.message]
        return await _equipment_page(import_problems=problems), 422

    on_refusal(refused)
    count = await import_assets(db(), current_actor(), upload.filename, upload.read())
    await flash(
        ngettext("%(num)s item has been registered.", "%(num)s items have been registered.", count),
        "success",
    )
    return redirect(url_for("planning.materials_equipment"))


@routes.route("/materials/equipment/<int:asset_id>", methods=["GET", "POST"])
@requires("materials.edit")
async def materials_asset_edit(asset_id: int) -> str | WerkzeugResponse | tuple[str, int]:
    asset = await catalogue.get_asset(db(), asset_id)
    values: dict[str, Any] = {key: getattr(asset, key) for key in ASSET_FIELDS}

    async def form_page(errors: dict[str, str], status: int = 200) -> tuple[str, int]:
        equipment = [a for a in await catalogue.list_articles(db()) if a.kind == "equipment"]
        page = await render(
            "planning/materials/asset_form.html",
            asset=asset,
            values=values,
            errors=errors,
            equipment=[(a.id, a.name) for a in equipment],
            depots=[(d.id, d.name) for d in await catalogue.list_depots(db())],
            **await _choices(),
        )
        return page, status

    if request.method == "POST":
        values = (await request.form).to_dict()
        on_refusal(lambda error: form_page(error.errors, 422))
        await catalogue.save_asset(db(), current_actor(), values, asset.id)
        await flash(_("The item has been saved."), "success")
        return redirect(url_for("planning.materials_equipment"))
    return await form_page({})


async def _stock_page(
    depot_form: tuple[dict[str, Any], dict[str, str]] | None = None,
    count_form: tuple[int, dict[str, Any], dict[str, str]] | None = None,
) -> str:
    """The stock page; ``depot_form`` is the new depot's values and errors,
    ``count_form`` a depot's count (its id, values and errors) to show again."""
    overview = await stock.stock_overview(db())
    return await render(
        "planning/materials/stock.html",
        overview=overview,
        consumables=[(a.id, a.name) for a in overview.articles if a.kind == "consumable"],
        depot_values=depot_form[0] if depot_form else {},
        depot_errors=depot_form[1] if depot_form else {},
        count_form=count_form,
        **await _choices(),
    )


@routes.get("/materials/stock")
@requires("materials.view")
async def materials_stock() -> str:
    """What each depot holds: consumables counted, equipment by its items."""
    return await _stock_page()


@routes.post("/materials/depots")
@requires("materials.edit")
async def materials_depot_new() -> WerkzeugResponse | tuple[str, int]:
    form = (await request.form).to_dict()
    values = {"name": form.get("name", ""), "address": form.get("address", "")}

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _stock_page(depot_form=(values, error.errors)), 422

    on_refusal(refused)
    await catalogue.save_depot(db(), current_actor(), values)
    await flash(_("The depot has been added."), "success")
    return redirect(url_for("planning.materials_stock"))


@routes.post("/materials/depots/<int:depot_id>/stock")
@requires("materials.edit")
async def materials_stock_count(depot_id: int) -> WerkzeugResponse | tuple[str, int]:
    """Record what a depot holds of a consumable, counted at the shelf."""
    form = (await request.form).to_dict()
    depot = await catalogue.get_depot(db(), depot_id)

    async def refused(error: DomainError) -> tuple[str, int]:
        return await _stock_page(count_form=(depot.id, form, error.errors)), 422

    on_refusal(refused)
    await stock.set_stock(db(), current_actor(), depot.id, form)
    await flash(_("The stock has been counted."), "success")
    return redirect(url_for("planning.materials_stock"))
