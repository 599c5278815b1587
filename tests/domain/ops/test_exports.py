"""After the day: the incident log with the stations' state history, and everyone's
check-in times (those who never came too), all in the municipality's local time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment, Election
from app.domain.ops import exports
from app.domain.ops import incidents as ops_incidents
from app.domain.ops.stations import set_station_state
from tests.domain.ops.test_checkins import COORDINATOR, OpsDay, _check_in, ops_day
from tests.factories import make_election

STOCKHOLM = ZoneInfo("Europe/Stockholm")


async def _times(
    db: AsyncSession, tenant: Tenant, day: OpsDay, now: dt.datetime
) -> exports.CheckinTimes:
    with tenant_scope(tenant.id):
        return await exports.checkin_times(db, day.election_id, now=now)


async def worked_day(db: AsyncSession, tenant: Tenant) -> OpsDay:
    """The early shift worked: the chair 07:20-14:05 (her phone two minutes slow on
    arriving), the first clerk 07:25-10:00 and 10:30-14:00, the second clerk never came."""
    day = await ops_day(db, tenant)
    chair, first = day.chair_id, day.clerk_ids[0]
    await _check_in(db, tenant, day, chair, "c1", now=day.at(7, 20), device_time=day.at(7, 18))
    await _check_in(db, tenant, day, chair, "c2", "left", now=day.at(14, 5))
    # Thirty seconds apart: the same minute to a reader, so no phone time is shown.
    await _check_in(
        db, tenant, day, first, "f1", now=day.at(7, 25),
        device_time=day.at(7, 25) + dt.timedelta(seconds=30),
    )  # fmt: skip
    await _check_in(db, tenant, day, first, "f2", "left", now=day.at(10, 0))
    await _check_in(db, tenant, day, first, "f3", now=day.at(10, 30))
    await _check_in(db, tenant, day, first, "f4", "left", now=day.at(14, 0))
    return day


async def test_it_lists_check_in_times_per_person_with_hours_and_the_phones_time(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await worked_day(db, tenant)
    times = await _times(db, tenant, day, day.at(15, 0))
    assert times.zone == STOCKHOLM and times.election.id == day.election_id
    # The chair's role first, then the clerks by name; the late shift has nobody placed.
    chair, first, second = times.lines
    assert (chair.person_id, chair.role, chair.shift) == (day.chair_id, "Ordförande", "Förmiddag")
    assert (chair.arrived_at, chair.left_at) == (day.at(7, 20), day.at(14, 5))
    assert chair.arrived_at is not None and chair.arrived_at.tzinfo == STOCKHOLM
    assert (chair.hours, chair.status) == (Decimal("6.75"), "left")
    assert (chair.arrived_device, chair.left_device) == (day.at(7, 18), None)
    assert chair.station == "Hamnskolan" and chair.district == "D1 Distrikt 1"
    # The break between 10:00 and 10:30 is not counted: 2:35 + 3:30 = 6:05.
    assert (first.arrived_at, first.left_at) == (day.at(7, 25), day.at(14, 0))
    assert (first.hours, first.status, first.arrived_device) == (Decimal("6.08"), "left", None)
    # Never came: still a line, for pay and for the authority.
    assert second.person_id == day.clerk_ids[1] and second.role == "Röstmottagare"
    assert (second.arrived_at, second.left_at, second.hours) == (None, None, None)
    assert second.status == "not_arrived"


async def test_it_tells_still_there_from_never_checked_out(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    await _check_in(db, tenant, day, day.chair_id, "c1", now=day.at(7, 20))
    during = await _times(db, tenant, day, day.at(12, 0))
    assert (during.lines[0].status, during.lines[0].hours) == ("present", None)
    after = await _times(db, tenant, day, day.at(16, 0))
    assert (after.lines[0].status, after.lines[0].hours) == ("not_left", None)


async def test_it_leaves_out_shifts_that_have_not_begun(db: AsyncSession, tenant: Tenant) -> None:
    day = await ops_day(db, tenant)
    assert (await _times(db, tenant, day, day.at(7, 0))).lines == []
    begun = await _times(db, tenant, day, day.at(7, 30))
    assert [line.status for line in begun.lines] == ["not_arrived"] * 3


async def test_it_keeps_the_hours_of_a_place_given_up_after_checking_in(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    await _check_in(db, tenant, day, day.clerk_ids[0], "a1", now=day.at(7, 30))
    await _check_in(db, tenant, day, day.clerk_ids[0], "a2", "left", now=day.at(9, 0))
    with tenant_scope(tenant.id):
        await db.execute(
            update(Assignment)
            .where(Assignment.person_id == day.clerk_ids[0])
            .values(state="withdrawn")
        )
        await db.commit()
    times = await _times(db, tenant, day, day.at(15, 0))
    gone = [line for line in times.lines if line.person_id == day.clerk_ids[0]]
    assert [(g.role, g.hours, g.status) for g in gone] == [
        ("Röstmottagare", Decimal("1.50"), "left")
    ]


async def test_it_gives_times_in_the_municipalitys_own_zone(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await worked_day(db, tenant)
    with tenant_scope(tenant.id):
        tenant_row = await db.get(Tenant, tenant.id)
        assert tenant_row is not None
        tenant_row.timezone = "Europe/Helsinki"
        await db.commit()
    times = await _times(db, tenant, day, day.at(15, 0))
    chair = times.lines[0]
    assert chair.arrived_at is not None and chair.arrived_at.tzinfo == ZoneInfo("Europe/Helsinki")
    # The same moment, an hour later on Helsinki's clocks.
    assert chair.arrived_at == day.at(7, 20)
    assert (chair.arrived_at.hour, chair.arrived_at.minute) == (8, 20)


async def test_it_logs_each_incident_with_its_handling_notes_and_the_station_states(
    db: AsyncSession, tenant: Tenant, coordinator: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = await worked_day(db, tenant)
    actor = Actor.for_user(coordinator)
    clock = {"now": day.at(8, 0)}
    monkeypatch.setattr(ops_incidents, "utcnow", lambda: clock["now"].astimezone(dt.UTC))
    with tenant_scope(tenant.id):
        await set_station_state(
            db, COORDINATOR, day.station_id, "open", "Två saknades, vi öppnade ändå.",
            now=day.at(7, 45),
        )  # fmt: skip
        queue = await ops_incidents.report_incident(
            db, COORDINATOR, day.station_id, category="queue", severity="high",
            text="Lång kö vid entrén.", now=day.at(9, 10),
        )  # fmt: skip
        clock["now"] = day.at(9, 12)
        await ops_incidents.acknowledge(db, actor, queue.id, expected_version=1)
        clock["now"] = day.at(9, 15)
        await ops_incidents.assign(db, actor, queue.id, user_id=coordinator.id, expected_version=2)
        clock["now"] = day.at(9, 20)
        await ops_incidents.add_note(db, actor, queue.id, "Skickade en reserv.")
        clock["now"] = day.at(9, 50)
        await ops_incidents.resolve(db, actor, queue.id, expected_version=3, note="Kön är borta.")
        await ops_incidents.report_incident(
            db, actor, day.station_id, category="material", severity="low",
            text="Slut på kuvert.", now=day.at(8, 30),
        )  # fmt: skip
        await set_station_state(db, COORDINATOR, day.station_id, "closed", now=day.at(20, 0))
        log = await exports.incident_log(db, day.election_id)
    assert log.zone == STOCKHOLM
    envelopes, handled = log.incidents  # in the order reported
    assert (envelopes.category, envelopes.state, envelopes.reported_by) == (
        "material",
        "open",
        coordinator.name,
    )
    assert envelopes.acknowledged_at is None and envelopes.notes == []
    assert handled.reported_at == day.at(9, 10) and handled.reported_at.tzinfo == STOCKHOLM
    assert handled.reported_by == "coordinator@lund.test"  # no account: the label
    assert (handled.station, handled.district) == ("Hamnskolan", "D1 Distrikt 1")
    assert (handled.acknowledged_at, handled.acknowledged_by) == (day.at(9, 12), coordinator.name)
    assert (handled.assigned_at, handled.assigned_by, handled.assigned_to) == (
        day.at(9, 15),
        coordinator.name,
        coordinator.name,
    )
    assert (handled.resolved_at, handled.resolved_by, handled.state) == (
        day.at(9, 50),
        coordinator.name,
        "resolved",
    )
    assert [(n.written_at, n.author, n.text) for n in handled.notes] == [
        (day.at(9, 20), coordinator.name, "Skickade en reserv."),
        (day.at(9, 50), coordinator.name, "Kön är borta."),
    ]
    assert [
        (c.from_state, c.to_state, c.changed_at, c.override_reason) for c in log.station_history
    ] == [
        ("not_opened", "open", day.at(7, 45), "Två saknades, vi öppnade ändå."),
        ("open", "closed", day.at(20, 0), ""),
    ]
    assert log.station_history[0].changed_by == "coordinator@lund.test"


async def test_it_finds_no_other_municipalitys_election(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    day = await worked_day(db, tenant)
    await make_election(db, other_tenant)
    with tenant_scope(other_tenant.id):
        with pytest.raises(NotFound):
            await exports.incident_log(db, day.election_id)
        with pytest.raises(NotFound):
            await exports.checkin_times(db, day.election_id)
        # Nothing of the other municipality leaks into its own (empty) election either.
        own = await db.scalar(select(Election.id))
        assert own is not None
        assert (await exports.checkin_times(db, own)).lines == []
        assert (await exports.incident_log(db, own)).incidents == []
