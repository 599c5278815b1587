"""Dispatches over the API: created from a filter and sent, idempotent by the client's
key, its states read back; bad input refused with nothing written; another
municipality's dispatch or election is not found."""

from __future__ import annotations

import secrets
from typing import Any

from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import Dispatch
from tests.domain.dispatches.helpers import world

ACTOR = Actor.system("test")


async def _headers(
    db: AsyncSession, tenant: Tenant, scopes: list[str] | None = None
) -> dict[str, str]:
    with tenant_scope(tenant.id):
        _token, secret = await create_api_token(db, ACTOR, "Intranät", scopes=scopes)
    return {"Authorization": f"Bearer {secret}"}


def _body(election_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "title": "Information",
        "request_key": secrets.token_urlsafe(16),
        "channels": ["sms"],
        "filter": {"election_id": election_id, "states": ["accepted"]},
        "texts": {"sv": {"sms": "Hej {{ person.first_name }}!"}},
        "send": True,
        **fields,
    }


async def test_it_creates_and_sends_a_dispatch_once_and_reads_its_states(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    w = await world(db, tenant)
    headers = await _headers(db, tenant)
    body = _body(w["election"].id)
    created = await client.post("/api/v1/dispatches", json=body, headers=headers)
    answer = await created.get_json()
    assert created.status_code == 201, answer
    assert answer["state"] == "sent"
    # Alva and Gun by SMS; Eva is erased.
    assert answer["counts"]["queued"] == {"email": 0, "sms": 2}
    assert answer["counts"]["left_out"] == {"email": 0, "sms": 1}
    retried = await client.post("/api/v1/dispatches", json=body, headers=headers)
    assert (await retried.get_json())["id"] == answer["id"]
    read = await client.get(f"/api/v1/dispatches/{answer['id']}", headers=headers)
    assert (await read.get_json())["counts"]["queued"]["sms"] == 2
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 2


async def test_bad_input_is_refused_at_its_field_and_writes_nothing(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    w = await world(db, tenant)
    headers = await _headers(db, tenant)
    e = w["election"].id
    cases = [
        (_body(e, texts={}), "sms_sv"),
        (_body(e, filter={"election_id": e, "day": "2020-01-01"}), "group"),
        (_body(e, texts={"sv": {"sms": "{{ person.national_id }}"}}), "sms_sv"),
        (_body(e, send_at="2020-01-01T10:00:00+01:00"), "send_at"),
    ]
    for body, field in cases:
        answer = await client.post("/api/v1/dispatches", json=body, headers=headers)
        problem = await answer.get_json()
        assert answer.status_code == 422, problem
        assert problem["field"] == field, problem
    schema = await client.post(
        "/api/v1/dispatches", json=_body(e, channels=["fax"]), headers=headers
    )
    assert schema.status_code == 400
    # Another municipality's election is not one of ours.
    theirs = await _headers(db, other_tenant)
    answer = await client.post("/api/v1/dispatches", json=_body(e), headers=theirs)
    assert answer.status_code == 422 and (await answer.get_json())["field"] == "election_id"
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count()).select_from(Dispatch)) == 0
        assert await db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_another_municipalitys_dispatch_is_not_found_and_scopes_are_asked(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    w = await world(db, tenant)
    created = await client.post(
        "/api/v1/dispatches",
        json=_body(w["election"].id, send=False),
        headers=await _headers(db, tenant),
    )
    dispatch_id = (await created.get_json())["id"]
    theirs = await _headers(db, other_tenant)
    assert (
        await client.get(f"/api/v1/dispatches/{dispatch_id}", headers=theirs)
    ).status_code == 404
    reader = await _headers(db, tenant, scopes=["dispatches:read"])
    assert (
        await client.get(f"/api/v1/dispatches/{dispatch_id}", headers=reader)
    ).status_code == 200
    refused = await client.post("/api/v1/dispatches", json=_body(w["election"].id), headers=reader)
    assert refused.status_code == 403
    assert (await refused.get_json())["missing_scope"] == "dispatches:write"


async def test_the_openapi_document_describes_create_and_read(client: QuartClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()

    def schema(found: dict[str, Any]) -> dict[str, Any]:
        """A schema, its reference followed when it is one."""
        if "$ref" in found:
            return dict(document["components"]["schemas"][found["$ref"].rsplit("/", 1)[1]])
        return found

    create = document["paths"]["/api/v1/dispatches"]["post"]
    assert "dispatches" in create["tags"] and "201" in create["responses"]
    body = schema(create["requestBody"]["content"]["application/json"]["schema"])
    assert set(body["required"]) >= {"title", "request_key", "channels", "filter"}
    group = schema(body["properties"]["filter"])["properties"]
    assert group["group"]["enum"] == ["staff", "reserves", "applicants", "course", "register"]
    assert {"district_id", "station_id", "role_type_id", "day", "unanswered", "arrival"} <= set(
        group
    )
    read = document["paths"]["/api/v1/dispatches/{dispatch_id}"]["get"]
    assert "404" in read["responses"]
    out = schema(read["responses"]["200"]["content"]["application/json"]["schema"])
    assert out["properties"]["state"]["enum"] == [
        "draft", "scheduled", "queueing", "sent", "cancelled"
    ]  # fmt: skip
    assert "counts" in out["properties"]
