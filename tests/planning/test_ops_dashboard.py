"""Election day live, the coordinators' dashboard: who may see it, the station panel,
sending a reserve, handling incidents, and conflicts shown in place."""

from __future__ import annotations

import datetime as dt

import pytest
from quart.testing import QuartClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.elections.norms import set_norms
from app.domain.models import (
    Assignment,
    Election,
    Incident,
    Person,
    PersonExclusion,
    Reserve,
    RoleType,
    StaffingNorm,
)
from app.domain.ops import dashboard as dashboard_module
from app.domain.ops import incidents as ops_incidents
from app.domain.staffing import assignments
from tests.domain.ops.test_checkins import COORDINATOR, OpsDay, _check_in, ops_day
from tests.factories import csrf_token, login, make_clerk

HTMX = {"HX-Request": "true"}


@pytest.fixture
async def day(db: AsyncSession, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> OpsDay:
    """The station's election day at 08:30, with the chair and one clerk checked in."""
    found = await ops_day(db, tenant)
    monkeypatch.setattr(dashboard_module, "utcnow", lambda: found.at(8, 30).astimezone(dt.UTC))
    await _check_in(db, tenant, found, found.chair_id, "c", now=found.at(7, 20))
    await _check_in(db, tenant, found, found.clerk_ids[0], "a", now=found.at(7, 25))
    return found


async def _election_of(db: AsyncSession, tenant: Tenant, day: OpsDay) -> Election:
    with tenant_scope(tenant.id):
        election = await db.scalar(select(Election).where(Election.id == day.election_id))
    assert election is not None
    return election


def _url(day: OpsDay, tail: str = "") -> str:
    return f"/lund/planning/elections/{day.election_id}/live{tail}"


async def _incident(db: AsyncSession, tenant: Tenant, day: OpsDay) -> Incident:
    with tenant_scope(tenant.id):
        return await ops_incidents.report_incident(
            db, COORDINATOR, day.station_id, category="queue", severity="high", text="Lång kö."
        )


async def test_it_shows_every_station_with_counts_alerts_and_its_socket(
    client: QuartClient, tenant: Tenant, day: OpsDay, coordinator: User
) -> None:
    await login(client, coordinator)
    response = await client.get(_url(day))
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert f'id="ops-station-{day.station_id}"' in page
    assert 'hx-ext="ws,ops-shown-only"' in page
    assert f"/lund/ws?topics=t%3A{tenant.id}%3Ae%3A{day.election_id}%3Aops" in page
    assert "last_event_id=" in page
    assert 'id="ops-cursor"' in page and "data-last-event-id=" in page
    assert "<strong>1/2</strong>" in page  # one of at least two clerks
    assert "Hamnskolan" in page and 'id="ops-summary"' in page
    # Alerts that come with the clock alone have no event: the live block redraws itself.
    assert 'hx-trigger="ops-snapshot, every 60s"' in page
    # HTMX (a filter, or a snapshot reload) gets only the live block.
    fragment = await (await client.get(_url(day, "?alerts=1"), headers=HTMX)).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="ops-summary"')
    assert f'id="ops-station-{day.station_id}"' in fragment


async def test_its_redraw_raises_an_alert_that_only_the_clock_brings(
    client: QuartClient, day: OpsDay, coordinator: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody checks in and nothing happens, yet 20 minutes into the shift the clerk who
    has not come is an alert: the page's minute redraw (the same HTMX request) shows it."""
    await login(client, coordinator)
    late = 'data-alert="not_arrived"'
    monkeypatch.setattr(dashboard_module, "utcnow", lambda: day.at(7, 45).astimezone(dt.UTC))
    before = await (await client.get(_url(day), headers=HTMX)).get_data(as_text=True)
    assert f'id="ops-station-{day.station_id}"' in before and late not in before
    monkeypatch.setattr(dashboard_module, "utcnow", lambda: day.at(7, 51).astimezone(dt.UTC))
    after = await (await client.get(_url(day), headers=HTMX)).get_data(as_text=True)
    assert late in after


async def test_it_is_in_the_menu_and_on_the_election_page(
    client: QuartClient, day: OpsDay, coordinator: User
) -> None:
    await login(client, coordinator)
    detail = await client.get(f"/lund/planning/elections/{day.election_id}/")
    assert _url(day) in await detail.get_data(as_text=True)
    menu = await client.get("/lund/planning/live")
    assert menu.status_code == 302 and menu.headers["Location"].endswith(_url(day))


async def test_it_sends_anonymous_to_sign_in(client: QuartClient, day: OpsDay) -> None:
    response = await client.get(_url(day))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


async def test_it_gives_an_outsider_not_found(
    client: QuartClient, day: OpsDay, outsider: User
) -> None:
    await login(client, outsider)
    assert (await client.get(_url(day))).status_code == 404
    assert (await client.get(_url(day, f"/stations/{day.station_id}"))).status_code == 404


async def test_it_refuses_a_clerk_and_lets_a_planner_only_look(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay, clerk: User, planner: User
) -> None:
    await login(client, clerk)
    assert (await client.get(_url(day))).status_code == 403
    await client.post("/logout", form={"csrf_token": await csrf_token(client, "/lund/portal/")})
    await login(client, planner)
    assert (await client.get(_url(day))).status_code == 200
    panel = await client.get(_url(day, f"/stations/{day.station_id}"), headers=HTMX)
    assert panel.status_code == 200
    assert "/reassign" not in await panel.get_data(as_text=True)
    token = await csrf_token(client, _url(day))
    refused = await client.post(
        _url(day, f"/stations/{day.station_id}/reassign"), form={"csrf_token": token}
    )
    assert refused.status_code == 403


async def test_it_sends_a_reserve_to_the_place_of_someone_who_has_not_come(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay, coordinator: User
) -> None:
    from app.domain.models import Election

    with tenant_scope(tenant.id):
        election = await db.scalar(select(Election).where(Election.id == day.election_id))
    reserve = await make_clerk(db, tenant, election, first_name="Rut", last_name="Reserv")
    with tenant_scope(tenant.id):
        db.add(Reserve(election_id=day.election_id, person_id=reserve.id))
        await db.commit()
        absent = await db.scalar(
            select(Assignment.id).where(Assignment.person_id == day.clerk_ids[1])
        )
    await login(client, coordinator)
    panel = await client.get(_url(day, f"/stations/{day.station_id}"), headers=HTMX)
    text = await panel.get_data(as_text=True)
    assert "Rut Reserv" in text and f'value="{absent}"' in text
    token = await csrf_token(client, _url(day))
    sent = await client.post(
        _url(day, f"/stations/{day.station_id}/reassign"),
        form={"csrf_token": token, "person": f"reserve:{reserve.id}", "replace": str(absent)},
        headers=HTMX,
    )
    assert sent.status_code == 200, await sent.get_data(as_text=True)
    assert 'id="ops-panel"' in await sent.get_data(as_text=True)
    with tenant_scope(tenant.id):
        states = dict((await db.execute(select(Assignment.person_id, Assignment.state))).all())
    assert states[reserve.id] == "accepted" and states[day.clerk_ids[1]] == "withdrawn"
    # The same absent place again (a second coordinator's stale panel): a clear conflict.
    other = await make_clerk(db, tenant, election)
    with tenant_scope(tenant.id):
        db.add(Reserve(election_id=day.election_id, person_id=other.id))
        await db.commit()
    again = await client.post(
        _url(day, f"/stations/{day.station_id}/reassign"),
        form={"csrf_token": token, "person": f"reserve:{other.id}", "replace": str(absent)},
        headers=HTMX,
    )
    assert again.status_code == 409
    assert 'class="flash flash-error"' in await again.get_data(as_text=True)


async def test_it_reports_a_full_place_as_a_conflict_in_the_panel(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay, coordinator: User
) -> None:
    from app.domain.models import Election, RoleType

    with tenant_scope(tenant.id):
        election = await db.scalar(select(Election).where(Election.id == day.election_id))
        chair = await db.scalar(select(RoleType.id).where(RoleType.code == "chair"))
    reserve = await make_clerk(db, tenant, election)
    with tenant_scope(tenant.id):
        db.add(Reserve(election_id=day.election_id, person_id=reserve.id))
        await db.commit()
    await login(client, coordinator)
    token = await csrf_token(client, _url(day))
    full = await client.post(
        _url(day, f"/stations/{day.station_id}/reassign"),
        form={
            "csrf_token": token,
            "person": f"reserve:{reserve.id}",
            "place": f"{day.early_id}:{chair}",
        },
        headers=HTMX,
    )
    assert full.status_code == 409
    assert 'class="flash flash-error"' in await full.get_data(as_text=True)


async def test_it_handles_an_incident_and_refuses_a_stale_version(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay, coordinator: User
) -> None:
    incident = await _incident(db, tenant, day)
    await login(client, coordinator)
    page = await (await client.get(_url(day))).get_data(as_text=True)
    assert "ops-severity-high" in page
    token = await csrf_token(client, _url(day))
    base = _url(day, f"/incidents/{incident.id}")
    acknowledged = await client.post(
        f"{base}/acknowledge",
        form={"csrf_token": token, "version": "1", "note": "Vi skickar en till."},
        headers=HTMX,
    )
    assert acknowledged.status_code == 200
    assert "Vi skickar en till." in await acknowledged.get_data(as_text=True)
    stale = await client.post(
        f"{base}/resolve", form={"csrf_token": token, "version": "1"}, headers=HTMX
    )
    assert stale.status_code == 409
    assigned = await client.post(
        f"{base}/assign",
        form={"csrf_token": token, "version": "2", "user_id": str(coordinator.id)},
        headers=HTMX,
    )
    assert assigned.status_code == 200
    resolved = await client.post(
        f"{base}/resolve", form={"csrf_token": token, "version": "3", "note": "Löst."}, headers=HTMX
    )
    assert resolved.status_code == 200
    with tenant_scope(tenant.id):
        row = await db.scalar(
            select(Incident)
            .where(Incident.id == incident.id)
            .execution_options(populate_existing=True)
        )
    assert row is not None and (row.state, row.assigned_to_user_id) == ("resolved", coordinator.id)
    # Without HTMX the answer is a flash and the panel's own page.
    note = await client.post(f"{base}/note", form={"csrf_token": token, "note": "Efteråt."})
    assert note.status_code == 302


async def test_it_gives_another_elections_incident_not_found(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay, coordinator: User
) -> None:
    incident = await _incident(db, tenant, day)
    await login(client, coordinator)
    token = await csrf_token(client, _url(day))
    wrong = f"/lund/planning/elections/{day.election_id + 999}/live/incidents/{incident.id}/note"
    response = await client.post(wrong, form={"csrf_token": token, "note": "x"})
    assert response.status_code == 404


async def test_the_panel_counts_a_host_there_apart_from_the_minimum(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay, coordinator: User
) -> None:
    """A host checked in is there, but not one of the minimum (issue 25)."""
    host = await make_clerk(db, tenant, await _election_of(db, tenant, day))
    with tenant_scope(tenant.id):
        await set_norms(
            db, Actor.system("test"), day.election_id, day.station_id, day.early_id,
            {"min_chair": "1", "target_chair": "1", "min_clerk": "2", "target_clerk": "3",
             "target_host": "1"},
        )  # fmt: skip
        role = await db.scalar(select(RoleType).where(RoleType.code == "host"))
        assert role is not None
        # A host's minimum as saved before the norm editor refused one: never counted.
        await db.execute(
            update(StaffingNorm).where(StaffingNorm.role_type_id == role.id).values(minimum=1)
        )
        placed = await assignments.assign_person(
            db, Actor.system("test"), day.early_id, role.id, host.id
        )
        placed.state = "accepted"
        await db.commit()
    await _check_in(db, tenant, day, host.id, "h", now=day.at(7, 30))
    await login(client, coordinator)
    panel = await client.get(_url(day, f"/stations/{day.station_id}"), headers=HTMX)
    text = await panel.get_data(as_text=True)
    assert "2 på plats, minimum 3 och 1 vars roll inte räknas" in " ".join(text.split())


async def test_it_marks_one_kept_off_and_counts_them_in_no_place(
    client: QuartClient, db: AsyncSession, tenant: Tenant, day: OpsDay, coordinator: User
) -> None:
    """The clerk who checked in is excluded after being placed: the row and the panel
    still name them, marked, and neither counts them as filling their place."""
    clerk_id = day.clerk_ids[0]
    with tenant_scope(tenant.id):
        clerk = await db.scalar(select(Person).where(Person.id == clerk_id))
        assert clerk is not None
        name = clerk.full_name
        db.add(PersonExclusion(person_id=clerk_id, reason="Jäv", created_by_label="x"))
        await db.commit()
    await login(client, coordinator)
    page = " ".join((await (await client.get(_url(day))).get_data(as_text=True)).split())
    assert "<strong>0/2</strong>" in page  # no clerk fills a place (1/2 before)
    assert 'data-kept-off="1"' in page
    assert f"Får inte arbeta här</span> {name}: 1 plats behöver någon annan" in page
    panel = await client.get(_url(day, f"/stations/{day.station_id}"), headers=HTMX)
    text = " ".join((await panel.get_data(as_text=True)).split())
    assert f"{name} <span" in text and "Får inte arbeta här" in text and "Jäv" in text
    assert "1 på plats, minimum" in text  # the chair alone
