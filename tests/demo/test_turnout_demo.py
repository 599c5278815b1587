"""Demo turnout: an election already held has every reporting time; on a demo election
day, the reporting times already past are filled in once, as chairs would send them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.demo.turnout import fill_todays_turnout, fill_turnout, slots_passed
from app.domain.models import District, Election, Station, TurnoutReport
from tests.factories import make_open_election, make_staffed_station

ZONE = ZoneInfo("Europe/Stockholm")


async def _reports(db: AsyncSession, tenant: Tenant, election_id: int) -> list[TurnoutReport]:
    with tenant_scope(tenant.id):
        return list(
            await db.scalars(
                select(TurnoutReport)
                .where(TurnoutReport.election_id == election_id)
                .order_by(TurnoutReport.station_id, TurnoutReport.slot)
            )
        )


def test_the_times_past_are_those_on_or_before_the_clock() -> None:
    assert slots_passed(dt.time(10, 59)) == ()
    assert slots_passed(dt.time(11, 0)) == ("11:00",)
    assert slots_passed(dt.time(17, 30)) == ("11:00", "14:00", "17:00")


async def test_a_held_election_gets_every_reporting_time_within_its_voters(
    db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    election = s["election"]
    with tenant_scope(tenant.id):
        district = await db.scalar(select(District).where(District.id == s["district"].id))
        assert district is not None
        district.eligible_voters = 1500
        db.add(Station(election_id=election.id, kind="advance", name="Stadshuset"))
        await db.commit()
        # As if it were held: the day after it.
        after = dt.datetime.combine(election.election_day + dt.timedelta(days=1), dt.time(), ZONE)
        await fill_turnout(db, tenant.id, election.id, election.election_day, ZONE, now=after)
        await db.commit()
    reports = await _reports(db, tenant, election.id)
    by_station: dict[int, list[TurnoutReport]] = {}
    for report in reports:
        by_station.setdefault(report.station_id, []).append(report)
    assert len(by_station) == 2
    for station_reports in by_station.values():
        counts = [r.voters for r in station_reports]
        assert counts == sorted(counts) and len(counts) >= 3  # a late one may lack 20:00
        assert all(0 < count <= 1500 for count in counts)
        for report in station_reports:
            sent = report.updated_at.astimezone(ZONE)
            slot = dt.datetime.combine(
                election.election_day, dt.time.fromisoformat(report.slot), ZONE
            )
            assert slot < sent < slot + dt.timedelta(minutes=15)


async def test_on_the_day_it_fills_the_times_past_once(db: AsyncSession, tenant: Tenant) -> None:
    election = await make_open_election(db, tenant)
    await make_staffed_station(db, tenant, election)
    with tenant_scope(tenant.id):
        found = await db.scalar(select(Election).where(Election.id == election.id))
        assert found is not None
        at_half_past_two = dt.datetime.combine(found.election_day, dt.time(14, 30), ZONE)
        assert await fill_todays_turnout(db, tenant, found, at_half_past_two) == (
            "11:00",
            "14:00",
        )
        await db.commit()
        # Run again later that day: the reports made (and those a newcomer sent) stay.
        evening = at_half_past_two + dt.timedelta(hours=4)
        assert await fill_todays_turnout(db, tenant, found, evening) == ()
        # Another day than the election's: nothing.
        assert await fill_todays_turnout(db, tenant, found, evening + dt.timedelta(days=1)) == ()
    reports = await _reports(db, tenant, election.id)
    assert {r.slot for r in reports} <= {"11:00", "14:00"} and reports
    assert all(r.updated_at <= at_half_past_two for r in reports)
