"""The dashboard for many stations: problems first, filters whose every choice says how
many stations it would show (the other filters as chosen), search by a station's name
or its district's number, the alert feed newest first, and a shortage ahead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.models import District, Election, Station
from app.domain.ops import incidents as ops_incidents
from app.domain.ops.dashboard import Dashboard, DashboardFilters, dashboard
from tests.domain.ops.test_checkins import COORDINATOR, OpsDay, _check_in, ops_day
from tests.factories import make_staffed_station


@dataclass(frozen=True)
class Three:
    """Hamnskolan: its whole team came, a low incident open. Biblioteket: nobody
    placed (below minimum). Skogsskolan, in the other district: nobody placed and a
    high-severity incident reported at 08:50."""

    day: OpsDay
    library_id: int
    forest_id: int
    district_id: int
    other_district: District


async def _three(db: AsyncSession, tenant: Tenant) -> Three:
    day = await ops_day(db, tenant)
    for person_id, key in ((day.chair_id, "c"), *((pid, f"k{pid}") for pid in day.clerk_ids)):
        await _check_in(db, tenant, day, person_id, key, now=day.at(7, 20))
    with tenant_scope(tenant.id):
        election = await db.get(Election, day.election_id)
    library = (await make_staffed_station(db, tenant, election, name="Biblioteket"))["station"]
    forest = (await make_staffed_station(db, tenant, election, name="Skogsskolan"))["station"]
    with tenant_scope(tenant.id):
        districts = list(
            await db.scalars(
                select(District)
                .where(District.election_id == day.election_id)
                .order_by(District.id)
            )
        )
        moved = await db.get(Station, forest.id)
        assert moved is not None
        moved.district_id = districts[1].id
        await db.commit()
        await ops_incidents.report_incident(
            db,
            COORDINATOR,
            forest.id,
            category="security",
            severity="high",
            text="Hot.",
            now=day.at(8, 50),
        )
        await ops_incidents.report_incident(
            db,
            COORDINATOR,
            day.station_id,
            category="queue",
            severity="low",
            text="Kö.",
            now=day.at(8, 40),
        )
    return Three(day, library.id, forest.id, districts[0].id, districts[1])


async def _read(db: AsyncSession, tenant: Tenant, three: Three, **filters: Any) -> Dashboard:
    with tenant_scope(tenant.id), locale_scope("en"):
        return await dashboard(
            db, three.day.election_id, DashboardFilters(**filters), now=three.day.at(9, 0)
        )


def _names(board: Dashboard) -> list[str]:
    return [row.station.name for row in board.rows]


async def test_it_shows_the_stations_in_trouble_first(db: AsyncSession, tenant: Tenant) -> None:
    three = await _three(db, tenant)
    board = await _read(db, tenant, three)
    # A danger first, then a warning, then an open incident without alert.
    assert _names(board) == ["Skogsskolan", "Biblioteket", "Hamnskolan"]
    assert [row.alert_level for row in board.rows] == ["danger", "warning", None]
    assert not board.grouped and len(board.page(1, 30)) == 1
    by_district = await _read(db, tenant, three, order="district")
    assert _names(by_district) == ["Biblioteket", "Hamnskolan", "Skogsskolan"]
    assert by_district.grouped and len(by_district.groups) == 2
    # An order it does not know is problems first.
    assert _names(await _read(db, tenant, three, order="nonsense")) == _names(board)


async def test_every_filter_choice_counts_its_stations_with_the_others_applied(
    db: AsyncSession, tenant: Tenant
) -> None:
    three = await _three(db, tenant)
    board = await _read(db, tenant, three)
    alerts = board.facets.alerts
    assert (alerts["all"], alerts["any"], alerts["incident"]) == (3, 2, 2)
    assert (alerts["high_incident"], alerts["understaffed"], alerts["not_open"]) == (1, 2, 0)
    assert board.facets.states == {"all": 3, "not_opened": 3}
    assert board.facets.districts == {three.district_id: 2, three.other_district.id: 1}

    high = await _read(db, tenant, three, alert="high_incident")
    assert _names(high) == ["Skogsskolan"]
    # The alert's own counts stay those of every choice; the others count what it shows.
    assert high.facets.alerts["any"] == 2 and high.facets.alerts["all"] == 3
    assert high.facets.states == {"all": 1, "not_opened": 1}
    assert high.facets.districts == {three.other_district.id: 1}
    # The summary is always the whole election's.
    assert high.summary.stations == 3

    first = await _read(db, tenant, three, district_id=three.district_id)
    assert _names(first) == ["Biblioteket", "Hamnskolan"]
    assert first.facets.alerts["high_incident"] == 0 and first.facets.alerts["incident"] == 1
    # The district's own choices keep counting every district.
    assert first.facets.districts == {three.district_id: 2, three.other_district.id: 1}
    incident = await _read(db, tenant, three, alert="incident", district_id=three.district_id)
    assert _names(incident) == ["Hamnskolan"]
    # The former "only stations with alerts" is the alert filter's "any".
    assert _names(await _read(db, tenant, three, alerts_only=True)) == [
        "Skogsskolan",
        "Biblioteket",
    ]


async def test_it_finds_a_station_by_name_or_its_districts_number(
    db: AsyncSession, tenant: Tenant
) -> None:
    three = await _three(db, tenant)
    assert _names(await _read(db, tenant, three, station_query="  SKOGS ")) == ["Skogsskolan"]
    code = three.other_district.code
    assert _names(await _read(db, tenant, three, station_query=code)) == ["Skogsskolan"]
    both = await _read(db, tenant, three, station_query=f"{code} skogs")
    assert _names(both) == ["Skogsskolan"]
    nothing = await _read(db, tenant, three, station_query="skogs hamn")
    assert nothing.rows == [] and nothing.facets.alerts["all"] == 0
    # The search narrows the feed too (the area a coordinator looks at).
    assert {item.row.station.name for item in nothing.feed} == set()


async def test_its_alert_feed_is_newest_first(db: AsyncSession, tenant: Tenant) -> None:
    three = await _three(db, tenant)
    board = await _read(db, tenant, three, state="open")
    # The state and alert filters leave the feed whole (none of the stations is open).
    assert board.rows == [] and board.feed_total == len(board.feed) == 3
    assert [(item.row.station.name, item.alert.kind) for item in board.feed] == [
        ("Skogsskolan", "high_incident"),  # 08:50
        ("Biblioteket", "understaffed"),  # 07:30, the shift's start (by district, name)
        ("Skogsskolan", "understaffed"),
    ]
    times = [item.alert.since for item in board.feed]
    assert all(t is not None for t in times)
    assert times == sorted(times, reverse=True)  # type: ignore[type-var]
    assert board.feed[0].alert.since == three.day.at(8, 50)
    assert board.feed[0].alert.level == "danger"


async def test_a_shift_to_come_short_of_people_is_an_alert_until_it_starts(
    db: AsyncSession, tenant: Tenant
) -> None:
    three = await _three(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        early = await dashboard(db, three.day.election_id, now=three.day.at(6, 0))
    short = {row.station.name: [a for a in row.alerts if a.kind == "short"] for row in early.rows}
    # Hamnskolan has its chair and two clerks placed: its minimum, so no shortage.
    assert short["Hamnskolan"] == []
    (alert,) = short["Biblioteket"]
    assert alert.message == "Förmiddag at 07:30: 0 placed for a minimum of 3."
    assert alert.since is None and alert.level == "warning"
    # A shortage ahead has no time yet: it comes last in the feed.
    assert early.feed[-1].alert.kind == "short"
    # Once the shift runs, "below minimum" says it.
    board = await _read(db, tenant, three)
    assert all(a.kind != "short" for row in board.rows for a in row.alerts)
