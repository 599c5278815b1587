"""The JSON API: bearer tokens per tenant, problem documents, OpenAPI."""

from typing import Any

import pytest
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts import api_tokens
from app.core.accounts.api_tokens import create_api_token, revoke_api_token
from app.core.audit import Actor, record
from app.core.models import Tenant, User, utcnow
from app.core.security import hash_token
from app.core.tenancy import tenant_scope
from tests.factories import make_person


async def _token(db: AsyncSession, tenant: Tenant, name: str = "Integration") -> tuple[Any, str]:
    with tenant_scope(tenant.id):
        return await create_api_token(db, Actor.system("test"), name)


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def test_it_refuses_a_missing_or_wrong_token_with_a_problem_document(
    client: QuartClient, tenant: Tenant
) -> None:
    for headers in ({}, _bearer("stm_wrong"), {"Authorization": "Basic abc"}):
        response = await client.get("/api/v1/tenant", headers=headers)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        body = await response.get_json()
        assert body["status"] == 401 and body["title"]


async def test_it_answers_for_the_tokens_own_municipality(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    _token_row, secret = await _token(db, tenant)
    response = await client.get("/api/v1/tenant", headers=_bearer(secret))
    assert response.status_code == 200
    assert await response.get_json() == {
        "slug": "lund",
        "name": "Lunds kommun",
        "locale": "sv",
        "timezone": "Europe/Stockholm",
    }


async def test_it_lists_only_the_tokens_municipalitys_audit_entries(
    client: QuartClient,
    db: AsyncSession,
    tenant: Tenant,
    admin: User,
    outsider: User,
    other_tenant: Tenant,
) -> None:
    _token_row, secret = await _token(db, tenant)
    response = await client.get("/api/v1/audit-entries?limit=500", headers=_bearer(secret))
    body = await response.get_json()
    actors = {item["actor"] for item in body["items"]}
    codes = {item["code"] for item in body["items"]}
    assert "accounts.user.added" in codes
    assert outsider.email not in actors
    with tenant_scope(other_tenant.id):
        pass
    paged = await client.get("/api/v1/audit-entries?limit=1", headers=_bearer(secret))
    first = await paged.get_json()
    assert len(first["items"]) == 1 and first["next_before_id"] == first["items"][0]["id"]
    following = await client.get(
        f"/api/v1/audit-entries?limit=1&before_id={first['next_before_id']}",
        headers=_bearer(secret),
    )
    assert (await following.get_json())["items"][0]["id"] < first["items"][0]["id"]


async def test_it_lists_one_persons_audit_entries_and_no_other_municipalitys(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    """As the back office's log filtered to a person, by the register's id."""
    _token_row, secret = await _token(db, tenant)
    anna = await make_person(db, tenant)
    bo = await make_person(db, tenant)
    with tenant_scope(tenant.id):
        await record(db, Actor.system("test"), "people.person.checked", anna)
        await db.commit()
    stranger = await make_person(db, other_tenant)
    response = await client.get(
        f"/api/v1/audit-entries?person_id={anna.id}", headers=_bearer(secret)
    )
    assert response.status_code == 200
    items = (await response.get_json())["items"]
    assert {(i["object_type"], i["object_id"]) for i in items} == {("Person", str(anna.id))}
    assert {"people.person.checked", "people.person.created"} <= {i["code"] for i in items}
    only_bo = await client.get(f"/api/v1/audit-entries?person_id={bo.id}", headers=_bearer(secret))
    assert "people.person.checked" not in {i["code"] for i in (await only_bo.get_json())["items"]}
    for unknown in (stranger.id, 999_999):
        refused = await client.get(
            f"/api/v1/audit-entries?person_id={unknown}", headers=_bearer(secret)
        )
        assert refused.status_code == 404
        assert refused.headers["Content-Type"] == "application/problem+json"
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    parameters = document["paths"]["/api/v1/audit-entries"]["get"]["parameters"]
    (person,) = [p for p in parameters if p["name"] == "person_id"]
    assert person["in"] == "query" and "merged" in person["description"]
    assert "404" in document["paths"]["/api/v1/audit-entries"]["get"]["responses"]


async def test_it_refuses_a_bad_query_with_field_errors(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    _token_row, secret = await _token(db, tenant)
    response = await client.get("/api/v1/audit-entries?limit=many", headers=_bearer(secret))
    assert response.status_code == 400
    body = await response.get_json()
    assert body["errors"][0]["field"] == "limit"
    too_many = await client.get("/api/v1/audit-entries?limit=501", headers=_bearer(secret))
    assert too_many.status_code == 400


async def test_it_stops_accepting_a_revoked_token(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    token, secret = await _token(db, tenant)
    assert (await client.get("/api/v1/tenant", headers=_bearer(secret))).status_code == 200
    with tenant_scope(tenant.id):
        await revoke_api_token(db, Actor.system("test"), token.id)
    assert (await client.get("/api/v1/tenant", headers=_bearer(secret))).status_code == 401


async def test_a_known_token_is_read_without_asking_across_municipalities(
    client: QuartClient, db: AsyncSession, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    _row, secret = await _token(db, tenant)
    asked: list[str] = []
    across = api_tokens.across_tenant_id

    async def counted(*args: Any) -> Any:
        asked.append(args[1])
        return await across(*args)

    monkeypatch.setattr(api_tokens, "across_tenant_id", counted)
    for _call in range(3):
        assert (await client.get("/api/v1/tenant", headers=_bearer(secret))).status_code == 200
    assert asked == ["stemma_api_token_tenant"]
    assert (await client.get("/api/v1/tenant", headers=_bearer("stm_wrong"))).status_code == 401
    assert hash_token("stm_wrong") not in api_tokens._FOUND


async def test_a_token_remembered_wrongly_is_asked_for_again_and_answers_for_its_own(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    token, secret = await _token(db, tenant)
    _other_row, other_secret = await _token(db, other_tenant)
    assert (await client.get("/api/v1/tenant", headers=_bearer(other_secret))).status_code == 200
    # Another municipality remembered for it (as a row gone and its id used again would
    # leave it): the other municipality's rows never answer for it.
    api_tokens._FOUND[hash_token(secret)] = (other_tenant.id, token.id)
    response = await client.get("/api/v1/tenant", headers=_bearer(secret))
    assert response.status_code == 200
    assert (await response.get_json())["slug"] == "lund"
    assert api_tokens._FOUND[hash_token(secret)] == (tenant.id, token.id)


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


async def test_a_token_just_read_is_trusted_briefly_without_reading_it_again(
    client: QuartClient, db: AsyncSession, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, secret = await _token(db, tenant)
    clock = _Clock()
    monkeypatch.setattr(api_tokens, "monotonic_clock", clock)
    reads: list[int] = []
    unrevoked = api_tokens._unrevoked

    async def counted(*args: Any) -> Any:
        reads.append(1)
        return await unrevoked(*args)

    monkeypatch.setattr(api_tokens, "_unrevoked", counted)
    for _call in range(3):
        response = await client.get("/api/v1/tenant", headers=_bearer(secret))
        assert (await response.get_json())["slug"] == "lund"
    assert len(reads) == 1
    # Revoked by another process (no word reaches this one): refused once the trust
    # runs out, not before.
    with tenant_scope(tenant.id):
        token.revoked_at = utcnow()
        await db.commit()
    clock.now += api_tokens.TRUSTED_SECONDS - 0.5
    assert (await client.get("/api/v1/tenant", headers=_bearer(secret))).status_code == 200
    clock.now += 1.0
    assert (await client.get("/api/v1/tenant", headers=_bearer(secret))).status_code == 401
    assert (await client.get("/api/v1/tenant", headers=_bearer(secret))).status_code == 401


async def test_trusted_tokens_each_answer_for_their_own_municipality(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    _row, secret = await _token(db, tenant)
    _other_row, other_secret = await _token(db, other_tenant)
    for key, token_secret in (("a", secret), ("b", other_secret), ("c", secret)):
        response = await client.get("/api/v1/tenant", headers=_bearer(token_secret))
        assert response.status_code == 200, key
    # Each answers for its own municipality though both are trusted now.
    mine = await client.get("/api/v1/tenant", headers=_bearer(secret))
    theirs = await client.get("/api/v1/tenant", headers=_bearer(other_secret))
    assert (await mine.get_json())["slug"] == "lund"
    assert (await theirs.get_json())["slug"] == "malmo"


async def test_it_needs_no_csrf_token_for_bearer_requests(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    _token_row, secret = await _token(db, tenant)
    response = await client.post("/api/v1/tenant", headers=_bearer(secret))
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/problem+json"


async def test_it_answers_an_unknown_api_path_with_a_problem_document(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    _token_row, secret = await _token(db, tenant)
    response = await client.get("/api/v1/nothing-here", headers=_bearer(secret))
    assert response.status_code == 404


async def test_it_publishes_an_openapi_document_of_the_api_only(client: QuartClient) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = await response.get_json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Stemma API"
    assert {
        "/api/v1/tenant",
        "/api/v1/audit-entries",
        "/api/v1/people",
        "/api/v1/people/{person_id}",
        "/api/v1/buildings",
        "/api/v1/elections",
        "/api/v1/elections/{election_id}/stations",
    } <= set(document["paths"])
    assert all(path.startswith("/api/v1/") for path in document["paths"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["security"] == [{"bearer": []}]


async def test_request_and_response_models_are_checked_with_adapters_made_once(
    client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    import quart_schema.conversion
    from pydantic import BaseModel

    from app.api import _type_adapter_of

    class Counted(BaseModel):
        number: int

    load = quart_schema.conversion.model_load
    assert load({"number": "7"}, Counted, ValueError) == Counted(number=7)
    made = _type_adapter_of.cache_info().currsize
    assert load({"number": 8}, Counted, ValueError) == Counted(number=8)
    assert _type_adapter_of.cache_info().currsize == made
    # Bad input is still refused.
    with pytest.raises(ValueError):
        load({"number": "seven"}, Counted, ValueError)
    # Through the app: each request reuses the adapters of its models ...
    with tenant_scope(tenant.id):
        _token, secret = await create_api_token(db, Actor.system("test"), "Kiosk")
    headers = {"Authorization": f"Bearer {secret}"}

    async def ticket() -> None:
        response = await client.post(
            "/api/v1/realtime/tickets", headers=headers, json={"user_id": admin.id}
        )
        assert response.status_code == 201

    await ticket()
    before = _type_adapter_of.cache_info()
    await ticket()
    after = _type_adapter_of.cache_info()
    assert after.currsize == before.currsize and after.hits >= before.hits + 2
    # ... and a refused body still answers with a problem.
    response = await client.post(
        "/api/v1/realtime/tickets", headers=headers, json={"user_id": "not a number"}
    )
    assert response.status_code == 400
