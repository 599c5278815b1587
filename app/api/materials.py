"""Materials over the JSON API, read only (scope ``materials:read``): the catalogue's
articles, the need rules, an election's computed needs per station, and its deliveries
with their lines counted at each step.

A delivery is given without its QR code's token (that opens the delivery to whoever
holds it) and with the confirming lead's name only as the label the office sees.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from pydantic import BaseModel, Field
from quart_schema import tag, validate_response
from sqlalchemy import select

from app.core.routes import Routes
from app.core.web import db
from app.domain.elections.elections import get_election
from app.domain.materials.catalogue import get_article, list_articles
from app.domain.materials.rules import formula_of, rule_kinds
from app.domain.models import (
    MaterialAsset,
    MaterialDelivery,
    MaterialDeliveryLine,
    MaterialNeed,
    MaterialNeedRule,
    Station,
)

routes = Routes()


class ArticleOut(BaseModel):
    id: int
    name: str
    unit: str
    kind: str = Field(description="consumable (counted) or equipment (tracked by asset tag)")
    category: str
    party: str | None = Field(description="The party of a ballot paper")
    election_id: int | None = Field(description="None: serves every election")
    pack_size: int
    active: bool


class ArticlesOut(BaseModel):
    items: list[ArticleOut]


class RuleOut(BaseModel):
    id: int
    article_id: int | None = Field(description="None: the rule is for a category")
    category: str | None = Field(description="Every active article of this category")
    station_kinds: list[str] = Field(description="polling, advance and counting")
    formula: str = Field(
        description="A fixed number, or a station's figure (voters, screens, norm, "
        "opening_days) times a factor, divided by a whole number",
        examples=["voters * 1.2", "screens / 300"],
    )
    minimum: int
    round_to_pack: bool
    active: bool
    updated_at: dt.datetime


class RulesOut(BaseModel):
    items: list[RuleOut]


class NeedOut(BaseModel):
    station_id: int
    article_id: int
    quantity: int
    rule_id: int | None
    computed_at: dt.datetime


class NeedsOut(BaseModel):
    election_id: int
    items: list[NeedOut] = Field(description="By station and article")


class DeliveryLineOut(BaseModel):
    article_id: int
    asset_tag: str | None = Field(description="The piece of equipment packed")
    needed: int
    packed: int
    delivered: int | None = Field(description="None: not confirmed at the station yet")
    returned: int | None = Field(description="None: not counted back yet")
    missing: int
    damaged: int


class DeliveryOut(BaseModel):
    id: int
    station_id: int
    run_id: int | None
    state: str = Field(description="planned, packed, delivered or returned")
    crates: int
    packed_at: dt.datetime | None
    packed_by: str
    delivered_at: dt.datetime | None
    delivered_by: str = Field(description="The station's lead who confirmed it")
    returned_at: dt.datetime | None
    returned_by: str
    lines: list[DeliveryLineOut]


class DeliveriesOut(BaseModel):
    election_id: int
    items: list[DeliveryOut] = Field(description="By station")


def _article(article: object) -> ArticleOut:
    return ArticleOut.model_validate(article, from_attributes=True)


@routes.get("/materials/articles")
@tag(["materials"])
@validate_response(ArticlesOut)
async def api_list_material_articles() -> ArticlesOut:
    """The catalogue: every article, active first, ballot papers last."""
    return ArticlesOut(items=[_article(a) for a in await list_articles(db())])


@routes.get("/materials/articles/<id:article_id>")
@tag(["materials"])
@validate_response(ArticleOut)
async def api_get_material_article(article_id: int) -> ArticleOut:
    """One article of the catalogue."""
    return _article(await get_article(db(), article_id))


@routes.get("/materials/rules")
@tag(["materials"])
@validate_response(RulesOut)
async def api_list_material_rules() -> RulesOut:
    """The rules that compute what every station needs."""
    rules = await db().scalars(select(MaterialNeedRule).order_by(MaterialNeedRule.id))
    return RulesOut(
        items=[
            RuleOut(
                id=rule.id,
                article_id=rule.article_id,
                category=rule.category,
                station_kinds=rule_kinds(rule),
                formula=formula_of(rule),
                minimum=rule.minimum,
                round_to_pack=rule.round_to_pack,
                active=rule.active,
                updated_at=rule.updated_at,
            )
            for rule in rules
        ]
    )


@routes.get("/elections/<id:election_id>/materials/needs")
@tag(["materials"])
@validate_response(NeedsOut)
async def api_election_material_needs(election_id: int) -> NeedsOut:
    """Every station's computed needs in the election, as the rules last gave them."""
    election = await get_election(db(), election_id)
    needs = await db().scalars(
        select(MaterialNeed)
        .where(MaterialNeed.election_id == election.id)
        .order_by(MaterialNeed.station_id, MaterialNeed.article_id)
    )
    return NeedsOut(
        election_id=election.id,
        items=[
            NeedOut(
                station_id=n.station_id,
                article_id=n.article_id,
                quantity=n.quantity,
                rule_id=n.rule_id,
                computed_at=n.computed_at,
            )
            for n in needs
        ],
    )


@routes.get("/elections/<id:election_id>/materials/deliveries")
@tag(["materials"])
@validate_response(DeliveriesOut)
async def api_election_material_deliveries(election_id: int) -> DeliveriesOut:
    """The election's deliveries with their lines: packed, delivered, counted back."""
    election = await get_election(db(), election_id)
    found = list(
        await db().scalars(
            select(MaterialDelivery)
            .join(Station, Station.id == MaterialDelivery.station_id)
            .where(MaterialDelivery.election_id == election.id)
            .order_by(Station.name, MaterialDelivery.id)
        )
    )
    lines: dict[int, list[DeliveryLineOut]] = defaultdict(list)
    rows = await db().execute(
        select(MaterialDeliveryLine, MaterialAsset.tag)
        .join(MaterialDelivery, MaterialDelivery.id == MaterialDeliveryLine.delivery_id)
        .outerjoin(MaterialAsset, MaterialAsset.id == MaterialDeliveryLine.asset_id)
        .where(MaterialDelivery.election_id == election.id)
        .order_by(MaterialDeliveryLine.id)
    )
    for line, asset_tag in rows:
        lines[line.delivery_id].append(
            DeliveryLineOut(
                article_id=line.article_id,
                asset_tag=asset_tag,
                needed=line.needed,
                packed=line.packed,
                delivered=line.delivered,
                returned=line.returned,
                missing=line.missing,
                damaged=line.damaged,
            )
        )
    return DeliveriesOut(
        election_id=election.id,
        items=[
            DeliveryOut(
                id=d.id,
                station_id=d.station_id,
                run_id=d.run_id,
                state=d.state,
                crates=d.crates,
                packed_at=d.packed_at,
                packed_by=d.packed_by_label,
                delivered_at=d.delivered_at,
                delivered_by=d.delivered_by_label,
                returned_at=d.returned_at,
                returned_by=d.returned_by_label,
                lines=lines[d.id],
            )
            for d in found
        ],
    )
