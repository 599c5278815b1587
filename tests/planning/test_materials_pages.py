"""The materials pages: the catalogue, equipment, rules, needs with what a recompute
changed, a station's figures, stock and the shortfall; who may change them, bad input
at its field with nothing written, and another municipality's ids giving 404."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from quart.datastructures import FileStorage
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import (
    MaterialArticle,
    MaterialAsset,
    MaterialNeed,
    MaterialNeedRule,
    MaterialStationFigure,
)
from tests.domain.materials.helpers import Materials, materials_election
from tests.factories import csrf_token, login, make_user, post_form

BASE = "/lund/planning/materials"


async def _english(client: QuartClient, user: User) -> None:
    await login(client, user)
    await post_form(client, "/lang", {"lang": "en"})


async def _count(db: AsyncSession, tenant: Tenant, model: type) -> int:
    with tenant_scope(tenant.id):
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


def _pages(m: Materials) -> list[str]:
    election = f"{BASE}/elections/{m.election_id}"
    return [
        f"{BASE}/",
        f"{BASE}/equipment",
        f"{BASE}/rules",
        f"{BASE}/stock",
        f"{election}/needs",
        f"{election}/stations/{m.stations['hamn']}",
        f"{election}/shortfall",
    ]


async def test_the_office_defines_a_rule_recomputes_and_sees_what_changed(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    m = await materials_election(db, tenant)
    await _english(client, planner)
    page = await (await client.get(f"{BASE}/rules")).get_data(as_text=True)
    assert "1 st Valskärm per 300 voters on the roll, at least 2" in page
    response = await post_form(
        client, f"{BASE}/rules",
        {"target": str(m.articles["pen"]), "station_kinds": "advance",
         "formula": "opening_days * 5"},
    )  # fmt: skip
    assert response.status_code == 302
    compute = f"{BASE}/elections/{m.election_id}/needs"
    page = await (await post_form(client, compute)).get_data(as_text=True)
    assert "The needs were recomputed: 10 changes" in page
    # The advance station has no opening days: its pens stay at the fixed rule's 10.
    assert "Hamnskolan" in page and "Valsedel S" in page
    page = await (await post_form(client, compute)).get_data(as_text=True)
    assert "The needs were recomputed: 0 changes" in page and "Nothing changed." in page
    # A figure set by hand, with its reason, changes the needs at the next recompute.
    station = f"{BASE}/elections/{m.election_id}/stations/{m.stations['by']}"
    response = await post_form(
        client, station, {"figure": "voters", "value": "650", "reason": "Två distrikt"}
    )
    assert response.status_code == 302
    page = await (await post_form(client, compute)).get_data(as_text=True)
    assert "The needs were recomputed: 3 changes" in page
    assert '<td class="num">200</td><td class="num"><strong>800</strong>' in page
    page = await (await client.get(station)).get_data(as_text=True)
    assert "Två distrikt" in page and "register: 100" in page


async def test_bad_input_is_shown_at_its_field_and_nothing_is_written(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    m = await materials_election(db, tenant)
    await login(client, planner)  # Swedish, the UI's first language
    rules = await _count(db, tenant, MaterialNeedRule)
    response = await post_form(
        client, f"{BASE}/rules",
        {"target": str(m.articles["pen"]), "station_kinds": "polling", "formula": "stolar / 2"},
    )  # fmt: skip
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="field-formula-error">Okänt mått ”stolar”' in page
    assert await _count(db, tenant, MaterialNeedRule) == rules
    articles = await _count(db, tenant, MaterialArticle)
    response = await post_form(
        client, f"{BASE}/articles", {"name": "", "category": "ballot_box", "kind": "consumable"}
    )
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="field-name-error">' in page and 'id="field-kind-error">' in page
    assert await _count(db, tenant, MaterialArticle) == articles
    station = f"{BASE}/elections/{m.election_id}/stations/{m.stations['by']}"
    response = await post_form(client, station, {"figure": "voters", "value": "-5", "reason": ""})
    assert response.status_code == 422
    assert await _count(db, tenant, MaterialStationFigure) == 0
    response = await post_form(client, f"{BASE}/depots", {"name": ""})
    page = await response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="field-depot-name-error"' in page


async def test_the_catalogue_equipment_and_stock_pages_work(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    m = await materials_election(db, tenant)
    await _english(client, planner)
    response = await post_form(client, f"{BASE}/depots", {"name": "Centralförrådet"})
    assert response.status_code == 302
    page = await (await client.get(f"{BASE}/stock")).get_data(as_text=True)
    assert "Count at Centralförrådet" in page
    depot_id = page.split("/materials/depots/")[1].split("/")[0]
    response = await post_form(
        client, f"{BASE}/depots/{depot_id}/stock",
        {"article_id": str(m.articles["pen"]), "quantity": "120"},
    )  # fmt: skip
    assert response.status_code == 302
    response = await post_form(
        client, f"{BASE}/equipment",
        {"article_id": str(m.articles["screen"]), "tag": "VS-0001", "serial": "X9",
         "depot_id": depot_id, "state": "in_stock"},
    )  # fmt: skip
    assert response.status_code == 302
    page = await (await client.get(f"{BASE}/equipment?q=vs-0")).get_data(as_text=True)
    assert "VS-0001" in page and "Centralförrådet" in page
    page = await (await client.get(f"{BASE}/stock")).get_data(as_text=True)
    assert '<td class="num">120</td>' in page
    # Retiring an article keeps it in the catalogue, marked.
    response = await post_form(
        client, f"{BASE}/articles/{m.articles['pen']}",
        {"name": "Blyertspenna", "category": "pen", "kind": "consumable", "unit": "st",
         "pack_size": "50"},
    )  # fmt: skip
    assert response.status_code == 302
    page = await (await client.get(f"{BASE}/")).get_data(as_text=True)
    assert "Retired" in page
    await post_form(client, f"{BASE}/elections/{m.election_id}/needs")
    page = await (await client.get(f"{BASE}/elections/{m.election_id}/shortfall")).get_data(
        as_text=True
    )
    assert "Valsedel M" in page and "1,100 st" in page and "11 packs" in page


async def test_a_coordinator_reads_but_does_not_change(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    m = await materials_election(db, tenant)
    coordinator = await make_user(db, tenant, "coordinator")
    await login(client, coordinator)
    for path in _pages(m):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "Lägg till" not in await response.get_data(as_text=True), path
    response = await post_form(client, f"{BASE}/elections/{m.election_id}/needs")
    assert response.status_code == 403
    assert await _count(db, tenant, MaterialNeed) == 0


async def test_another_municipality_gets_404(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User, other_tenant: Tenant
) -> None:
    m = await materials_election(db, tenant)
    # The outsider administers another municipality: this one's ids are not found there.
    await login(client, outsider)
    other = f"/{other_tenant.slug}/planning/materials"
    assert (await client.get(f"{other}/")).status_code == 200
    for path in _pages(m)[4:]:
        assert (await client.get(path)).status_code == 404, path
    election = f"{other}/elections/{m.election_id}"
    for path in (f"{election}/needs", f"{election}/shortfall",
                 f"{election}/stations/{m.stations['hamn']}", f"{other}/rules/{m.rules['pens']}",
                 f"{other}/articles/{m.articles['pen']}"):  # fmt: skip
        assert (await client.get(path)).status_code == 404, path
    response = await post_form(client, f"{election}/needs")
    assert response.status_code == 404
    assert await _count(db, tenant, MaterialNeed) == 0


async def _upload(client: QuartClient, text: str) -> Any:
    token = await csrf_token(client)
    return await client.post(
        f"{BASE}/equipment/import",
        form={"csrf_token": token},
        files={"file": FileStorage(BytesIO(text.encode()), "utrustning.csv")},
    )


async def test_equipment_is_imported_from_a_file_all_rows_or_none(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await materials_election(db, tenant)
    await login(client, planner)
    await post_form(client, f"{BASE}/depots", {"name": "Centralförrådet"})
    response = await _upload(
        client,
        "Inventarienummer;Artikel;Serienummer;Förråd;Status\n"
        "VS-1;Valskärm;A1;Centralförrådet;\n"
        "VS-1;Valskärm;A2;;\n"
        "VS-3;Blyertspenna;;Norrförrådet;borta\n",
    )
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Rad 3: inventarienumret ”VS-1” är upptaget (rad 2)." in page
    assert "Rad 4: ingen utrustningsartikel ”Blyertspenna” i katalogen." in page
    assert "Rad 4: inget förråd ”Norrförrådet”." in page
    assert "Rad 4: okänt tillstånd ”borta”." in page
    assert await _count(db, tenant, MaterialAsset) == 0
    response = await _upload(
        client,
        "tag,article,serial,depot,state\nVS-1,valskärm,A1,Centralförrådet,\n"
        "VS-2,Valskärm,A2,,Skadad\n",
    )
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        assets = {a.tag: a for a in await db.scalars(select(MaterialAsset))}
    assert set(assets) == {"VS-1", "VS-2"}
    assert assets["VS-1"].depot_id is not None and assets["VS-1"].state == "in_stock"
    assert assets["VS-2"].state == "damaged" and assets["VS-2"].depot_id is None
