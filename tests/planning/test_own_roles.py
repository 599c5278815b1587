"""The roles page: the office adds its own role, orders, retires and deletes roles; a
used role is refused deletion with a message where it happened; another tenant's role
is not found."""

from __future__ import annotations

from decimal import Decimal

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment, RoleType
from tests.factories import login, make_person, make_staffed_station, post_form

BASE = "/lund/planning/roles/"
ADD = {
    "name": "Lagledare",
    "name_da": "Holdleder",
    "name_en": "Team leader",
    "pay_amount": "3100",
    "pay_unit": "day",
    "work_kinds_shown": "1",
    "work_election_day": "1",
    "counts_toward_minimum": "1",
}


async def _role(db: AsyncSession, tenant: Tenant, code: str) -> RoleType:
    with tenant_scope(tenant.id):
        role = await db.scalar(select(RoleType).where(RoleType.code == code))
    assert role is not None
    return role


async def test_the_office_adds_a_role_and_the_page_refuses_a_bad_one_in_place(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    page = await (await client.get(BASE)).get_data(as_text=True)
    assert "Lägg till en roll" in page and "Får arbeta vid" in page
    added = await post_form(client, BASE, ADD)
    assert added.status_code == 302
    leader = await _role(db, tenant, "lagledare")
    assert leader.work_kinds == ["election_day"] and leader.names["en"] == "Team leader"
    again = await post_form(client, BASE, {**ADD, "name": "lagledare"})
    assert again.status_code == 422
    assert "En annan roll har redan det namnet." in await again.get_data(as_text=True)
    nowhere = await post_form(client, BASE, {**ADD, "name": "Bud", "work_election_day": ""})
    assert nowhere.status_code == 422
    text = await nowhere.get_data(as_text=True)
    assert "Välj minst ett slags arbete som rollen får göra." in text
    assert 'value="Bud"' in text  # the form keeps what was typed
    with tenant_scope(tenant.id):
        names = set(await db.scalars(select(RoleType.name)))
    assert "Bud" not in names


async def test_a_used_role_is_refused_deletion_and_can_be_retired_and_moved(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    pieces = await make_staffed_station(db, tenant)
    person = await make_person(db, tenant)
    clerk = await _role(db, tenant, "clerk")
    with tenant_scope(tenant.id):
        db.add(
            Assignment(
                election_id=pieces["election"].id,
                station_id=pieces["station"].id,
                shift_id=pieces["early"].id,
                role_type_id=clerk.id,
                person_id=person.id,
                state="accepted",
            )
        )
        await db.commit()

    refused = await post_form(client, f"{BASE}{clerk.id}/delete", {})
    assert refused.status_code == 422
    text = await refused.get_data(as_text=True)
    assert "kan inte tas bort; avveckla den i stället." in text
    retired = await post_form(client, f"{BASE}{clerk.id}/retire", {})
    assert retired.status_code == 302
    moved = await post_form(client, f"{BASE}{clerk.id}/up", {})
    assert moved.status_code == 302
    page = await (await client.get(BASE)).get_data(as_text=True)
    assert "Avvecklad" in page and "Ta i bruk igen" in page
    clerk = await _role(db, tenant, "clerk")
    with tenant_scope(tenant.id):
        await db.refresh(clerk)
    assert clerk.retired and clerk.sort_order == 1
    host = await _role(db, tenant, "host")
    assert (await post_form(client, f"{BASE}{host.id}/delete", {})).status_code == 302
    assert (await post_form(client, f"{BASE}{host.id}/retire", {})).status_code == 404
    assert (await post_form(client, f"{BASE}{clerk.id}/sideways", {})).status_code == 404


async def test_another_tenants_role_is_not_found(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, other_tenant: Tenant
) -> None:
    await login(client, planner)
    theirs = await _role(db, other_tenant, "host")
    for action in ("delete", "retire", "up"):
        response = await post_form(client, f"{BASE}{theirs.id}/{action}", {})
        assert response.status_code == 404
    assert (await post_form(client, f"{BASE}{theirs.id}", ADD)).status_code == 404


async def test_the_norms_say_which_roles_the_legal_minimum_does_not_count(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    staffed = await make_staffed_station(db, tenant)
    await login(client, planner)
    page = await (
        await client.get(
            f"/lund/planning/elections/{staffed['election'].id}/stations/{staffed['station'].id}"
        )
    ).get_data(as_text=True)
    # Once per shift, on the host's row only.
    assert page.count("räknas inte med i lagens minsta antal") == 2
    host = page.split("räknas inte med i lagens minsta antal")[0].rsplit("<th", 1)[-1]
    assert "Värd" in host, host


async def test_the_pay_is_written_the_readers_way_and_saved_back_as_it_is(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    """Found walking issue 25: a new role's pay of 3300 came back as "3300.00"."""
    host = await _role(db, tenant, "host")
    with tenant_scope(tenant.id):
        host.pay_amount = Decimal("172.50")
        await db.commit()
    await login(client, planner)
    page = await (await client.get(BASE)).get_data(as_text=True)
    assert f'id="pay-{host.id}" name="pay_amount" inputmode="decimal" value="172,5"' in page
    assert '.00"' not in page
