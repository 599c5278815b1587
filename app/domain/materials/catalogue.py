"""The catalogue: articles (consumables and kinds of equipment), depots, and the pieces
of equipment known by their asset tags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import _, lazy_gettext
from app.core.validation import Cleaner, FieldErrors
from app.domain.models import (
    ARTICLE_CATEGORIES,
    ARTICLE_KINDS,
    ASSET_STATES,
    Election,
    MaterialArticle,
    MaterialAsset,
    MaterialDepot,
)
from app.domain.saving import has_name, is_taken, store

KIND_LABELS = {
    "consumable": lazy_gettext("Consumable (counted)"),
    "equipment": lazy_gettext("Equipment (one by one)"),
}
CATEGORY_LABELS = {
    "ballot_paper": lazy_gettext("Ballot papers"),
    "envelope": lazy_gettext("Envelopes"),
    "seal": lazy_gettext("Seals"),
    "form": lazy_gettext("Forms"),
    "sign": lazy_gettext("Signs"),
    "pen": lazy_gettext("Pens"),
    "voting_screen": lazy_gettext("Voting screens"),
    "ballot_box": lazy_gettext("Ballot boxes"),
    "laptop": lazy_gettext("Laptops"),
    "phone": lazy_gettext("Phones"),
    "key": lazy_gettext("Keys"),
    "other": lazy_gettext("Other"),
}
ASSET_STATE_LABELS = {
    "in_stock": lazy_gettext("In stock"),
    "reserved": lazy_gettext("Reserved"),
    "out": lazy_gettext("Out at a station"),
    "missing": lazy_gettext("Missing"),
    "damaged": lazy_gettext("Damaged"),
    "retired": lazy_gettext("Retired"),
}
#: Categories that are equipment by nature: an article of them is tracked one by one.
EQUIPMENT_CATEGORIES = ("voting_screen", "ballot_box", "laptop", "phone", "key")


async def clean_article(session: AsyncSession, data: Mapping[str, Any]) -> dict[str, Any]:
    cleaner = Cleaner(data)
    values: dict[str, Any] = {
        "name": cleaner.text("name", 200, required=True),
        "unit": cleaner.text("unit", 16) or "st",
        "kind": cleaner.choice("kind", ARTICLE_KINDS, "consumable"),
        "category": cleaner.choice("category", ARTICLE_CATEGORIES, "other"),
        "party": cleaner.text("party", 100) or None,
        "election_id": cleaner.identifier("election_id"),
        "pack_size": cleaner.integer("pack_size", 1, 100000, default=1),
        "active": cleaner.boolean("active") if "active" in data else True,
    }
    if values["kind"] == "consumable" and values["category"] in EQUIPMENT_CATEGORIES:
        cleaner.fail("kind", _("Equipment of this category is tracked one by one."))
    if values["party"] and values["category"] != "ballot_paper":
        cleaner.fail("party", _("Only ballot papers have a party."))
    if values["kind"] == "equipment" and values["pack_size"] != 1:
        cleaner.fail("pack_size", _("Equipment is counted one by one: the pack size is 1."))
    election_id = values["election_id"]
    if election_id is not None and not cleaner.errors.get("election_id"):
        found = await session.scalar(select(Election.id).where(Election.id == election_id))
        if found is None:
            cleaner.fail("election_id", _("Choose one of the options."))
    cleaner.done()
    return values


async def save_article(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any], article_id: int | None = None
) -> MaterialArticle:
    """Add an article to the catalogue, or change one. A name is unique within its
    election (or among the articles for every election)."""
    values = await clean_article(session, data)
    same = select(MaterialArticle.id).where(
        has_name(MaterialArticle.name, values["name"]),
        MaterialArticle.election_id.is_(None)
        if values["election_id"] is None
        else MaterialArticle.election_id == values["election_id"],
    )
    if await is_taken(session, same, MaterialArticle.id, article_id):
        raise FieldErrors({"name": _("An article with this name already exists.")})
    article = MaterialArticle() if article_id is None else await get_article(session, article_id)
    if article_id is not None and article.kind != values["kind"]:
        has_assets = await session.scalar(
            select(MaterialAsset.id).where(MaterialAsset.article_id == article.id).limit(1)
        )
        if has_assets is not None:
            raise FieldErrors({"kind": _("The article has equipment with asset tags.")})
    return await store(session, actor, article, values, "materials.article", article_id is None)


async def get_article(session: AsyncSession, article_id: int) -> MaterialArticle:
    article = await session.scalar(select(MaterialArticle).where(MaterialArticle.id == article_id))
    if article is None:
        raise NotFound(_("Not found."))
    return article


async def list_articles(
    session: AsyncSession, election_id: int | None = None, *, active_only: bool = False
) -> list[MaterialArticle]:
    """The catalogue, ballot papers last; with ``election_id`` only the articles that
    serve that election (its own and those for every election)."""
    statement = select(MaterialArticle)
    if election_id is not None:
        statement = statement.where(
            or_(MaterialArticle.election_id.is_(None), MaterialArticle.election_id == election_id)
        )
    if active_only:
        statement = statement.where(MaterialArticle.active.is_(True))
    articles = list(await session.scalars(statement))
    order = {category: index for index, category in enumerate(ARTICLE_CATEGORIES)}
    return sorted(
        articles,
        key=lambda a: (not a.active, order.get(a.category, 99), a.party or "", a.name.lower()),
    )


async def save_depot(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any], depot_id: int | None = None
) -> MaterialDepot:
    cleaner = Cleaner(data)
    values = {
        "name": cleaner.text("name", 200, required=True),
        "address": cleaner.text("address", 300),
    }
    cleaner.done()
    same = select(MaterialDepot.id).where(has_name(MaterialDepot.name, values["name"]))
    if await is_taken(session, same, MaterialDepot.id, depot_id):
        raise FieldErrors({"name": _("A depot with this name already exists.")})
    depot = MaterialDepot() if depot_id is None else await get_depot(session, depot_id)
    return await store(session, actor, depot, values, "materials.depot", depot_id is None)


async def get_depot(session: AsyncSession, depot_id: int) -> MaterialDepot:
    depot = await session.scalar(select(MaterialDepot).where(MaterialDepot.id == depot_id))
    if depot is None:
        raise NotFound(_("Not found."))
    return depot


async def list_depots(session: AsyncSession) -> list[MaterialDepot]:
    return list(await session.scalars(select(MaterialDepot).order_by(MaterialDepot.name)))


async def clean_asset(session: AsyncSession, data: Mapping[str, Any]) -> dict[str, Any]:
    cleaner = Cleaner(data)
    values: dict[str, Any] = {
        "article_id": cleaner.identifier("article_id", required=True),
        "tag": cleaner.text("tag", 64, required=True),
        "serial": cleaner.text("serial", 100),
        "depot_id": cleaner.identifier("depot_id"),
        "state": cleaner.choice("state", ASSET_STATES, "in_stock"),
        "note": cleaner.text("note", 2000),
    }
    if values["article_id"] is not None:
        kind = await session.scalar(
            select(MaterialArticle.kind).where(MaterialArticle.id == values["article_id"])
        )
        if kind is None:
            cleaner.fail("article_id", _("Choose one of the options."))
        elif kind != "equipment":
            cleaner.fail("article_id", _("Only equipment has asset tags."))
    if values["depot_id"] is not None:
        found = await session.scalar(
            select(MaterialDepot.id).where(MaterialDepot.id == values["depot_id"])
        )
        if found is None:
            cleaner.fail("depot_id", _("Choose one of the options."))
    cleaner.done()
    return values


async def save_asset(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any], asset_id: int | None = None
) -> MaterialAsset:
    """Register a piece of equipment by its asset tag (unique in the municipality), or
    change one: where it is kept and its state."""
    values = await clean_asset(session, data)
    same = select(MaterialAsset.id).where(has_name(MaterialAsset.tag, values["tag"]))
    if await is_taken(session, same, MaterialAsset.id, asset_id):
        raise FieldErrors({"tag": _("Another item already has this asset tag.")})
    asset = MaterialAsset() if asset_id is None else await get_asset(session, asset_id)
    return await store(session, actor, asset, values, "materials.asset", asset_id is None)


async def get_asset(session: AsyncSession, asset_id: int) -> MaterialAsset:
    asset = await session.scalar(
        select(MaterialAsset)
        .where(MaterialAsset.id == asset_id)
        .options(selectinload(MaterialAsset.article), selectinload(MaterialAsset.depot))
    )
    if asset is None:
        raise NotFound(_("Not found."))
    return asset


async def list_assets(session: AsyncSession, query: str = "") -> list[MaterialAsset]:
    statement = select(MaterialAsset).options(
        selectinload(MaterialAsset.article), selectinload(MaterialAsset.depot)
    )
    query = query.strip()
    if query:
        pattern = f"%{query.lower()}%"
        statement = statement.where(
            or_(
                MaterialAsset.tag.ilike(pattern),
                MaterialAsset.serial.ilike(pattern),
            )
        )
    return list(await session.scalars(statement.order_by(MaterialAsset.tag).limit(1000)))
