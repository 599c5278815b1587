"""Check-ins over the API: tokens and the clerk's own session, idempotent replays,
rule violations and isolation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.models import Event, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import CheckIn
from app.domain.ops import checkins
from tests.domain.ops.test_checkins import OpsDay, count, link_user, ops_day
from tests.factories import csrf_token, login

URL = "/api/v1/checkins"


async def _token(db: AsyncSession, tenant: Tenant) -> dict[str, str]:
    with tenant_scope(tenant.id):
        _row, secret = await create_api_token(db, Actor.system("test"), "Kiosk")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
async def day(db: AsyncSession, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> OpsDay:
    """The team's election day, with the server's clock at 07:45 that morning."""
    found = await ops_day(db, tenant)
    monkeypatch.setattr(checkins, "utcnow", lambda: found.at(7, 45).astimezone(dt.UTC))
    return found


def _body(day: OpsDay, person_id: int, kind: str = "arrived", **extra: Any) -> dict[str, Any]:
    return {"person_id": person_id, "shift_id": day.early_id, "kind": kind, **extra}


async def test_it_checks_in_with_a_token_and_replays_a_repeat(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay
) -> None:
    headers = {**await _token(db, tenant), "Idempotency-Key": "phone-7:1"}
    body = _body(day, day.clerk_ids[0], device_time="2000-01-01T07:44:00+01:00")
    created = await client.post(URL, headers=headers, json=body)
    assert created.status_code == 201, await created.get_data(as_text=True)
    first = await created.get_json()
    assert (first["kind"], first["source"], first["station_id"]) == (
        "arrived",
        "api",
        day.station_id,
    )
    assert dt.datetime.fromisoformat(first["checked_at"]) == day.at(7, 45)
    again = await client.post(URL, headers=headers, json=body)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await again.get_json() == first
    other = await client.post(URL, headers=headers, json=_body(day, day.clerk_ids[1]))
    assert other.status_code == 422
    assert other.content_type == "application/problem+json"
    assert (await other.get_json())["field"] == "idempotency_key"
    assert await count(db, tenant, CheckIn) == 1
    assert await count(db, tenant, Event, Event.type == "checkin.arrived") == 2


async def test_it_requires_an_idempotency_key_and_a_valid_body(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay
) -> None:
    headers = await _token(db, tenant)
    missing = await client.post(URL, headers=headers, json=_body(day, day.clerk_ids[0]))
    assert missing.status_code == 400
    assert (await missing.get_json())["errors"][0]["field"] == "Idempotency-Key"
    wrong = await client.post(
        URL, headers={**headers, "Idempotency-Key": "k"}, json=_body(day, day.clerk_ids[0], "gone")
    )
    assert wrong.status_code == 400
    assert await count(db, tenant, CheckIn) == 0


async def test_it_answers_a_broken_rule_with_422(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay
) -> None:
    headers = {**await _token(db, tenant), "Idempotency-Key": "left-first"}
    response = await client.post(URL, headers=headers, json=_body(day, day.clerk_ids[0], "left"))
    assert response.status_code == 422
    assert (await response.get_json())["field"] == "kind"


async def test_it_gives_another_municipalitys_token_404(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant, day: OpsDay
) -> None:
    headers = {**await _token(db, other_tenant), "Idempotency-Key": "foreign"}
    response = await client.post(URL, headers=headers, json=_body(day, day.clerk_ids[0]))
    assert response.status_code == 404
    assert await count(db, tenant, CheckIn) == 0


async def test_it_refuses_anonymous_callers(client: QuartClient, day: OpsDay) -> None:
    response = await client.post(
        URL, headers={"Idempotency-Key": "anon"}, json=_body(day, day.clerk_ids[0])
    )
    assert response.status_code == 401


async def test_it_lets_a_signed_in_clerk_check_in_only_themselves(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User, day: OpsDay
) -> None:
    await link_user(db, tenant, day.clerk_ids[0], clerk)
    await login(client, clerk)
    token = await csrf_token(client, f"/{tenant.slug}/portal/")
    no_csrf = await client.post(
        URL, headers={"Idempotency-Key": "s-0"}, json=_body(day, day.clerk_ids[0])
    )
    assert no_csrf.status_code == 400
    headers = {"Idempotency-Key": "s-1", "X-CSRF-Token": token}
    someone_else = await client.post(URL, headers=headers, json=_body(day, day.clerk_ids[1]))
    assert someone_else.status_code == 404
    mine = await client.post(URL, headers=headers, json=_body(day, day.clerk_ids[0]))
    assert mine.status_code == 201, await mine.get_data(as_text=True)
    assert (await mine.get_json())["source"] == "portal"
    assert await count(db, tenant, CheckIn) == 1


async def test_it_gives_an_outsiders_session_404(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User, day: OpsDay
) -> None:
    await login(client, outsider)
    token = await csrf_token(client, "/login")
    response = await client.post(
        URL,
        headers={"Idempotency-Key": "o-1", "X-CSRF-Token": token},
        json=_body(day, day.clerk_ids[0]),
    )
    assert response.status_code == 404
    assert await count(db, tenant, CheckIn) == 0


async def test_it_is_in_the_openapi_document(client: QuartClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    operation = document["paths"]["/api/v1/checkins"]["post"]
    assert {"201", "200"} <= set(operation["responses"])
