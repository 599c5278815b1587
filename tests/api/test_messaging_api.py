"""Message templates over the API: the list with each text's state, one text as it is
sent now, and nothing of another municipality's."""

from __future__ import annotations

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.messaging import editing
from tests.factories import make_tenant

ACTOR = Actor(label="planner@lund.test")


async def _headers(
    db: AsyncSession, tenant: Tenant, scopes: list[str] | None = None
) -> dict[str, str]:
    with tenant_scope(tenant.id):
        _token, secret = await create_api_token(db, ACTOR, "Intranät", scopes=scopes)
    return {"Authorization": f"Bearer {secret}"}


async def test_the_list_and_a_text_as_sent_now(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        await editing.save_text(
            db, ACTOR, "staffing_offer", "sms", "da", {"body": "Hej {{ person.first_name }}"}
        )
        own = await editing.create_own(db, ACTOR, {"name": "Tack", "channels": ["email"]})
    headers = await _headers(db, tenant, ["messaging:read"])
    listed = await client.get("/api/v1/message-templates", headers=headers)
    assert listed.status_code == 200
    items = {item["key"]: item for item in (await listed.get_json())["items"]}
    offer = items["staffing_offer"]
    assert offer["own"] is False and offer["channels"] == ["email", "sms"]
    states = {(t["channel"], t["locale"]): t for t in offer["texts"]}
    assert states[("sms", "da")]["state"] == "edited" and states[("sms", "da")]["version"] == 1
    assert states[("sms", "da")]["saved_by"] == ACTOR.label
    assert states[("email", "sv")] | {"saved_at": None} == {
        "channel": "email", "locale": "sv", "state": "default", "version": None,
        "saved_at": None, "saved_by": None,
    }  # fmt: skip
    assert items[own.key]["own"] is True
    assert {t["state"] for t in items[own.key]["texts"]} == {"missing"}
    text = await (
        await client.get("/api/v1/message-templates/staffing_offer/email/en", headers=headers)
    ).get_json()
    assert text["state"] == "default" and text["subject"].startswith("You are offered a place")
    assert "{{ offer.link }}" in text["body"]
    assert "offer.link" in {f["name"] for f in text["fields"]}
    edited = await (
        await client.get("/api/v1/message-templates/staffing_offer/sms/da", headers=headers)
    ).get_json()
    assert edited["body"] == "Hej {{ person.first_name }}" and edited["subject"] == ""
    for missing in (
        "nothing/email/sv",
        "staffing_offer/fax/sv",
        "staffing_offer/sms/fi",
        f"{own.key}/sms/sv",
    ):
        response = await client.get(f"/api/v1/message-templates/{missing}", headers=headers)
        assert response.status_code == 404, missing


async def test_another_municipality_sees_none_of_it_and_a_token_needs_the_scope(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        own = await editing.create_own(db, ACTOR, {"name": "Hemlig", "channels": ["sms"]})
    other = await make_tenant(db, "malmo", "Malmö")
    theirs = await _headers(db, other)
    listed = await (await client.get("/api/v1/message-templates", headers=theirs)).get_json()
    assert own.key not in {item["key"] for item in listed["items"]}
    response = await client.get(f"/api/v1/message-templates/{own.key}/sms/sv", headers=theirs)
    assert response.status_code == 404
    narrow = await _headers(db, tenant, ["courses:read"])
    refused = await client.get("/api/v1/message-templates", headers=narrow)
    assert refused.status_code == 403
    assert (await refused.get_json())["missing_scope"] == "messaging:read"


async def test_the_openapi_document_describes_them(client: QuartClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    operation = document["paths"]["/api/v1/message-templates/{key}/{channel}/{locale}"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["properties"]["state"]["enum"] == ["default", "edited", "missing"]
    assert schema["properties"]["channel"]["enum"] == ["email", "sms"]
    assert set(schema["required"]) >= {"key", "subject", "body", "fields", "state", "version"}
    assert "messaging:read" in str(operation)
