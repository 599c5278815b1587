"""The catalogue refuses what cannot be; stock, reservations and the shortfall to order."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.elections.rollover import roll_over
from app.domain.materials.catalogue import (
    get_article,
    list_articles,
    save_article,
    save_asset,
    save_depot,
)
from app.domain.materials.needs import compute_needs
from app.domain.materials.stock import reserve, set_stock, shortfall
from app.domain.models import MaterialArticle, MaterialAsset, MaterialReservation, MaterialStock
from tests.domain.materials.helpers import OFFICE, materials_election


async def test_the_catalogue_refuses_what_cannot_be_and_writes_nothing(
    db: AsyncSession, tenant: Tenant
) -> None:
    m = await materials_election(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        before = await db.scalar(select(func.count(MaterialArticle.id)))
        for data, field in (
            ({"name": "Valurna", "kind": "consumable", "category": "ballot_box"}, "kind"),
            ({"name": "Kuvert", "category": "envelope", "party": "S"}, "party"),
            ({"name": "Valskärm", "kind": "equipment", "category": "voting_screen"}, "name"),
            ({"name": "Sigill", "category": "seal", "pack_size": "0"}, "pack_size"),
            ({"name": "Sigill", "category": "seal", "election_id": "999999"}, "election_id"),
        ):
            with pytest.raises(FieldErrors) as refused:
                await save_article(db, OFFICE, data)
            assert field in refused.value.errors, data
        assert await db.scalar(select(func.count(MaterialArticle.id))) == before
        with pytest.raises(FieldErrors) as refused:
            await save_asset(db, OFFICE, {"article_id": str(m.articles["pen"]), "tag": "P-1"})
        assert refused.value.errors == {"article_id": "Only equipment has asset tags."}
        await save_asset(db, OFFICE, {"article_id": str(m.articles["screen"]), "tag": "VS-001"})
        with pytest.raises(FieldErrors) as refused:
            await save_asset(db, OFFICE, {"article_id": str(m.articles["screen"]), "tag": "vs-001"})
        assert refused.value.errors == {"tag": "Another item already has this asset tag."}


async def test_the_shortfall_says_what_to_order_in_whole_packs(
    db: AsyncSession, tenant: Tenant
) -> None:
    m = await materials_election(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        await compute_needs(db, OFFICE, m.election_id)
        north = await save_depot(db, OFFICE, {"name": "Förrådet Norr", "address": "Väg 1"})
        south = await save_depot(db, OFFICE, {"name": "Förrådet Söder"})
        await set_stock(
            db, OFFICE, north.id, {"article_id": str(m.articles["s"]), "quantity": "500"}
        )
        await set_stock(
            db, OFFICE, south.id, {"article_id": str(m.articles["s"]), "quantity": "150"}
        )
        await set_stock(
            db, OFFICE, north.id, {"article_id": str(m.articles["pen"]), "quantity": "40"}
        )
        for number in range(4):
            await save_asset(
                db, OFFICE,
                {"article_id": str(m.articles["screen"]), "tag": f"VS-{number}",
                 "depot_id": str(north.id), "state": "damaged" if number == 3 else "in_stock"},
            )  # fmt: skip
        with pytest.raises(FieldErrors) as refused:
            await set_stock(
                db, OFFICE, north.id, {"article_id": str(m.articles["screen"]), "quantity": "-1"}
            )
        assert set(refused.value.errors) == {"article_id", "quantity"}
        lines = {line.article.name: line for line in await shortfall(db, m.election_id)}
    # Needs: S 900 + 200 = 1100 (650 held); M 1100 (none); pens 30 (40 held); screens 7
    # (3 usable: one is damaged).
    assert (lines["Valsedel S"].short, lines["Valsedel S"].to_order) == (450, 500)
    assert (lines["Valsedel M"].short, lines["Valsedel M"].packs) == (1100, 11)
    assert lines["Blyertspenna"].short == 0 and lines["Blyertspenna"].to_order == 0
    assert (lines["Valskärm"].needed, lines["Valskärm"].on_hand) == (7, 3)
    assert lines["Valskärm"].to_order == 4


async def test_reserving_sets_stock_aside_station_by_station(
    db: AsyncSession, tenant: Tenant
) -> None:
    m = await materials_election(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        await compute_needs(db, OFFICE, m.election_id)
        depot = await save_depot(db, OFFICE, {"name": "Förrådet"})
        await set_stock(
            db, OFFICE, depot.id, {"article_id": str(m.articles["pen"]), "quantity": "25"}
        )
        for number in range(5):
            await save_asset(
                db, OFFICE,
                {"article_id": str(m.articles["screen"]), "tag": f"VS-{number}",
                 "depot_id": str(depot.id)},
            )  # fmt: skip
        result = await reserve(db, OFFICE, m.election_id)
        # Pens: 10 + 10 + 5 of 25; screens 3 + 2 of 5, the advance station none; no
        # ballot papers in stock.
        assert (result.covered, result.partly, result.uncovered) == (4, 1, 5)
        states = list(await db.scalars(select(MaterialAsset.state).order_by(MaterialAsset.tag)))
        assert states == ["reserved"] * 5
        pens = await db.scalar(
            select(func.sum(MaterialReservation.quantity)).where(
                MaterialReservation.article_id == m.articles["pen"]
            )
        )
        assert pens == 25
        # Reserving again starts afresh: the same, not twice as much.
        await reserve(db, OFFICE, m.election_id)
        assert await db.scalar(select(func.count(MaterialReservation.id))) == 5 + 3
        assert (await db.scalar(select(MaterialStock.quantity))) == 25


async def test_another_tenants_articles_and_depots_are_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    m = await materials_election(db, tenant)
    with tenant_scope(tenant.id):
        depot = await save_depot(db, OFFICE, {"name": "Förrådet"})
    with tenant_scope(other_tenant.id):
        with pytest.raises(NotFound):
            await get_article(db, m.articles["pen"])
        with pytest.raises(NotFound):
            await set_stock(db, OFFICE, depot.id, {"article_id": "1", "quantity": "1"})
        with pytest.raises(NotFound):
            await shortfall(db, m.election_id)
        with pytest.raises(FieldErrors):
            await set_stock(
                db, OFFICE,
                (await save_depot(db, OFFICE, {"name": "Eget"})).id,
                {"article_id": str(m.articles["pen"]), "quantity": "1"},
            )  # fmt: skip


async def test_articles_for_every_election_are_kept_when_it_is_rolled_over(
    db: AsyncSession, tenant: Tenant
) -> None:
    m = await materials_election(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        following = await roll_over(
            db, OFFICE, m.election_id,
            {"name": "Val 2030", "kind": "municipal", "election_day": "2030-09-08",
             "advance_start": "2030-08-21", "advance_end": "2030-09-08"},
        )  # fmt: skip
        names = {a.name for a in await list_articles(db, following.id)}
        # The ballot papers were the last election's; screens and pens serve every one.
        assert names == {"Valskärm", "Blyertspenna"}
        change = await compute_needs(db, OFFICE, following.id)
        assert {c.article_name for c in change.changes} == {"Valskärm", "Blyertspenna"}
