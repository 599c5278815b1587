"""Pay over the API, read only: each district's pay in an election, a district's
approvals with their locked lines, people by id only, nothing of another
municipality's, and a token needs ``pay:read``."""

from __future__ import annotations

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import Person
from app.domain.pay.adjustments import add_adjustment
from app.domain.pay.approval import approve_district
from tests.domain.pay.helpers import PLANNER, PayDay, pay_day, worked
from tests.factories import make_election, make_tenant


async def _headers(
    db: AsyncSession, tenant: Tenant, scopes: list[str] | None = None
) -> dict[str, str]:
    with tenant_scope(tenant.id):
        _token, secret = await create_api_token(db, PLANNER, "Lönesystem", scopes=scopes)
    return {"Authorization": f"Bearer {secret}"}


async def _approved_day(db: AsyncSession, tenant: Tenant) -> PayDay:
    """Election day has passed: the district is approved, then a correction approved."""
    day = await pay_day(db, tenant, past=True)
    await worked(db, tenant, day)
    with tenant_scope(tenant.id):
        await approve_district(db, PLANNER, day.election_id, day.district_id, day.after)
        await add_adjustment(
            db, PLANNER, day.election_id, day.chair_id, {"amount": "-100", "reason": "Förskott"}
        )
        await approve_district(db, PLANNER, day.election_id, day.district_id, day.after)
    return day


async def test_it_gives_each_districts_pay_and_a_districts_approved_lines(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    day = await _approved_day(db, tenant)
    headers = await _headers(db, tenant, ["pay:read"])
    response = await client.get(f"/api/v1/elections/{day.election_id}/pay", headers=headers)
    assert response.status_code == 200
    items = {item["district_id"]: item for item in (await response.get_json())["items"]}
    # The chair's 3700 less 100, two clerks' 2400; the late clerk never came.
    assert items[day.district_id] | {"approved_at": None, "name": None} == {
        "district_id": day.district_id, "code": "D1", "name": None, "people": 3,
        "computed": "8400.00", "approved": "8400.00", "difference": "0.00",
        "estimates": 0, "conflicts": 0, "no_shows": 1, "approved_at": None,
    }  # fmt: skip
    assert items[day.district_id]["approved_at"] is not None
    response = await client.get(
        f"/api/v1/elections/{day.election_id}/pay/districts/{day.district_id}", headers=headers
    )
    assert response.status_code == 200
    found = await response.get_json()
    assert (found["computed"], found["approved"], found["pending_lines"]) == (
        "8400.00",
        "8400.00",
        0,
    )
    assert [(a["lines"], a["amount"]) for a in found["approvals"]] == [
        (3, "8500.00"),
        (1, "-100.00"),
    ]
    lines = {(e["person_id"], e["kind"], e["amount"], e["correction"]) for e in found["entries"]}
    assert lines == {
        (day.chair_id, "fee", "3700.00", False),
        (day.clerk_ids[0], "fee", "2400.00", False),
        (day.clerk_ids[1], "fee", "2400.00", False),
        (day.chair_id, "adjustment", "-100.00", True),
    }
    # People by id only: no name, no id number.
    with tenant_scope(tenant.id):
        chair = await db.get(Person, day.chair_id)
    assert chair is not None and chair.national_id
    body = await response.get_data(as_text=True)
    assert chair.national_id not in body and chair.last_name not in body
    advance = await client.get(f"/api/v1/elections/{day.election_id}/pay/advance", headers=headers)
    assert (await advance.get_json())["approvals"] == []


async def test_another_municipality_gets_not_found_and_a_token_needs_the_scope(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    day = await _approved_day(db, tenant)
    other = await make_tenant(db, "malmo", "Malmö")
    theirs = await _headers(db, other, ["pay:read"])
    for path in (
        f"/api/v1/elections/{day.election_id}/pay",
        f"/api/v1/elections/{day.election_id}/pay/districts/{day.district_id}",
        f"/api/v1/elections/{day.election_id}/pay/advance",
    ):
        assert (await client.get(path, headers=theirs)).status_code == 404, path
    # A district of another election of the same municipality is not found either.
    second = await make_election(db, tenant, name="Extraval")
    ours = await _headers(db, tenant, ["pay:read"])
    response = await client.get(
        f"/api/v1/elections/{second.id}/pay/districts/{day.district_id}", headers=ours
    )
    assert response.status_code == 404
    narrow = await _headers(db, tenant, ["staffing:read"])
    refused = await client.get(f"/api/v1/elections/{day.election_id}/pay", headers=narrow)
    assert refused.status_code == 403
    assert (await refused.get_json())["missing_scope"] == "pay:read"


async def test_the_openapi_document_describes_them(client: QuartClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    operation = document["paths"]["/api/v1/elections/{election_id}/pay/districts/{district_id}"][
        "get"
    ]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) >= {"computed", "approved", "approvals", "entries"}
    assert "pay:read" in str(operation)
    assert "/api/v1/elections/{election_id}/pay" in document["paths"]
    assert "/api/v1/elections/{election_id}/pay/advance" in document["paths"]
