"""The office's pages for erasing people: the removal-request queue (approve, refuse with
a reason), the "erase" confirmation on a person's page, the retention setting with its
dry run, and what the clerk sees of a refused request."""

from __future__ import annotations

import datetime as dt
from typing import Any

from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import AuditEntry, OutboxMessage, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment, Person
from tests.factories import login, make_person, make_staffed_station, make_user, post_form

QUEUE = "/lund/planning/people/removal-requests"


async def _asking(db: AsyncSession, tenant: Tenant, **fields: Any) -> Person:
    person = await make_person(db, tenant, **fields)
    with tenant_scope(tenant.id):
        person.removal_requested_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
        await db.commit()
    return person


async def _fresh(db: AsyncSession, tenant: Tenant, person_id: int) -> Person:
    db.expunge_all()
    with tenant_scope(tenant.id):
        person = await db.get(Person, person_id)
    assert person is not None
    return person


async def test_the_queue_lists_requests_with_what_goes_and_what_stays(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    person = await _asking(db, tenant, first_name="Greta", last_name="Gran", email="g@example.se")
    await make_person(db, tenant, first_name="Nils", email="n@example.se")
    await login(client, planner)
    body = await (await client.get(QUEUE)).get_data(as_text=True)
    assert "1 begäran väntar på svar" in body
    assert "Greta Gran" in body and "Nils" not in body
    assert "Raderas" in body and "Sparas, utan namn" in body
    assert f"Raderad person #{person.id}" in body
    assert f"/people/{person.id}/removal/approve" in body


async def test_a_coordinator_may_not_see_the_queue(client: QuartClient, coordinator: User) -> None:
    await login(client, coordinator)
    assert (await client.get(QUEUE)).status_code == 403


async def test_approving_erases_the_person(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    person = await _asking(db, tenant, first_name="Greta", email="g@example.se")
    await login(client, planner)
    response = await post_form(client, f"/lund/planning/people/{person.id}/removal/approve")
    assert response.status_code == 302
    erased = await _fresh(db, tenant, person.id)
    assert erased.erased_at is not None and erased.email is None
    body = await (await client.get(QUEUE)).get_data(as_text=True)
    assert "Personen har raderats." in body and "Inga begäranden väntar på svar." in body


async def test_approving_is_refused_while_a_place_is_ahead(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await _asking(db, tenant, first_name="Greta", email="g@example.se")
    with tenant_scope(tenant.id):
        db.add(
            Assignment(
                election_id=s["election"].id,
                station_id=s["station"].id,
                shift_id=s["early"].id,
                role_type_id=s["roles"]["clerk"].id,
                person_id=person.id,
                state="offered",
            )
        )
        await db.commit()
    await login(client, planner)
    body = await (await client.get(QUEUE)).get_data(as_text=True)
    assert "Kan inte raderas än" in body and "/removal/approve" not in body
    response = await post_form(client, f"/lund/planning/people/{person.id}/removal/approve")
    assert response.status_code == 302
    body = await (await client.get(QUEUE)).get_data(as_text=True)
    assert "som inte är över än" in body
    assert (await _fresh(db, tenant, person.id)).erased_at is None


async def test_refusing_needs_a_reason_and_mails_the_clerk_who_then_sees_it(
    app: Quart, client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    clerk = await make_user(db, tenant, "clerk", email="greta@example.se")
    person = await _asking(db, tenant, first_name="Greta", email="greta@example.se")
    with tenant_scope(tenant.id):
        person.user_id = clerk.id
        await db.commit()
    await login(client, planner)
    path = f"/lund/planning/people/{person.id}/removal/refuse"
    assert "Skäl" in await (await client.get(path)).get_data(as_text=True)
    response = await post_form(client, path, {"reason": ""})
    assert response.status_code == 422
    assert 'id="field-reason-error"' in await response.get_data(as_text=True)
    response = await post_form(client, path, {"reason": "Arvodet för valet är inte utbetalt."})
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        mail = (await db.scalars(select(OutboxMessage))).one()
        [entry] = (
            await db.scalars(select(AuditEntry).where(AuditEntry.code == "people.removal.refused"))
        ).all()
    assert mail.recipient == "greta@example.se"
    assert "Arvodet för valet är inte utbetalt." in mail.body_text
    assert "Arvodet" not in str(entry.data)
    # The clerk sees the answer in the portal.
    clerk_client = app.test_client()
    await login(clerk_client, clerk)
    page = await (await clerk_client.get("/lund/portal/profile")).get_data(as_text=True)
    assert "Valkansliet avslog din begäran" in page
    assert "Arvodet för valet är inte utbetalt." in page


async def test_the_erase_page_states_the_consequences_and_erases(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    person = await make_person(db, tenant, first_name="Hugo", email="hugo@example.se")
    await login(client, planner)
    path = f"/lund/planning/people/{person.id}/erase"
    body = await (await client.get(path)).get_data(as_text=True)
    assert "Raderingen kan inte ångras" in body and "Personnummer och bankkonto." in body
    response = await post_form(client, path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/people/{person.id}")
    erased = await _fresh(db, tenant, person.id)
    assert erased.first_name == "Raderad person" and erased.email is None
    page = await (await client.get(f"/lund/planning/people/{person.id}")).get_data(as_text=True)
    assert "Raderad" in page and "hugo@example.se" not in page
    # Once erased there is nothing left to erase.
    assert (await client.get(path)).status_code == 404


async def test_the_settings_page_sets_the_period_and_shows_a_dry_run(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    person = await make_person(db, tenant, first_name="Ingrid")
    with tenant_scope(tenant.id):
        person.created_at = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
        await db.commit()
    await login(client, planner)
    body = await (await client.get("/lund/planning/site/settings")).get_data(as_text=True)
    assert "Inaktiva personer sparas." in body
    response = await post_form(
        client,
        "/lund/planning/site/settings",
        {
            "brand_color": "#1d4ed8",
            "retention_months": "12",
            "inactive_retention_months": "36",
            "pay_retention_years": "7",
        },
    )
    assert response.status_code == 302
    body = await (await client.get("/lund/planning/site/settings")).get_data(as_text=True)
    assert "1 person skulle raderas vid nästa körning." in body
    assert (await _fresh(db, tenant, person.id)).erased_at is None  # only counted
    response = await post_form(
        client,
        "/lund/planning/site/settings",
        {"retention_months": "12", "inactive_retention_months": "x", "pay_retention_years": "7"},
    )
    assert response.status_code == 422
