"""Need rules read as sentences, refuse formulas that do not parse, and give every
station its needs; a recompute says what changed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.elections.norms import set_norms
from app.domain.materials.needs import (
    compute_needs,
    needs_overview,
    set_station_figure,
    station_figures,
)
from app.domain.materials.rules import get_rule, parse_formula, save_rule, sentence
from app.domain.models import (
    District,
    MaterialNeed,
    MaterialNeedRule,
    MaterialStationFigure,
    RoleType,
    StaffingNorm,
)
from tests.domain.materials.helpers import OFFICE, Materials, materials_election
from tests.factories import make_staffed_station


def test_it_reads_formulas_in_english_and_the_offices_language() -> None:
    with locale_scope("en"):
        assert parse_formula("voters / 300") == ("voters", Decimal("1"), 300)
        assert parse_formula("röstberättigade * 1,2") == ("voters", Decimal("1.2"), 1)
        assert parse_formula("2 * screens") == ("screens", Decimal("2"), 1)
        assert parse_formula(" 10 ") == ("fixed", Decimal("10"), 1)
        with pytest.raises(ValueError, match="Unknown figure “seats”"):
            parse_formula("seats / 2")
        with pytest.raises(ValueError, match="Write a number"):
            parse_formula("voters +")
        with pytest.raises(ValueError, match="whole number"):
            parse_formula("voters / 2.5")


async def _needs(db: AsyncSession, tenant: Tenant, m: Materials) -> dict[tuple[str, str], int]:
    stations = {v: k for k, v in m.stations.items()}
    articles = {v: k for k, v in m.articles.items()}
    with tenant_scope(tenant.id):
        rows = await db.execute(
            select(MaterialNeed.station_id, MaterialNeed.article_id, MaterialNeed.quantity)
        )
        return {(stations[s], articles[a]): q for s, a, q in rows}


async def test_it_computes_every_stations_needs_from_the_rules(
    db: AsyncSession, tenant: Tenant
) -> None:
    m = await materials_election(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        change = await compute_needs(db, OFFICE, m.election_id)
    assert change.total == 10
    assert await _needs(db, tenant, m) == {
        # 700 voters: 3 screens; 840 ballot papers each party, in packs of 100.
        ("hamn", "screen"): 3, ("hamn", "s"): 900, ("hamn", "m"): 900, ("hamn", "pen"): 10,
        # 100 voters: at least two screens; 120 ballot papers → 200.
        ("by", "screen"): 2, ("by", "s"): 200, ("by", "m"): 200, ("by", "pen"): 10,
        # Advance voting: no district, so the minimum of screens; no ballot paper rule.
        ("advance", "screen"): 2, ("advance", "pen"): 10,
    }  # fmt: skip
    # The first computation shows every need as new.
    assert {(c.old, c.new) for c in change.changes if c.station_name == "Byskolan"} == {
        (0, 2), (0, 200), (0, 10)
    }  # fmt: skip


async def test_a_recompute_shows_what_changed_and_writes_only_that(
    db: AsyncSession, tenant: Tenant
) -> None:
    m = await materials_election(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        await compute_needs(db, OFFICE, m.election_id)
        assert (await compute_needs(db, OFFICE, m.election_id)).changes == []
        district = await db.get(District, m.districts["second"])
        assert district is not None
        district.eligible_voters = 1000
        await db.commit()
        await save_rule(
            db, OFFICE,
            {"target": str(m.articles["pen"]), "station_kinds": "polling", "formula": "10",
             "active": ""},
            m.rules["pens"],
        )  # fmt: skip
        change = await compute_needs(db, OFFICE, m.election_id)
    moved = {(c.station_name, c.article_name, c.old, c.new) for c in change.changes}
    assert moved == {
        ("Byskolan", "Valskärm", 2, 4),
        ("Byskolan", "Valsedel S", 200, 1200),
        ("Byskolan", "Valsedel M", 200, 1200),
        ("Hamnskolan", "Blyertspenna", 10, 0),
        ("Byskolan", "Blyertspenna", 10, 0),
        ("Stadshuset", "Blyertspenna", 10, 0),
    }
    needs = await _needs(db, tenant, m)
    assert ("by", "pen") not in needs and needs[("by", "s")] == 1200


async def test_a_planner_overrides_a_figure_with_a_reason(db: AsyncSession, tenant: Tenant) -> None:
    m = await materials_election(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        with pytest.raises(FieldErrors) as refused:
            await set_station_figure(
                db, OFFICE, m.election_id, m.stations["advance"],
                {"figure": "voters", "value": "1500", "reason": ""},
            )  # fmt: skip
        assert refused.value.errors == {"reason": "This field is required."}
        with pytest.raises(FieldErrors) as refused:
            await set_station_figure(
                db, OFFICE, m.election_id, m.stations["advance"],
                {"figure": "voters", "value": "-3", "reason": "x"},
            )  # fmt: skip
        assert "value" in refused.value.errors
        assert await db.scalar(select(func.count(MaterialStationFigure.id))) == 0
        await set_station_figure(
            db, OFFICE, m.election_id, m.stations["advance"],
            {"figure": "voters", "value": "1500", "reason": "Förtidsröstning för hela staden"},
        )  # fmt: skip
        await compute_needs(db, OFFICE, m.election_id)
        overview = await needs_overview(db, m.election_id, m.stations["advance"])
    [station] = overview.stations
    assert station.value("voters") == 1500 and station.register["voters"] == 0
    assert station.overrides["voters"].reason == "Förtidsröstning för hela staden"
    assert (await _needs(db, tenant, m))[("advance", "screen")] == 5


async def test_a_rule_that_does_not_parse_is_refused_at_the_field_and_nothing_is_written(
    db: AsyncSession, tenant: Tenant
) -> None:
    m = await materials_election(db, tenant)
    with tenant_scope(tenant.id), locale_scope("sv"):
        before = await db.scalar(select(func.count(MaterialNeedRule.id)))
        with pytest.raises(FieldErrors) as refused:
            await save_rule(
                db, OFFICE,
                {"target": str(m.articles["pen"]), "station_kinds": ["polling"],
                 "formula": "platser / 3", "minimum": "-1"},
            )  # fmt: skip
        assert refused.value.errors["formula"].startswith("Okänt mått ”platser”")
        assert "minimum" in refused.value.errors
        assert await db.scalar(select(func.count(MaterialNeedRule.id))) == before


async def test_rules_read_as_sentences(db: AsyncSession, tenant: Tenant) -> None:
    m = await materials_election(db, tenant)
    with tenant_scope(tenant.id), locale_scope("sv"):
        screens = await get_rule(db, m.rules["screens"])
        ballots = await get_rule(db, m.rules["ballots"])
        assert sentence(screens) == (
            "1 st Valskärm per 300 röstberättigade, minst 2 (vallokaler, förtidsröstning)"
        )
        assert sentence(ballots) == (
            "1,2 Valsedlar (varje artikel) per röstberättigad, i hela förpackningar (vallokaler)"
        )


async def test_another_tenants_election_and_rules_are_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    m = await materials_election(db, tenant)
    with tenant_scope(other_tenant.id):
        with pytest.raises(NotFound):
            await compute_needs(db, OFFICE, m.election_id)
        with pytest.raises(NotFound):
            await get_rule(db, m.rules["screens"])
        with pytest.raises(NotFound):
            await set_station_figure(
                db, OFFICE, m.election_id, m.stations["hamn"],
                {"figure": "voters", "value": "1", "reason": "x"},
            )  # fmt: skip
        with pytest.raises(FieldErrors):
            await save_rule(db, OFFICE, {"target": str(m.articles["pen"]), "formula": "1",
                                         "station_kinds": "polling"})  # fmt: skip


async def test_the_staffing_norm_figure_counts_the_minimum_as_the_board_does(
    db: AsyncSession, tenant: Tenant
) -> None:
    """A host's norm (outside the legal minimum) adds no one to a station's headcount,
    even with a minimum saved before the norm editor refused one."""
    s = await make_staffed_station(db, tenant)
    election, station = s["election"].id, s["station"].id
    with tenant_scope(tenant.id):
        await set_norms(db, OFFICE, election, station, s["early"].id, {
            "min_chair": "1", "target_chair": "1", "min_clerk": "2", "target_clerk": "3",
            "target_host": "2",
        })  # fmt: skip
        host = await db.scalar(select(RoleType.id).where(RoleType.code == "host"))
        await db.execute(
            update(StaffingNorm).where(StaffingNorm.role_type_id == host).values(minimum=2)
        )
        (figures,) = await station_figures(db, election, station)
    # Early: a chair and two clerks; late: a clerk (the vice chair's minimum is 0).
    assert figures.register["norm"] == 4
