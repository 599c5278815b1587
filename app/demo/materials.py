"""Demo data for materials: a catalogue with the coming election's ballot papers per
party, two depots with stock (short of some articles, so the shortfall has lines),
equipment by asset tag, the office's rules, and the needs computed and reserved."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.tenancy import tenant_scope
from app.demo.rows import insert_in_batches
from app.domain.materials.catalogue import save_article, save_depot
from app.domain.materials.needs import compute_needs, set_station_figure
from app.domain.materials.rules import save_rule
from app.domain.materials.stock import reserve, set_stock
from app.domain.models import MaterialAsset, MaterialNeed, Station

PARTIES = (
    ("S", "Arbetarepartiet-Socialdemokraterna"),
    ("M", "Moderaterna"),
    ("SD", "Sverigedemokraterna"),
    ("V", "Vänsterpartiet"),
    ("C", "Centerpartiet"),
    ("KD", "Kristdemokraterna"),
    ("MP", "Miljöpartiet de gröna"),
    ("L", "Liberalerna"),
)
#: Articles for every election (kept when an election is rolled over).
ARTICLES = (
    ("envelope", {"name": "Valkuvert", "pack_size": "500"}),
    ("window", {"name": "Fönsterkuvert (förtidsröstning)", "category": "envelope",
                "pack_size": "250"}),
    ("seal", {"name": "Plomberingssigill", "category": "seal", "pack_size": "50"}),
    ("protocol", {"name": "Protokoll för valdistrikt", "category": "form", "pack_size": "10"}),
    ("sign", {"name": "Skylt ”Vallokal”", "category": "sign"}),
    ("pen", {"name": "Blyertspenna", "category": "pen", "pack_size": "100"}),
    ("screen", {"name": "Valskärm", "category": "voting_screen", "kind": "equipment"}),
    ("box", {"name": "Valurna", "category": "ballot_box", "kind": "equipment"}),
    ("laptop", {"name": "Bärbar dator", "category": "laptop", "kind": "equipment"}),
)  # fmt: skip


async def fill_materials_demo(
    session: AsyncSession, tenant_id: int, election_id: int, size: str = "small"
) -> None:
    """The catalogue, depots, stock, equipment and rules; then the coming election's
    needs, computed and reserved."""
    rng = random.Random(f"stemma-materials-{size}")  # noqa: S311 - demo data
    actor = Actor.system("demo")
    with tenant_scope(tenant_id):
        articles: dict[str, int] = {}
        for key, data in ARTICLES:
            fields = {"category": "envelope", "kind": "consumable", "unit": "st", **data}
            articles[key] = (await save_article(session, actor, fields)).id
        for code, party in PARTIES:
            article = await save_article(
                session, actor,
                {"name": f"Valsedel {party}", "category": "ballot_paper", "party": code,
                 "pack_size": "100", "election_id": str(election_id)},
            )  # fmt: skip
            articles[f"ballot-{code}"] = article.id
        blank = await save_article(
            session, actor,
            {"name": "Blank valsedel", "category": "ballot_paper", "pack_size": "100",
             "election_id": str(election_id)},
        )  # fmt: skip
        articles["blank"] = blank.id
        for data in _rules(articles):
            await save_rule(session, actor, data)
        await _override_one_figure(session, actor, election_id)
        await compute_needs(session, actor, election_id)
        depots = [
            await save_depot(session, actor, {"name": "Centralförrådet",
                                              "address": "Industrigatan 4, Demostad"}),
            await save_depot(session, actor, {"name": "Förrådet Syd",
                                              "address": "Södra vägen 12, Demostad"}),
        ]  # fmt: skip
        needed = await _needed(session, election_id)
        for key, article_id in articles.items():
            if key in ("screen", "box", "laptop") or not needed.get(article_id):
                continue
            # Most is in stock, some articles well short: the shortfall has lines.
            share = 0.45 if key in ("ballot-SD", "envelope", "pen") else rng.uniform(0.8, 1.05)
            total = int(needed[article_id] * share)
            for depot, part in zip(depots, (0.7, 0.3), strict=True):
                await set_stock(
                    session, actor, depot.id,
                    {"article_id": str(article_id), "quantity": str(int(total * part))},
                )  # fmt: skip
        await insert_in_batches(
            session, MaterialAsset, _assets(rng, tenant_id, articles, needed, depots)
        )
        await reserve(session, actor, election_id)


def _rules(articles: dict[str, int]) -> list[dict[str, Any]]:
    """The office's rules: readable, and each a kind of rule the page explains."""
    return [
        {"target": str(articles["screen"]), "station_kinds": "polling",
         "formula": "voters / 300", "minimum": "2"},
        {"target": str(articles["screen"]), "station_kinds": "advance", "formula": "screens"},
        {"target": "category:ballot_paper", "station_kinds": "polling",
         "formula": "voters * 1.2", "round_to_pack": "on"},
        {"target": "category:ballot_paper", "station_kinds": "advance",
         "formula": "opening_days * 150", "round_to_pack": "on"},
        {"target": str(articles["envelope"]), "station_kinds": "polling",
         "formula": "voters * 1.1", "round_to_pack": "on"},
        {"target": str(articles["window"]), "station_kinds": "advance",
         "formula": "opening_days * 120", "round_to_pack": "on"},
        {"target": str(articles["box"]), "station_kinds": "polling,advance", "formula": "1"},
        {"target": str(articles["pen"]), "station_kinds": "polling,advance",
         "formula": "norm * 2", "minimum": "10"},
        {"target": str(articles["seal"]), "station_kinds": "polling,advance", "formula": "12"},
        {"target": str(articles["protocol"]), "station_kinds": "polling", "formula": "2"},
        {"target": str(articles["sign"]), "station_kinds": "polling,advance", "formula": "3"},
        {"target": str(articles["laptop"]), "station_kinds": "advance", "formula": "1"},
    ]  # fmt: skip


async def _override_one_figure(session: AsyncSession, actor: Actor, election_id: int) -> None:
    station_id = await session.scalar(
        select(Station.id)
        .where(Station.election_id == election_id, Station.kind == "polling")
        .order_by(Station.name)
        .limit(1)
    )
    if station_id is not None:
        await set_station_figure(
            session, actor, election_id, station_id,
            {"figure": "screens", "value": "8",
             "reason": "Gympasalen rymmer fler valskärmar än klassrummet i registret."},
        )  # fmt: skip


async def _needed(session: AsyncSession, election_id: int) -> dict[int, int]:
    totals: dict[int, int] = {}
    for article_id, quantity in await session.execute(
        select(MaterialNeed.article_id, MaterialNeed.quantity).where(
            MaterialNeed.election_id == election_id
        )
    ):
        totals[article_id] = totals.get(article_id, 0) + quantity
    return totals


def _assets(
    rng: random.Random,
    tenant_id: int,
    articles: dict[str, int],
    needed: dict[int, int],
    depots: list[Any],
) -> list[dict[str, Any]]:
    """Equipment by asset tag: about as many as needed, a few missing or damaged."""
    rows = []
    for key, prefix in (("screen", "VS"), ("box", "VU"), ("laptop", "DATOR")):
        count = int(needed.get(articles[key], 0) * 0.95) + 2
        for number in range(1, count + 1):
            draw = rng.random()
            state = "damaged" if draw < 0.02 else "missing" if draw < 0.03 else "in_stock"
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "article_id": articles[key],
                    "tag": f"{prefix}-{number:05d}",
                    "serial": f"{prefix[0]}{rng.randrange(10**7, 10**8)}",
                    "depot_id": depots[number % len(depots)].id,
                    "state": state,
                    "note": "",
                }
            )
    return rows
