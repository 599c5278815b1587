"""Applications over the API: submitted by a municipality's own website, listed and read
by the office's systems, never across municipalities."""

from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import Application
from tests.factories import application_data, make_application, make_open_election


async def _headers(db: AsyncSession, tenant: Tenant) -> dict[str, str]:
    with tenant_scope(tenant.id):
        _token, secret = await create_api_token(db, Actor.system("test"), "Webbplats")
    return {"Authorization": f"Bearer {secret}"}


async def test_it_takes_an_application_from_the_municipalitys_website(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    headers = await _headers(db, tenant)
    response = await client.post(
        "/api/v1/applications", headers=headers, json=application_data(election)
    )
    assert response.status_code == 202, await response.get_data(as_text=True)
    assert await response.get_json() == {"received": True}
    again = await client.post(
        "/api/v1/applications",
        headers=headers,
        json=application_data(election, city="Malmö"),
    )
    # Applying again looks exactly the same from outside.
    assert again.status_code == 202 and await again.get_json() == {"received": True}
    with tenant_scope(tenant.id):
        stored = (await db.scalars(select(Application))).one()
    assert stored.source == "api" and stored.city == "Malmö" and stored.times_submitted == 2
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(OutboxMessage.id))) == 2


async def test_it_answers_bad_applications_with_field_errors(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    headers = await _headers(db, tenant)
    response = await client.post(
        "/api/v1/applications",
        headers=headers,
        json=application_data(election, consent=False, national_id="19900101-0018"),
    )
    assert response.status_code == 422
    problem = await response.get_json()
    assert {e["field"] for e in problem["errors"]} == {"consent", "national_id"}
    malformed = await client.post("/api/v1/applications", headers=headers, json={"first_name": "A"})
    assert malformed.status_code == 400
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(Application.id))) == 0


async def test_it_lists_and_reads_applications_with_masked_numbers(
    client: QuartClient, db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    application = (await make_application(db, tenant, election)).application
    headers = await _headers(db, tenant)
    listing = await (
        await client.get(f"/api/v1/applications?election_id={election.id}", headers=headers)
    ).get_json()
    assert listing["total"] == 1
    item = listing["items"][0]
    assert item["national_id_masked"] == "19900101-****" and "national_id" not in item
    assert item["elections"][0]["days"] == [str(election.election_day)]
    one = await client.get(f"/api/v1/applications/{application.id}", headers=headers)
    assert (await one.get_json())["email"] == "sara.lind@example.se"
    other_headers = await _headers(db, other_tenant)
    assert (
        await client.get(f"/api/v1/applications/{application.id}", headers=other_headers)
    ).status_code == 404
    other_listing = await client.get("/api/v1/applications", headers=other_headers)
    assert (await other_listing.get_json())["total"] == 0
    # The API refuses a choice of the other municipality's election as "not open".
    response = await client.post(
        "/api/v1/applications", headers=other_headers, json=application_data(election)
    )
    assert response.status_code == 422


async def test_it_documents_the_application_endpoints(client: QuartClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    paths = document["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/applications"])
    assert "get" in paths["/api/v1/applications/{application_id}"]


async def test_it_requires_the_declaration_of_not_being_a_candidate(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    """Candidates cannot serve: the API, like the form, asks; unlike the form's box it
    refuses an application without the declaration, and keeps it as the form does."""
    election = await make_open_election(db, tenant)
    headers = await _headers(db, tenant)
    declined = await client.post(
        "/api/v1/applications",
        headers={**headers, "Accept-Language": "sv"},
        json=application_data(election, not_candidate=False),
    )
    assert declined.status_code == 422
    assert declined.content_type.startswith("application/problem+json")
    problem = await declined.get_json()
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [
        (
            "not_candidate",
            "Den som kandiderar i ett val kan inte vara röstmottagare i det: "
            "intyga att du inte kandiderar.",
        )
    ]
    data = application_data(election)
    del data["not_candidate"]
    missing = await client.post("/api/v1/applications", headers=headers, json=data)
    assert missing.status_code == 400
    assert "not_candidate" in await missing.get_data(as_text=True)
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count(Application.id))) == 0
    declared = await client.post(
        "/api/v1/applications", headers=headers, json=application_data(election)
    )
    assert declared.status_code == 202
    with tenant_scope(tenant.id):
        stored = (await db.scalars(select(Application))).one()
        assert stored.declared_not_candidate is True
    listing = await (await client.get("/api/v1/applications", headers=headers)).get_json()
    assert listing["items"][0]["declared_not_candidate"] is True
