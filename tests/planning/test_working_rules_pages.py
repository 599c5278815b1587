"""The working-time and undertaking page (with the confirm step), the board's reason for
a working-time override, and the coordinator's check-in of someone who has not signed."""

from __future__ import annotations

import datetime as dt

import pytest
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.clerks import undertaking
from app.domain.models import AutostaffRun, CheckIn, WorkingRules
from app.domain.ops import checkins as checkins_module
from app.domain.ops import dashboard as dashboard_module
from tests.domain.ops.test_checkins import COORDINATOR, OpsDay, ops_day
from tests.domain.staffing.test_working_time import _assign, _day_of_two_shifts
from tests.factories import csrf_token, login, make_staffed_station, post_form

PAGE = "/lund/planning/working-rules/"
HTMX = {"HX-Request": "true"}


async def test_the_planner_sets_a_ten_hour_day_after_seeing_the_places_it_breaks(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    world = await _day_of_two_shifts(db, tenant)
    await _assign(db, tenant, world, "morning")
    await _assign(db, tenant, world, "afternoon")
    await login(client, planner)
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert "Arbetstid och tystnadsförbindelse" in page and 'name="max_day_hours"' in page

    listed = await post_form(client, PAGE, {"max_day_hours": "10", "min_rest_hours": ""})
    shown = await listed.get_data(as_text=True)
    assert listed.status_code == 200
    assert "2 platser som är tillsatta nu skulle bryta mot de nya reglerna" in shown
    assert "Stadshuset" in shown and "11:30" in shown and 'name="confirmed"' in shown
    with tenant_scope(tenant.id):
        assert await db.scalar(select(WorkingRules.id)) is None

    saved = await post_form(
        client, PAGE, {"max_day_hours": "10", "min_rest_hours": "", "confirmed": "1"}
    )
    assert saved.status_code == 302
    with tenant_scope(tenant.id):
        row = await db.scalar(select(WorkingRules))
    assert row is not None and row.max_day_minutes == 600
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert 'value="10"' in page


async def test_bad_hours_are_refused_at_the_field(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    refused = await post_form(client, PAGE, {"max_day_hours": "tio", "min_rest_hours": ""})
    assert refused.status_code == 422
    page = await refused.get_data(as_text=True)
    assert 'aria-invalid="true"' in page and "Ange ett tal" in page
    with tenant_scope(tenant.id):
        assert await db.scalar(select(WorkingRules.id)) is None


async def test_the_office_requires_the_undertaking_and_asks_for_new_signatures(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    await login(client, planner)
    assert (await post_form(client, f"{PAGE}undertaking", {"required": "1"})).status_code == 302
    assert (
        await post_form(client, f"{PAGE}undertaking", {"action": "sign_again"})
    ).status_code == 302
    with tenant_scope(tenant.id):
        status = await undertaking.undertaking_status(db)
    assert status.required and status.signed_since is not None
    page = await (await client.get(PAGE)).get_data(as_text=True)
    assert "Sluta kräva den" in page
    assert "/lund/planning/documents/confidentiality_undertaking/sv" in page


async def test_anonymous_goes_to_sign_in_a_clerk_is_refused_and_an_outsider_gets_404(
    client: QuartClient, clerk: User, outsider: User
) -> None:
    response = await client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    await login(client, clerk)
    assert (await client.get(PAGE)).status_code == 403
    await client.post("/logout", form={"csrf_token": await csrf_token(client, "/lund/portal/")})
    await login(client, outsider)
    assert (await client.get(PAGE)).status_code == 404


async def test_the_board_asks_for_a_reason_to_break_the_working_time(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    world = await _day_of_two_shifts(db, tenant)
    await _assign(db, tenant, world, "morning")
    await login(client, planner)
    assert (await post_form(client, PAGE, {"max_day_hours": "10"})).status_code == 302
    url = f"/lund/planning/elections/{world['election'].id}/staffing/assign"
    form = {
        "shift_id": str(world["shifts"]["afternoon"]),
        "role_type_id": str(world["role"]),
        "person_id": str(world["person"]),
        "override": "1",
    }
    refused = await post_form(client, url, form, headers=HTMX)
    assert refused.status_code == 409
    card = await refused.get_data(as_text=True)
    assert "Skulle arbeta 11:30 timmar den dagen" in card and 'name="override_reason"' in card
    placed = await post_form(client, url, {**form, "override_reason": "Ingen annan"}, headers=HTMX)
    assert placed.status_code == 200


@pytest.fixture
async def ops(db: AsyncSession, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> OpsDay:
    """Election day at 07:40 with the undertaking required and nobody signed."""
    found = await ops_day(db, tenant)
    now = found.at(7, 40).astimezone(dt.UTC)
    monkeypatch.setattr(dashboard_module, "utcnow", lambda: now)
    monkeypatch.setattr(checkins_module, "utcnow", lambda: now)
    with tenant_scope(tenant.id):
        await undertaking.set_required(db, COORDINATOR, True)
    return found


async def test_a_coordinator_checks_in_someone_unsigned_with_a_reason(
    client: QuartClient, db: AsyncSession, tenant: Tenant, ops: OpsDay, coordinator: User
) -> None:
    await login(client, coordinator)
    base = f"/lund/planning/elections/{ops.election_id}/live/stations/{ops.station_id}"
    panel = await (await client.get(base, headers=HTMX)).get_data(as_text=True)
    assert "Tystnadsförbindelse saknas" in panel and "Checka in ändå" in panel
    form = {"shift_id": str(ops.early_id), "person_id": str(ops.clerk_ids[0])}
    refused = await post_form(client, f"{base}/check-in", form, headers=HTMX)
    assert refused.status_code == 422
    assert "har inte skrivit under tystnadsförbindelsen" in await refused.get_data(as_text=True)
    done = await post_form(
        client, f"{base}/check-in", {**form, "override_reason": "Skrev på papper"}, headers=HTMX
    )
    assert done.status_code == 200
    assert "Personen är incheckad." in await done.get_data(as_text=True)
    with tenant_scope(tenant.id):
        row = await db.scalar(select(CheckIn).where(CheckIn.person_id == ops.clerk_ids[0]))
    assert row is not None and row.source == "coordinator"
    # Another station's shift is not found.
    wrong = await post_form(
        client, f"{base}/check-in", {**form, "shift_id": str(ops.early_id + 999)}, headers=HTMX
    )
    assert wrong.status_code == 404


async def test_the_proposal_says_which_places_stay_open_for_the_working_day(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    """Found walking issue 25: a shift longer than the most hours a day stayed open
    with the proposal's only reason "nobody was left who can work that day"."""
    s = await make_staffed_station(db, tenant)
    with tenant_scope(tenant.id):
        run = AutostaffRun(
            election_id=s["election"].id,
            status="pending",
            items=[],
            costs={"places": 0, "filled": 0, "unfilled_below_minimum": 0, "places_too_long": 3},
            seconds=1.0,
            created_by_label="test",
        )
        db.add(run)
        await db.commit()
    await login(client, planner)
    response = await client.get(f"/lund/planning/elections/{s['election'].id}/autostaff/{run.id}")
    assert response.status_code == 200
    assert (
        "3 lediga platser ligger på arbetspass som är längre än arbetstidsreglerna tillåter "
        "per dag: ingen får arbeta dem, så platserna förblir lediga."
    ) in await response.get_data(as_text=True)
