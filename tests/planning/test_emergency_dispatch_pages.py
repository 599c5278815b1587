"""Emergency dispatch in the station's drawer and on the phone of the person sent: the
reason asked at its field, phone numbers as tel: links for coordinators only, and the
confirmation only the person sent can give."""

from __future__ import annotations

import datetime as dt

import pytest
from quart.testing import QuartClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment, Election, Person, Reserve, RoleType, Station
from app.domain.ops import dashboard as dashboard_module
from app.domain.ops.reassign import reassign
from tests.domain.ops.test_checkins import OpsDay, _check_in, link_user, ops_day
from tests.factories import (
    csrf_token,
    login,
    make_clerk,
    make_course,
    make_staffed_station,
    make_user,
)
from tests.portal.test_election_day import PAGE, login_en, today_at_station

HTMX = {"HX-Request": "true"}


@pytest.fixture
async def day(db: AsyncSession, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> OpsDay:
    """Election day at 08:30: the chair and one clerk are in, the other clerk is not."""
    found = await ops_day(db, tenant)
    monkeypatch.setattr(dashboard_module, "utcnow", lambda: found.at(8, 30).astimezone(dt.UTC))
    await _check_in(db, tenant, found, found.chair_id, "c", now=found.at(7, 20))
    await _check_in(db, tenant, found, found.clerk_ids[0], "a", now=found.at(7, 25))
    return found


def _url(day: OpsDay, tail: str = "") -> str:
    return f"/lund/planning/elections/{day.election_id}/live{tail}"


async def _reserve(
    db: AsyncSession, tenant: Tenant, election_id: int, mobile: str | None = None
) -> int:
    with tenant_scope(tenant.id):
        election = await db.scalar(select(Election).where(Election.id == election_id))
    person = await make_clerk(
        db, tenant, election, first_name="Rut", last_name="Reserv", mobile=mobile
    )
    with tenant_scope(tenant.id):
        db.add(Reserve(election_id=election_id, person_id=person.id))
        await db.commit()
    return int(person.id)


async def _mobile(db: AsyncSession, tenant: Tenant, person_id: int, mobile: str) -> None:
    with tenant_scope(tenant.id):
        person = await db.get(Person, person_id)
        assert person is not None
        person.mobile = mobile
        await db.commit()


async def test_it_shows_phone_numbers_as_tel_links_to_coordinators_only(
    client: QuartClient,
    db: AsyncSession,
    tenant: Tenant,
    day: OpsDay,
    coordinator: User,
    planner: User,
    clerk: User,
) -> None:
    reserve_id = await _reserve(db, tenant, day.election_id, mobile="+46 70 111 22 33")
    await _mobile(db, tenant, day.clerk_ids[1], "+46702223344")  # has not come
    await _mobile(db, tenant, day.clerk_ids[0], "+46709990000")  # is here
    panel_url = _url(day, f"/stations/{day.station_id}")
    await login(client, coordinator)
    text = await (await client.get(panel_url, headers=HTMX)).get_data(as_text=True)
    assert 'href="tel:+46702223344"' in text  # the no-show
    assert 'href="tel:+46701112233"' in text  # the reserve
    assert "+46709990000" not in text  # someone here needs no call
    assert f"reserve:{reserve_id}" in text
    await client.post("/logout", form={"csrf_token": await csrf_token(client, _url(day))})
    await login(client, planner)
    watched = await client.get(panel_url, headers=HTMX)
    assert watched.status_code == 200
    seen = await watched.get_data(as_text=True)
    assert "tel:" not in seen and "+46702223344" not in seen and "+46 70 111" not in seen
    await client.post("/logout", form={"csrf_token": await csrf_token(client, _url(day))})
    await login(client, clerk)
    assert (await client.get(panel_url, headers=HTMX)).status_code == 403


async def test_it_asks_the_reason_at_its_field_and_writes_nothing_without_it(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay, coordinator: User
) -> None:
    with tenant_scope(tenant.id):
        election = await db.scalar(select(Election).where(Election.id == day.election_id))
        clerk_role = await db.scalar(select(RoleType.id).where(RoleType.code == "clerk"))
    await make_course(db, tenant, election, roles=("clerk",))
    reserve_id = await _reserve(db, tenant, day.election_id)
    await login_en(client, coordinator)
    panel = await (
        await client.get(_url(day, f"/stations/{day.station_id}"), headers=HTMX)
    ).get_data(as_text=True)
    # Marked before sending: the reserve needs a reason, and the list says why.
    assert "Rut Reserv — needs a reason: lacks the training (Förmiddag · Poll clerk)" in panel
    assert "Lacks the required course" in panel
    token = await csrf_token(client, _url(day))
    form = {
        "csrf_token": token,
        "person": f"reserve:{reserve_id}",
        "place": f"{day.early_id}:{clerk_role}",
    }
    refused = await client.post(
        _url(day, f"/stations/{day.station_id}/reassign"), form=form, headers=HTMX
    )
    assert refused.status_code == 422
    text = await refused.get_data(as_text=True)
    assert 'id="field-override_reason-error"' in text
    assert "Give a reason to send them anyway." in text
    assert f'value="reserve:{reserve_id}" selected' in text  # the choice is kept
    with tenant_scope(tenant.id):
        held = await db.scalar(
            select(func.count(Assignment.id)).where(Assignment.person_id == reserve_id)
        )
    assert held == 0
    sent = await client.post(
        _url(day, f"/stations/{day.station_id}/reassign"),
        form={**form, "override_reason": "Två sjuka; hon gick kursen 2022."},
        headers=HTMX,
    )
    assert sent.status_code == 200, await sent.get_data(as_text=True)
    answer = await sent.get_data(as_text=True)
    assert "They show as sent until they confirm" in answer
    assert 'data-sending="sent"' in answer
    # The dashboard's row says so too.
    page = await (await client.get(_url(day))).get_data(as_text=True)
    assert "Rut Reserv (Poll clerk): sent" in page


async def test_it_gives_another_municipalitys_station_not_found(
    client: QuartClient,
    db: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
    day: OpsDay,
    coordinator: User,
) -> None:
    theirs = await make_staffed_station(db, other_tenant, name="Deras skola")
    station_id = theirs["station"].id
    reserve_id = await _reserve(db, tenant, day.election_id)
    await login(client, coordinator)
    assert (await client.get(_url(day, f"/stations/{station_id}"), headers=HTMX)).status_code == 404
    token = await csrf_token(client, _url(day))
    response = await client.post(
        _url(day, f"/stations/{station_id}/reassign"),
        form={
            "csrf_token": token,
            "person": f"reserve:{reserve_id}",
            "place": f"{theirs['early'].id}:{theirs['roles']['clerk'].id}",
            "override_reason": "x",
        },
        headers=HTMX,
    )
    assert response.status_code == 404
    # Their shift on our station's form is not found either.
    with tenant_scope(tenant.id):
        ours = await db.scalar(select(Station.id).where(Station.id == day.station_id))
    response = await client.post(
        _url(day, f"/stations/{ours}/reassign"),
        form={
            "csrf_token": token,
            "person": f"reserve:{reserve_id}",
            "place": f"{theirs['early'].id}:{theirs['roles']['clerk'].id}",
        },
        headers=HTMX,
    )
    assert response.status_code == 404


async def test_only_the_person_sent_confirms_on_their_phone(
    client: QuartClient, db: AsyncSession, tenant: Tenant, clerk: User, coordinator: User
) -> None:
    today = await today_at_station(db, tenant, clerk)
    with tenant_scope(tenant.id):
        election_id = await db.scalar(
            select(Station.election_id).where(Station.id == today.station_id)
        )
        clerk_role = await db.scalar(select(RoleType.id).where(RoleType.code == "clerk"))
    assert election_id is not None and clerk_role is not None
    reserve_id = await _reserve(db, tenant, election_id)
    reserve_user = await make_user(db, tenant, "clerk", name="Rut Reserv")
    await link_user(db, tenant, reserve_id, reserve_user)
    with tenant_scope(tenant.id):
        placed = await reassign(
            db,
            Actor.for_user(coordinator),
            shift_id=today.early_id,
            role_type_id=clerk_role,
            person_id=reserve_id,
            # The shift was moved to today: nobody said they could work today.
            override_reason="Called and can come.",
        )
        placed_id = placed.id
    confirm = f"{PAGE}/sent/{placed_id}/confirm"
    # A teammate sees the reserve as sent on the team, but cannot confirm for them.
    await login_en(client, clerk)
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert "Sent by the election office, not confirmed yet" in page
    assert "I am on my way" not in page
    token = await csrf_token(client, PAGE)
    assert (await client.post(confirm, form={"csrf_token": token})).status_code == 404
    await client.post("/logout", form={"csrf_token": token})
    await login_en(client, today.chair)
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert "Sent by the election office, not confirmed yet" in page
    await client.post("/logout", form={"csrf_token": await csrf_token(client, PAGE)})
    # The reserve's own phone: told they are sent, and confirms.
    await login_en(client, reserve_user)
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert "The election office has sent you here." in page and "I am on my way" in page
    token = await csrf_token(client, PAGE)
    done = await client.post(confirm, form={"csrf_token": token})
    assert done.status_code == 302
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert "You confirmed at" in page and "I am on my way" not in page
    with tenant_scope(tenant.id):
        confirmed = await db.scalar(
            select(Assignment.confirmed_at)
            .where(Assignment.id == placed_id)
            .execution_options(populate_existing=True)
        )
    assert confirmed is not None
