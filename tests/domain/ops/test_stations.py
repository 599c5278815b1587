"""A station's election day: opening checks and overrides, transitions, who may change
the state, the team's roster, and turnout reports."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Event, Tenant, User
from app.core.tenancy import tenant_scope
from app.core.validation import FieldErrors
from app.domain.models import District, Shift, StationStatus, StationStatusChange, TurnoutReport
from app.domain.ops import OpsConflict, OpsError, OpsForbidden
from app.domain.ops.stations import set_station_state, station_roster
from app.domain.ops.turnout import report_turnout
from tests.domain.ops.test_checkins import OpsDay, _check_in, count, link_user, ops_day
from tests.factories import make_user


async def _set(
    db: AsyncSession,
    tenant: Tenant,
    day: OpsDay,
    actor: Actor,
    state: str,
    override_reason: str = "",
    expected_state: str | None = None,
    now: dt.datetime | None = None,
) -> StationStatus:
    with tenant_scope(tenant.id):
        return await set_station_state(
            db,
            actor,
            day.station_id,
            state,
            override_reason,
            expected_state=expected_state,
            now=now or day.at(7, 55),
        )


async def _everyone_in(db: AsyncSession, tenant: Tenant, day: OpsDay) -> None:
    for number, person_id in enumerate([day.chair_id, *day.clerk_ids]):
        await _check_in(db, tenant, day, person_id, f"in-{number}")


async def test_it_opens_a_station_with_its_lead_and_minimum_checked_in(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    await _everyone_in(db, tenant, day)
    status = await _set(db, tenant, day, Actor.for_user(coordinator), "open")
    assert (status.state, status.version, status.override_reason) == ("open", 1, "")
    with tenant_scope(tenant.id):
        change = await db.scalar(select(StationStatusChange))
        events = list(await db.scalars(select(Event).where(Event.type == "station.state_changed")))
        code = await db.scalar(select(AuditEntry.code).where(AuditEntry.code.like("ops.station%")))
    assert change is not None and (change.from_state, change.to_state) == ("not_opened", "open")
    assert change.checks == {
        "shift_id": day.early_id,
        "present": 3,
        "minimum": 3,
        "lead_present": True,
    }
    assert len(events) == 2 and events[0].payload["state"] == "open"
    assert code == "ops.station.state_changed"


async def test_the_opening_check_counts_the_shift_at_work_while_the_next_ones_check_in_is_open(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    """At 12:00 the early shift (07:30-14:00) is at work and the late one (13:30-)
    can check in: the early crew is the one that opens the station."""
    day = await ops_day(db, tenant)
    await _everyone_in(db, tenant, day)
    status = await _set(db, tenant, day, Actor.for_user(coordinator), "open", now=day.at(12))
    assert status.state == "open" and status.override_reason == ""
    with tenant_scope(tenant.id):
        change = await db.scalar(select(StationStatusChange))
    assert change is not None and change.checks["shift_id"] == day.early_id


async def test_the_opening_check_counts_a_midnight_shift_from_the_evening_before(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    """A shift starting at midnight can check in from 22:00 the day before: its crew is
    the one the opening check counts then, not "no shift runs"."""
    day = await ops_day(db, tenant)
    with tenant_scope(tenant.id):
        early = await db.get(Shift, day.early_id)
        assert early is not None
        early.starts_at = dt.time(0, 0)
        await db.commit()
    evening = day.at(23, 0, days=-1)
    for number, person_id in enumerate([day.chair_id, *day.clerk_ids]):
        await _check_in(db, tenant, day, person_id, f"night-{number}", now=evening)
    status = await _set(db, tenant, day, Actor.for_user(coordinator), "open", now=evening)
    assert status.state == "open" and status.override_reason == ""
    with tenant_scope(tenant.id):
        change = await db.scalar(select(StationStatusChange))
    assert change is not None and change.checks["shift_id"] == day.early_id


async def test_it_refuses_to_open_short_handed_unless_given_a_reason(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    await _check_in(db, tenant, day, day.clerk_ids[0], "one")
    actor = Actor.for_user(coordinator)
    with locale_scope("en"), pytest.raises(OpsError) as caught:
        await _set(db, tenant, day, actor, "open")
    assert "No chair or vice chair" in caught.value.message
    assert "1 of at least 3" in caught.value.message
    assert caught.value.field == "override_reason"
    assert await count(db, tenant, StationStatus) == 0
    status = await _set(
        db, tenant, day, actor, "open", override_reason="Chair on the way, voters waiting"
    )
    assert (status.state, status.override_reason) == ("open", "Chair on the way, voters waiting")
    with tenant_scope(tenant.id):
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "ops.station.overridden")
        )
    assert entry is not None
    assert entry.data["override_reason"] == "Chair on the way, voters waiting"
    assert entry.data["lead_present"] is False


async def test_it_refuses_to_open_when_no_shift_runs(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    with locale_scope("en"), pytest.raises(OpsError, match="No shift of this station runs now"):
        await _set(db, tenant, day, Actor.for_user(coordinator), "open", now=day.at(4, 0))


async def test_it_follows_the_days_transitions_only(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    actor = Actor.for_user(coordinator)
    with (
        locale_scope("en"),
        pytest.raises(OpsError, match="cannot go from Not opened to Station closed"),
    ):
        await _set(db, tenant, day, actor, "closed")
    await _everyone_in(db, tenant, day)
    for state in ("open", "paused", "open", "closed", "counting", "result_reported"):
        status = await _set(db, tenant, day, actor, state, now=day.at(9, 0))
    assert (status.state, status.version) == ("result_reported", 6)
    with locale_scope("en"), pytest.raises(OpsError):
        await _set(db, tenant, day, actor, "open")
    with locale_scope("en"), pytest.raises(FieldErrors):
        await _set(db, tenant, day, actor, "exploded")
    assert await count(db, tenant, StationStatusChange) == 6
    assert await count(db, tenant, Event, Event.type == "station.state_changed") == 12


async def test_it_refuses_a_state_someone_changed_meanwhile(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    await _everyone_in(db, tenant, day)
    actor = Actor.for_user(coordinator)
    await _set(db, tenant, day, actor, "open", expected_state="not_opened")
    with locale_scope("en"), pytest.raises(OpsConflict, match="changed meanwhile"):
        await _set(db, tenant, day, actor, "open", expected_state="not_opened")


async def test_it_lets_the_lead_but_not_the_team_or_a_planner_change_the_state(
    db: AsyncSession, tenant: Tenant, clerk: User, planner: User
) -> None:
    day = await ops_day(db, tenant)
    await _everyone_in(db, tenant, day)
    team_member = await make_user(db, tenant, "clerk")
    await link_user(db, tenant, day.chair_id, clerk)
    await link_user(db, tenant, day.clerk_ids[0], team_member)
    with locale_scope("en"), pytest.raises(OpsForbidden):
        await _set(db, tenant, day, Actor.for_user(team_member), "open")
    with locale_scope("en"), pytest.raises(OpsForbidden):
        await _set(db, tenant, day, Actor.for_user(planner), "open")
    status = await _set(db, tenant, day, Actor.for_user(clerk), "open")
    assert status.changed_by_label == clerk.email


async def test_it_gives_an_outsider_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, outsider: User
) -> None:
    day = await ops_day(db, tenant)
    with tenant_scope(other_tenant.id):
        with locale_scope("en"), pytest.raises(NotFound):
            await set_station_state(db, Actor.for_user(outsider), day.station_id, "open")
        with locale_scope("en"), pytest.raises(NotFound):
            await report_turnout(db, Actor.for_user(outsider), day.station_id, "11:00", 5)
    assert await count(db, tenant, StationStatus) == 0


async def test_it_shows_who_arrived_left_or_is_missing(db: AsyncSession, tenant: Tenant) -> None:
    day = await ops_day(db, tenant)
    await _check_in(db, tenant, day, day.chair_id, "c")
    await _check_in(db, tenant, day, day.clerk_ids[0], "a")
    await _check_in(db, tenant, day, day.clerk_ids[0], "b", "left", now=day.at(12, 0))
    with tenant_scope(tenant.id):
        rosters = await station_roster(db, day.station_id, day.day)
    early, late = rosters
    assert (early.shift.id, early.minimum, early.present) == (day.early_id, 3, 1)
    by_person = {entry.person_id: entry for entry in early.entries}
    assert early.entries[0].person_id == day.chair_id and early.entries[0].leads_station
    assert by_person[day.chair_id].status == "arrived"
    assert by_person[day.clerk_ids[0]].status == "left"
    assert by_person[day.clerk_ids[0]].arrived_at == day.at(7, 40)
    assert by_person[day.clerk_ids[0]].left_at == day.at(12, 0)
    assert [m.person_id for m in early.missing] == [day.clerk_ids[1]]
    assert (late.shift.id, late.entries) == (day.late_id, [])


async def test_it_takes_turnout_and_replaces_a_correction(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    actor = Actor.for_user(coordinator)
    with tenant_scope(tenant.id):
        first = await report_turnout(db, actor, day.station_id, "11:00", 120)
        corrected = await report_turnout(db, actor, day.station_id, "11:00", 112)
        codes = list(
            await db.scalars(
                select(AuditEntry.code)
                .where(AuditEntry.code.like("ops.turnout.%"))
                .order_by(AuditEntry.id)
            )
        )
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.code == "ops.turnout.corrected")
        )
    assert corrected.id == first.id and corrected.voters == 112
    assert codes == ["ops.turnout.reported", "ops.turnout.corrected"]
    assert entry is not None and (entry.data["previous"], entry.data["voters"]) == (120, 112)
    assert await count(db, tenant, TurnoutReport) == 1
    assert await count(db, tenant, Event, Event.type == "turnout.reported") == 4


async def test_it_refuses_a_wrong_slot_or_more_voters_than_the_district_has(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    actor = Actor.for_user(coordinator)
    with tenant_scope(tenant.id):
        district = await db.scalar(select(District).where(District.election_id == day.election_id))
        assert district is not None
        district.eligible_voters = 900
        await db.commit()
        with locale_scope("en"), pytest.raises(FieldErrors) as caught:
            await report_turnout(db, actor, day.station_id, "12:00", 5)
        assert set(caught.value.errors) == {"slot"}
        with locale_scope("en"), pytest.raises(FieldErrors, match="900"):
            await report_turnout(db, actor, day.station_id, "14:00", 901)
        with locale_scope("en"), pytest.raises(FieldErrors):
            await report_turnout(db, actor, day.station_id, "14:00", -1)
    assert await count(db, tenant, TurnoutReport) == 0
