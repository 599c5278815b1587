"""Turnout as the office reads it: each station's counts and share on the dashboard, the
election's totals per reporting time (live counters too), and the export's sheet."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import locale_scope
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import District, Election, Station
from app.domain.ops.counters import LiveCounters
from app.domain.ops.dashboard import live_update
from app.domain.ops.exports import turnout_sheet
from app.domain.ops.turnout import report_turnout
from app.domain.ops.turnout_figures import StationTurnout, station_turnouts, total_turnout
from tests.domain.ops.test_checkins import OpsDay, ops_day
from tests.domain.ops.test_dashboard import _read
from tests.factories import make_staffed_station


async def _eligible(db: AsyncSession, tenant: Tenant, day: OpsDay, voters: int) -> None:
    with tenant_scope(tenant.id):
        district_id = await db.scalar(
            select(Station.district_id).where(Station.id == day.station_id)
        )
        district = await db.scalar(select(District).where(District.id == district_id))
        assert district is not None
        district.eligible_voters = voters
        await db.commit()


async def _advance_station(db: AsyncSession, tenant: Tenant, day: OpsDay) -> int:
    """A second station, for advance voting (no district, so no eligible voters)."""
    with tenant_scope(tenant.id):
        election = await db.scalar(select(Election).where(Election.id == day.election_id))
        assert election is not None
        station = Station(election_id=election.id, kind="advance", name="Stadshuset")
        db.add(station)
        await db.commit()
        return station.id


async def test_it_shows_each_stations_latest_count_share_and_report_time(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    await _eligible(db, tenant, day, 1000)
    advance_id = await _advance_station(db, tenant, day)
    actor = Actor.for_user(coordinator)
    with tenant_scope(tenant.id):
        await report_turnout(db, actor, day.station_id, "11:00", 150)
        await report_turnout(db, actor, day.station_id, "14:00", 420)
        await report_turnout(db, actor, advance_id, "11:00", 80)
    board = await _read(db, tenant, day, day.at(14, 30))
    rows = {row.station.id: row for row in board.rows}
    polling = rows[day.station_id].turnout
    assert polling is not None
    assert (polling.latest_slot, polling.latest, polling.eligible) == ("14:00", 420, 1000)
    assert polling.share() == 0.42 and polling.share("11:00") == 0.15
    assert polling.reported_at is not None and rows[day.station_id].last_change is not None
    advance = rows[advance_id].turnout
    assert advance is not None and advance.share() is None  # no eligible voters of its own
    totals = board.summary.turnout
    by_slot = {slot.slot: slot for slot in totals.slots}
    # 11:00: both reported; the share counts only the station that knows its voters.
    assert (by_slot["11:00"].stations, by_slot["11:00"].voters) == (2, 230)
    assert by_slot["11:00"].share == 0.15
    assert (by_slot["14:00"].stations, by_slot["14:00"].voters) == (1, 420)
    assert (by_slot["17:00"].stations, by_slot["17:00"].share) == (0, None)
    assert totals.stations == 2 and totals.latest is by_slot["14:00"]
    assert totals.reported_at == max(rows[s].turnout.reported_at for s in rows)  # type: ignore[union-attr]


async def test_a_station_sharing_its_district_has_no_share_of_its_own(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    """Two polling stations in one district: the district's voters are not either's."""
    day = await ops_day(db, tenant)
    await _eligible(db, tenant, day, 1000)
    with tenant_scope(tenant.id):
        election = await db.scalar(select(Election).where(Election.id == day.election_id))
    await make_staffed_station(db, tenant, election, name="Biblioteket")
    with tenant_scope(tenant.id):
        await report_turnout(db, Actor.for_user(coordinator), day.station_id, "11:00", 150)
    board = await _read(db, tenant, day, day.at(11, 30))
    (turnout,) = [row.turnout for row in board.rows if row.turnout is not None]
    assert turnout.eligible == 0 and turnout.share() is None
    assert board.summary.turnout.slots[0].voters == 150
    assert board.summary.turnout.slots[0].share is None
    # The same when only this station is read (a live drawing).
    with tenant_scope(tenant.id):
        alone = await station_turnouts(db, day.election_id, frozenset({day.station_id}))
    assert alone[day.station_id].eligible == 0 and alone[day.station_id].counts == {"11:00": 150}


async def test_the_live_counters_follow_a_report_at_a_station_not_counted_again(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    """A live drawing for one station's report carries the election's turnout totals,
    kept by the counters (the other station's share from the whole count before)."""
    day = await ops_day(db, tenant)
    await _eligible(db, tenant, day, 1000)
    advance_id = await _advance_station(db, tenant, day)
    actor = Actor.for_user(coordinator)
    clock = {"now": 0.0}
    counters = LiveCounters(recount_seconds=3600, clock=lambda: clock["now"])
    with tenant_scope(tenant.id):
        await report_turnout(db, actor, advance_id, "11:00", 80)
        with locale_scope("en"):
            first = await live_update(
                db, day.election_id, [advance_id], counters, now=day.at(11, 5)
            )
        assert first.summary.turnout.slots[0].voters == 80
        await report_turnout(db, actor, day.station_id, "11:00", 150)
        clock["now"] = 1.0
        with locale_scope("en"):
            second = await live_update(
                db, day.election_id, [day.station_id], counters, now=day.at(11, 6)
            )
    assert [row.station.id for row in second.rows] == [day.station_id]
    eleven = second.summary.turnout.slots[0]
    assert (eleven.stations, eleven.voters, eleven.share) == (2, 230, 0.15)


def test_totals_sum_every_reporting_time_apart() -> None:
    moment = dt.datetime(2026, 9, 13, 12, tzinfo=dt.UTC)
    totals = total_turnout(
        [
            StationTurnout({"11:00": 100, "14:00": 250}, eligible=500, reported_at=moment),
            StationTurnout({"11:00": 50}, eligible=0),
            None,
        ],
        stations=3,
    )
    assert [(s.slot, s.stations, s.voters) for s in totals.slots] == [
        ("11:00", 2, 150),
        ("14:00", 1, 250),
        ("17:00", 0, 0),
        ("20:00", 0, 0),
    ]
    assert totals.slots[0].share == 0.2 and totals.slots[1].share == 0.5
    assert totals.reported_at == moment and totals.latest is totals.slots[1]


async def test_the_sheet_lists_every_station_with_its_counts_and_the_totals(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    await _eligible(db, tenant, day, 1000)
    advance_id = await _advance_station(db, tenant, day)
    with tenant_scope(tenant.id):
        await report_turnout(db, Actor.for_user(coordinator), day.station_id, "11:00", 150)
        sheet = await turnout_sheet(db, day.election_id)
    polling, advance = sheet.lines  # polling stations first, then advance voting
    assert (polling.station_id, polling.eligible, polling.turnout.counts) == (
        day.station_id,
        1000,
        {"11:00": 150},
    )
    assert polling.reported_at is not None and polling.reported_at.tzinfo == sheet.zone
    assert (advance.station_id, advance.eligible, advance.turnout.counts) == (advance_id, 0, {})
    assert advance.reported_at is None
    assert sheet.totals.slots[0].voters == 150 and sheet.totals.stations == 2
