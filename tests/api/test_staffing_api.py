"""Staffing over the API: propose, read, withdraw, with rules and isolation."""

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from tests.factories import make_clerk, make_staffed_station


async def _headers(db: AsyncSession, tenant: Tenant) -> dict[str, str]:
    with tenant_scope(tenant.id):
        _token, secret = await create_api_token(db, Actor.system("test"), "HR")
    return {"Authorization": f"Bearer {secret}"}


async def test_it_proposes_reads_and_withdraws_assignments(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    headers = await _headers(db, tenant)
    body = {
        "shift_id": s["early"].id,
        "role_type_id": s["roles"]["chair"].id,
        "person_id": person.id,
    }
    created = await client.post("/api/v1/assignments", headers=headers, json=body)
    assert created.status_code == 201, await created.get_data(as_text=True)
    assignment = await created.get_json()
    assert assignment["state"] == "proposed"
    again = await client.post("/api/v1/assignments", headers=headers, json=body)
    assert again.status_code == 409
    assert {b["rule"] for b in (await again.get_json())["broken"]} >= {"overlap"}
    election_id = s["election"].id
    listing = await (
        await client.get(f"/api/v1/elections/{election_id}/assignments", headers=headers)
    ).get_json()
    assert [a["id"] for a in listing["items"]] == [assignment["id"]]
    staffing = await (
        await client.get(f"/api/v1/elections/{election_id}/staffing", headers=headers)
    ).get_json()
    (station,) = staffing["items"]
    assert station["status"] == "missing"
    chair = next(c for c in station["cells"] if c["role"] == "chair")
    assert (chair["filled"], chair["status"]) == (1, "full")
    foreign = await _headers(db, other_tenant)
    assert (
        await client.post(f"/api/v1/assignments/{assignment['id']}/withdraw", headers=foreign)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/elections/{election_id}/staffing", headers=foreign)
    ).status_code == 404
    withdrawn = await client.post(
        f"/api/v1/assignments/{assignment['id']}/withdraw", headers=headers
    )
    assert (await withdrawn.get_json())["state"] == "withdrawn"
