"""Incidents: reported by a station's team, handled by coordinators, with a clear refusal
when two coordinators act on the same incident."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Event, Tenant, User
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.models import Incident, IncidentNote
from app.domain.ops import OpsConflict, OpsError, OpsForbidden
from app.domain.ops import incidents as ops_incidents
from tests.domain.ops.test_checkins import OpsDay, count, link_user, ops_day
from tests.factories import make_user


async def _report(db: AsyncSession, tenant: Tenant, day: OpsDay, actor: Actor) -> Incident:
    with tenant_scope(tenant.id):
        return await ops_incidents.report_incident(
            db,
            actor,
            day.station_id,
            category="queue",
            severity="medium",
            text="Lång kö utanför, 40 minuters väntan.",
        )


async def test_it_takes_a_report_from_the_stations_team(
    db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    day = await ops_day(db, tenant)
    await link_user(db, tenant, day.clerk_ids[0], clerk)
    incident = await _report(db, tenant, day, Actor.for_user(clerk))
    assert (incident.state, incident.version, incident.reported_by_user_id) == (
        "open",
        1,
        clerk.id,
    )
    with tenant_scope(tenant.id):
        events = list(await db.scalars(select(Event)))
        code = await db.scalar(select(AuditEntry.code).where(AuditEntry.code.like("ops.%")))
    assert [e.type for e in events] == ["incident.reported"] * 2
    assert "text" not in events[0].payload  # free text never travels on the broker
    assert code == "ops.incident.reported"


async def test_it_refuses_a_report_from_outside_the_team(
    db: AsyncSession, tenant: Tenant, clerk: User, planner: User
) -> None:
    day = await ops_day(db, tenant)
    with locale_scope("en"), pytest.raises(NotFound):
        await _report(db, tenant, day, Actor.for_user(clerk))
    with locale_scope("en"), pytest.raises(OpsForbidden):
        await _report(db, tenant, day, Actor.for_user(planner))
    assert await count(db, tenant, Incident) == 0


async def test_it_refuses_an_unknown_category_or_an_empty_text(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"), pytest.raises(FieldErrors) as caught:
        await ops_incidents.report_incident(
            db, Actor.for_user(coordinator), day.station_id, category="fire", severity="x", text=""
        )
    assert set(caught.value.errors) == {"category", "severity", "text"}


async def test_it_handles_an_incident_from_report_to_resolution(
    db: AsyncSession, tenant: Tenant, coordinator: User, admin: User
) -> None:
    day = await ops_day(db, tenant)
    actor = Actor.for_user(coordinator)
    incident = await _report(db, tenant, day, actor)
    with tenant_scope(tenant.id):
        incident = await ops_incidents.acknowledge(db, actor, incident.id, expected_version=1)
        assert (incident.state, incident.version) == ("acknowledged", 2)
        incident = await ops_incidents.assign(
            db, actor, incident.id, user_id=admin.id, expected_version=2
        )
        assert (incident.state, incident.assigned_to_user_id) == ("assigned", admin.id)
        await ops_incidents.add_note(db, actor, incident.id, "Skickat en extra värd.")
        incident = await ops_incidents.resolve(
            db, Actor.for_user(admin), incident.id, expected_version=3, note="Kön borta 09:40."
        )
        notes = await ops_incidents.incident_notes(db, incident.id)
        types = list(await db.scalars(select(Event.type).order_by(Event.id)))
    assert (incident.state, incident.version) == ("resolved", 4)
    assert incident.acknowledged_at and incident.assigned_at and incident.resolved_at
    assert [(n.text, n.author_label) for n in notes] == [
        ("Skickat en extra värd.", coordinator.email),
        ("Kön borta 09:40.", admin.email),
    ]
    assert types[::2] == [
        "incident.reported",
        "incident.acknowledged",
        "incident.assigned",
        "incident.noted",
        "incident.resolved",
    ]
    with (
        tenant_scope(tenant.id),
        locale_scope("en"),
        pytest.raises(OpsError, match="already resolved"),
    ):
        await ops_incidents.resolve(db, actor, incident.id, expected_version=4)


async def test_it_refuses_a_change_on_a_stale_version(
    db: AsyncSession, tenant: Tenant, coordinator: User, admin: User
) -> None:
    day = await ops_day(db, tenant)
    incident = await _report(db, tenant, day, Actor.for_user(coordinator))
    with tenant_scope(tenant.id):
        await ops_incidents.acknowledge(
            db, Actor.for_user(coordinator), incident.id, expected_version=1
        )
        with locale_scope("en"), pytest.raises(OpsConflict, match="changed meanwhile") as caught:
            await ops_incidents.assign(
                db, Actor.for_user(admin), incident.id, user_id=admin.id, expected_version=1
            )
    assert caught.value.status == 409


async def test_it_lets_one_of_two_coordinators_acting_at_once_win(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    admin: User,
) -> None:
    day = await ops_day(db, tenant)
    incident_id = (await _report(db, tenant, day, Actor.for_user(coordinator))).id
    start = asyncio.Event()

    async def act(user: User) -> object:
        with tenant_scope(tenant.id):
            async with session_factory() as session:
                await start.wait()
                try:
                    return await ops_incidents.acknowledge(
                        session, Actor.for_user(user), incident_id, expected_version=1
                    )
                except OpsConflict as error:
                    return error

    tasks = [asyncio.create_task(act(user)) for user in (coordinator, admin)]
    await asyncio.sleep(0.05)
    start.set()
    results = await asyncio.gather(*tasks)
    assert sorted(type(r).__name__ for r in results) == ["Incident", "OpsConflict"]
    assert await count(db, tenant, Event, Event.type == "incident.acknowledged") == 2


async def test_it_assigns_only_to_a_coordinator_of_the_municipality(
    db: AsyncSession, tenant: Tenant, coordinator: User, clerk: User, outsider: User
) -> None:
    day = await ops_day(db, tenant)
    actor = Actor.for_user(coordinator)
    incident = await _report(db, tenant, day, actor)
    with tenant_scope(tenant.id):
        for user in (clerk, outsider):
            with locale_scope("en"), pytest.raises(FieldErrors):
                await ops_incidents.assign(
                    db, actor, incident.id, user_id=user.id, expected_version=1
                )


async def test_it_lets_the_team_report_but_not_handle(
    db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    day = await ops_day(db, tenant)
    await link_user(db, tenant, day.clerk_ids[0], clerk)
    incident = await _report(db, tenant, day, Actor.for_user(clerk))
    with tenant_scope(tenant.id):
        with locale_scope("en"), pytest.raises(OpsForbidden):
            await ops_incidents.acknowledge(
                db, Actor.for_user(clerk), incident.id, expected_version=1
            )
        with locale_scope("en"), pytest.raises(OpsForbidden):
            await ops_incidents.add_note(db, Actor.for_user(clerk), incident.id, "Hej")


async def test_it_lets_the_station_lead_add_notes(db: AsyncSession, tenant: Tenant) -> None:
    day = await ops_day(db, tenant)
    lead = await make_user(db, tenant, "clerk")
    await link_user(db, tenant, day.chair_id, lead)
    incident = await _report(db, tenant, day, Actor.for_user(lead))
    with tenant_scope(tenant.id):
        note = await ops_incidents.add_note(db, Actor.for_user(lead), incident.id, "Löst lokalt.")
    assert note.author_user_id == lead.id
    assert await count(db, tenant, IncidentNote) == 1


async def test_it_gives_an_outsider_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, coordinator: User, outsider: User
) -> None:
    day = await ops_day(db, tenant)
    incident = await _report(db, tenant, day, Actor.for_user(coordinator))
    with tenant_scope(other_tenant.id):
        with locale_scope("en"), pytest.raises(NotFound):
            await ops_incidents.acknowledge(
                db, Actor.for_user(outsider), incident.id, expected_version=1
            )
        with locale_scope("en"), pytest.raises(NotFound):
            await ops_incidents.report_incident(
                db,
                Actor.for_user(outsider),
                day.station_id,
                category="other",
                severity="low",
                text="x",
            )
