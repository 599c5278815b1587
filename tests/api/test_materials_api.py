"""Materials over the API, read only: the catalogue, the need rules, an election's
needs and deliveries; nothing of another municipality's, never a delivery's QR token,
and a token needs ``materials:read``."""

from __future__ import annotations

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import MaterialNeedRule
from tests.domain.materials.delivery_helpers import LOGISTICS, packed_delivery, stocked_day
from tests.factories import make_election, make_tenant


async def _headers(db: AsyncSession, tenant: Tenant, scopes: list[str]) -> dict[str, str]:
    with tenant_scope(tenant.id):
        _token, secret = await create_api_token(db, LOGISTICS, "Lager", scopes=scopes)
    return {"Authorization": f"Bearer {secret}"}


async def test_it_gives_articles_rules_needs_and_deliveries(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    stocked = await stocked_day(db, tenant)
    _delivery_id, code = await packed_delivery(db, tenant, stocked)
    with tenant_scope(tenant.id):
        db.add(
            MaterialNeedRule(
                category="ballot_paper", basis="voters", per=1.2, minimum=100, round_to_pack=True
            )
        )
        await db.commit()
    headers = await _headers(db, tenant, ["materials:read"])
    articles = await (await client.get("/api/v1/materials/articles", headers=headers)).get_json()
    names = {a["name"]: a for a in articles["items"]}
    assert names["Valsedel S"]["pack_size"] == 100 and names["Valskärm"]["kind"] == "equipment"
    one = await client.get(f"/api/v1/materials/articles/{stocked.screen_id}", headers=headers)
    assert (await one.get_json())["name"] == "Valskärm"
    rules = await (await client.get("/api/v1/materials/rules", headers=headers)).get_json()
    assert [(r["category"], r["formula"], r["minimum"]) for r in rules["items"]] == [
        ("ballot_paper", "voters * 1.2", 100)
    ]
    base = f"/api/v1/elections/{stocked.day.election_id}/materials"
    needs = await (await client.get(f"{base}/needs", headers=headers)).get_json()
    assert {(n["station_id"], n["article_id"], n["quantity"]) for n in needs["items"]} == {
        (stocked.day.station_id, stocked.ballots_id, 400),
        (stocked.day.station_id, stocked.screen_id, 2),
    }
    response = await client.get(f"{base}/deliveries", headers=headers)
    assert code not in await response.get_data(as_text=True)
    (delivery,) = (await response.get_json())["items"]
    assert (delivery["state"], delivery["crates"], delivery["station_id"]) == (
        "packed",
        2,
        stocked.day.station_id,
    )
    assert sorted((line["article_id"], line["packed"]) for line in delivery["lines"]) == sorted(
        [(stocked.ballots_id, 400), (stocked.screen_id, 1), (stocked.screen_id, 1)]
    )


async def test_another_municipality_gets_not_found_and_a_token_needs_the_scope(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    stocked = await stocked_day(db, tenant)
    other = await make_tenant(db, "malmo", "Malmö")
    theirs = await _headers(db, other, ["materials:read"])
    election = stocked.day.election_id
    for path in (
        f"/api/v1/elections/{election}/materials/needs",
        f"/api/v1/elections/{election}/materials/deliveries",
        f"/api/v1/materials/articles/{stocked.ballots_id}",
    ):
        assert (await client.get(path, headers=theirs)).status_code == 404, path
    listed = await client.get("/api/v1/materials/articles", headers=theirs)
    assert (await listed.get_json())["items"] == []
    ours = await _headers(db, tenant, ["materials:read"])
    second = await make_election(db, tenant, name="Extraval")
    empty = await client.get(f"/api/v1/elections/{second.id}/materials/needs", headers=ours)
    assert (await empty.get_json())["items"] == []
    narrow = await _headers(db, tenant, ["pay:read"])
    refused = await client.get("/api/v1/materials/rules", headers=narrow)
    assert refused.status_code == 403
    assert (await refused.get_json())["missing_scope"] == "materials:read"


async def test_the_openapi_document_describes_them(client: QuartClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    for path in (
        "/api/v1/materials/articles",
        "/api/v1/materials/articles/{article_id}",
        "/api/v1/materials/rules",
        "/api/v1/elections/{election_id}/materials/needs",
        "/api/v1/elections/{election_id}/materials/deliveries",
    ):
        assert "materials:read" in str(document["paths"][path]["get"]), path
