"""API tokens with scopes and an expiry: a token does only what it was given, and an
expired one opens nothing; the OpenAPI document says so on every operation."""

from datetime import timedelta

import pytest
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts import api_tokens
from app.core.accounts.api_tokens import SCOPES, create_api_token
from app.core.accounts.users import AccountsError
from app.core.audit import Actor
from app.core.models import ApiToken, Tenant, User, utcnow
from app.core.tenancy import tenant_scope
from tests.factories import application_data, login, make_open_election


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def _token(db: AsyncSession, tenant: Tenant, *scopes: str) -> str:
    with tenant_scope(tenant.id):
        _row, secret = await create_api_token(
            db, Actor.system("test"), "Webbplats", scopes=list(scopes)
        )
    return secret


async def test_the_website_token_submits_applications_but_cannot_read_them(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    headers = _bearer(await _token(db, tenant, "applications:write"))
    submitted = await client.post(
        "/api/v1/applications", headers=headers, json=application_data(election)
    )
    assert submitted.status_code == 202, await submitted.get_data(as_text=True)
    for path in ("/api/v1/applications", "/api/v1/applications/1"):
        refused = await client.get(path, headers=headers)
        assert refused.status_code == 403
        assert refused.headers["Content-Type"] == "application/problem+json"
        problem = await refused.get_json()
        assert problem["status"] == 403 and problem["missing_scope"] == "applications:read"
        assert "applications:read" in problem["detail"]
    # Nor anything else of the municipality's.
    for path in ("/api/v1/people", "/api/v1/elections", "/api/v1/audit-entries"):
        assert (await client.get(path, headers=headers)).status_code == 403


async def test_a_read_token_cannot_write(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    headers = _bearer(await _token(db, tenant, "registers:read"))
    assert (await client.get("/api/v1/people", headers=headers)).status_code == 200
    written = await client.post("/api/v1/buildings", headers=headers, json={"name": "Skolan"})
    assert written.status_code == 403
    assert (await written.get_json())["missing_scope"] == "registers:write"
    # Whose it is, any valid token may ask.
    assert (await client.get("/api/v1/tenant", headers=headers)).status_code == 200


async def test_an_expired_token_answers_401_with_a_problem_document(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    secret = await _token(db, tenant, *SCOPES)
    headers = _bearer(secret)
    assert (await client.get("/api/v1/tenant", headers=headers)).status_code == 200
    with tenant_scope(tenant.id):
        token = (await db.scalars(select(ApiToken))).one()
        token.expires_at = utcnow() - timedelta(seconds=1)
        await db.commit()
    # A token's expiry never changes once made (this stands for time passing): the
    # process trusts its row as read for a few seconds, so it is read again here.
    api_tokens._TRUSTED.clear()
    response = await client.get("/api/v1/tenant", headers=headers)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert (await response.get_json())["title"] == "API-nyckeln har gått ut."


async def test_a_token_gets_every_scope_and_a_year_unless_chosen(
    db: AsyncSession, tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        token, _secret = await create_api_token(db, Actor.system("test"), "HR")
        assert token.scopes == list(SCOPES)
        assert timedelta(days=364) < token.expires_at - utcnow() <= timedelta(days=365)
        for scopes, field in (([], "scopes"), (["everything:write"], "scopes")):
            with pytest.raises(AccountsError) as refused:
                await create_api_token(db, Actor.system("test"), "X", scopes=scopes)
            assert refused.value.field == field
        with pytest.raises(AccountsError) as refused:
            await create_api_token(
                db, Actor.system("test"), "X", expires_on=utcnow().date() - timedelta(days=1)
            )
        assert refused.value.field == "expires_on"


async def test_every_operation_documents_its_401_its_403_and_its_scope(
    client: QuartClient,
) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    assert document["components"]["schemas"]["Problem"]["properties"]["missing_scope"]
    asked = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "401" in operation["responses"], (method, path)
            if path == "/api/v1/tenant":
                assert "403" not in operation["responses"]
                continue
            assert "403" in operation["responses"], (method, path)
            [requirement] = operation["security"]
            [scope] = requirement["bearer"]
            asked.add(scope)
    # Every scope a token can be given is asked by some operation, and no other.
    assert asked == set(SCOPES)


async def test_the_token_page_makes_a_token_with_the_chosen_scopes_and_expiry(
    client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    await login(client, admin)
    page = await client.get("/lund/planning/admin/tokens")
    html = await page.get_data(as_text=True)
    assert 'value="applications:write"' in html and 'name="expires_on"' in html
    last_day = (utcnow() + timedelta(days=30)).date()
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    response = await client.post(
        "/lund/planning/admin/tokens",
        form={
            "name": "Webbplatsen",
            "scopes": "applications:write",
            "expires_on": last_day.isoformat(),
            "csrf_token": token,
        },
    )
    assert response.status_code == 200, await response.get_data(as_text=True)
    with tenant_scope(tenant.id):
        made = (await db.scalars(select(ApiToken))).one()
    assert made.scopes == ["applications:write"]
    assert made.expires_at.date() in (last_day - timedelta(days=1), last_day)
    listed = await response.get_data(as_text=True)
    assert "Submit applications" in listed or "Skicka in ans" in listed
