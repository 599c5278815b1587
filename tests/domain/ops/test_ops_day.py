"""The operations day: the evening before an election day whose first shift starts at
midnight, check-in is open from 22:00, and the dashboard and a station's team must be
about tomorrow's shifts by then (and not before, nor while a shift of today runs)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.elections.shifts import save_shift
from app.domain.elections.stations import save_station
from app.domain.models import Shift
from app.domain.ops.dashboard import dashboard
from app.domain.ops.day import ops_day as the_ops_day
from app.domain.ops.stations import station_roster
from tests.domain.ops.test_checkins import OpsDay, _check_in, ops_day


async def _day(db: AsyncSession, tenant: Tenant, day: OpsDay, now: dt.datetime) -> dt.date:
    with tenant_scope(tenant.id):
        by_election = await the_ops_day(db, now, election_id=day.election_id)
        by_station = await the_ops_day(db, now, station_ids=[day.station_id])
    assert by_election == by_station
    return by_election


async def _from_midnight(db: AsyncSession, tenant: Tenant, day: OpsDay) -> None:
    """The early shift starts at midnight (as the demo's, made after 22:00)."""
    with tenant_scope(tenant.id):
        await db.execute(
            update(Shift).where(Shift.id == day.early_id).values(starts_at=dt.time(0, 0))
        )
        await db.commit()


async def test_a_shift_at_midnight_makes_tomorrow_the_day_once_its_check_in_opens(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    eve = day.day - dt.timedelta(days=1)
    # With the first shift at 07:30 (check-in from 05:30), the evening before is the eve.
    assert await _day(db, tenant, day, day.at(23, 30, days=-1)) == eve
    await _from_midnight(db, tenant, day)
    assert await _day(db, tenant, day, day.at(21, 59, days=-1)) == eve
    assert await _day(db, tenant, day, day.at(22, 0, days=-1)) == day.day
    assert await _day(db, tenant, day, day.at(23, 30, days=-1)) == day.day
    # On the day itself, it is the day (tomorrow has no shift).
    assert await _day(db, tenant, day, day.at(0, 30)) == day.day


async def test_a_shift_of_today_still_running_keeps_today(db: AsyncSession, tenant: Tenant) -> None:
    """An advance-voting station open until 23:00 on the eve keeps the election's day
    the eve until it closes; the polling station alone is about tomorrow already."""
    day = await ops_day(db, tenant)
    await _from_midnight(db, tenant, day)
    eve = day.day - dt.timedelta(days=1)
    actor = Actor.system("test")
    with tenant_scope(tenant.id):
        advance = await save_station(
            db, actor, day.election_id, {"name": "Stadshuset", "kind": "advance"}
        )
        await save_shift(
            db, actor, day.election_id, advance.id,
            {"name": "Kväll", "day": eve.isoformat(), "starts_at": "18:00", "ends_at": "23:00"},
        )  # fmt: skip
        await db.commit()
        at_half_past = day.at(22, 30, days=-1)
        assert await the_ops_day(db, at_half_past, election_id=day.election_id) == eve
        assert await the_ops_day(db, at_half_past, station_ids=[day.station_id]) == day.day
        assert await the_ops_day(db, at_half_past, station_ids=[advance.id]) == eve
    assert await _day(db, tenant, day, day.at(23, 0, days=-1)) == day.day


async def test_the_board_and_the_roster_show_who_checked_in_for_tomorrow_at_midnight(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    await _from_midnight(db, tenant, day)
    late_evening = day.at(23, 10, days=-1)
    await _check_in(db, tenant, day, day.chair_id, "c", now=day.at(23, 5, days=-1))
    with tenant_scope(tenant.id), locale_scope("en"):
        board = await dashboard(db, day.election_id, now=late_evening)
        roster = await station_roster(db, day.station_id, board.today)
    assert board.today == day.day
    (row,) = board.rows
    assert [s.shift.id for s in row.shifts] == [day.early_id]
    assert (row.present, board.summary.present) == (1, 1)
    assert {entry.shift.id for entry in roster} == {day.early_id, day.late_id}
