"""The coordinators' dashboard read model: counts per role, counters, alerts, filters,
and the coordinators' reassignment (with a race for the last place)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import Event, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment, Reserve, StationOpening
from app.domain.ops import OpsConflict, OpsForbidden
from app.domain.ops import incidents as ops_incidents
from app.domain.ops.counters import CountingPlan, LiveCounters
from app.domain.ops.dashboard import Dashboard, DashboardFilters, dashboard, live_update
from app.domain.ops.reassign import reassign, reassign_candidates
from app.domain.ops.stations import set_station_state
from tests.domain.ops.test_checkins import COORDINATOR, OpsDay, _check_in, ops_day
from tests.factories import make_clerk, make_staffed_station


async def _read(
    db: AsyncSession, tenant: Tenant, day: OpsDay, now: dt.datetime, **filters: Any
) -> Dashboard:
    with tenant_scope(tenant.id), locale_scope("en"):
        return await dashboard(db, day.election_id, DashboardFilters(**filters), now=now)


async def _opening(db: AsyncSession, tenant: Tenant, day: OpsDay, opens: dt.time) -> None:
    with tenant_scope(tenant.id):
        db.add(
            StationOpening(
                station_id=day.station_id, day=day.day, opens_at=opens, closes_at=dt.time(20)
            )
        )
        await db.commit()


async def _second_station(db: AsyncSession, tenant: Tenant, day: OpsDay) -> int:
    from app.domain.models import Election

    with tenant_scope(tenant.id):
        election = await db.scalar(select(Election).where(Election.id == day.election_id))
    other = await make_staffed_station(db, tenant, election, name="Biblioteket")
    return int(other["station"].id)


async def test_it_counts_who_is_checked_in_per_role_on_the_running_shift(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    await _check_in(db, tenant, day, day.chair_id, "c", now=day.at(7, 20))
    await _check_in(db, tenant, day, day.clerk_ids[0], "a1", now=day.at(7, 25))
    await _check_in(db, tenant, day, day.clerk_ids[1], "b1", now=day.at(7, 26))
    await _check_in(db, tenant, day, day.clerk_ids[1], "b2", "left", now=day.at(7, 35))
    board = await _read(db, tenant, day, day.at(8, 0))
    (row,) = board.rows
    assert [s.shift.id for s in row.shifts] == [day.early_id]
    counts = {
        role.code: (role.present, role.minimum, role.target, role.holding) for role in row.roles
    }
    assert counts == {"chair": (1, 1, 1, 1), "clerk": (1, 2, 3, 2)}
    assert [role.status for role in row.roles] == ["full", "missing"]
    assert (row.present, row.expected, row.state) == (2, 3, "not_opened")
    assert board.summary.present == 2 and board.summary.expected == 3
    assert board.summary.by_state == {"open": 0, "not_opened": 1, "paused": 0, "closed": 0}
    assert row.last_change == day.at(7, 35)
    # Before the first shift the numbers are about the next one; at 14:30 the late one's.
    early = (await _read(db, tenant, day, day.at(5, 0))).rows[0]
    assert [s.shift.id for s in early.shifts] == [day.early_id] and early.alerts == []
    late = (await _read(db, tenant, day, day.at(14, 30))).rows[0]
    assert [s.shift.id for s in late.shifts] == [day.late_id]
    assert {r.code: (r.present, r.minimum) for r in late.roles} == {
        "vice_chair": (0, 0),
        "clerk": (0, 1),
    }


async def test_it_raises_alerts_and_clears_them_when_things_are_put_right(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    await _opening(db, tenant, day, dt.time(8, 0))
    await _check_in(db, tenant, day, day.chair_id, "c", now=day.at(7, 20))
    await _check_in(db, tenant, day, day.clerk_ids[0], "a", now=day.at(7, 25))
    before = (await _read(db, tenant, day, day.at(7, 45))).rows[0]
    # 07:45: short-handed, but nobody is late yet and opening time has not come.
    assert [a.kind for a in before.alerts] == ["understaffed"]
    after = (await _read(db, tenant, day, day.at(8, 5))).rows[0]
    assert [a.kind for a in after.alerts] == ["not_open", "understaffed", "not_arrived"]
    assert "08:00" in after.alerts[0].message
    assert "2 of at least 3" in after.alerts[1].message
    with tenant_scope(tenant.id):
        incident = await ops_incidents.report_incident(
            db, COORDINATOR, day.station_id, category="security", severity="high", text="Hot."
        )
    await _check_in(db, tenant, day, day.clerk_ids[1], "b", now=day.at(8, 6))
    with tenant_scope(tenant.id):
        await set_station_state(db, COORDINATOR, day.station_id, "open", now=day.at(8, 7))
    board = await _read(db, tenant, day, day.at(8, 10))
    row = board.rows[0]
    assert [a.kind for a in row.alerts] == ["high_incident"]
    assert (row.state, row.top_severity, len(row.open_incidents)) == ("open", "high", 1)
    assert board.summary.incidents == {"low": 0, "medium": 0, "high": 1}
    assert board.summary.by_state["open"] == 1 and board.summary.with_alerts == 1
    with tenant_scope(tenant.id):
        await ops_incidents.resolve(db, COORDINATOR, incident.id, expected_version=1)
    assert (await _read(db, tenant, day, day.at(8, 11))).rows[0].alerts == []


async def test_it_filters_by_district_state_and_alerts_but_counts_the_whole_election(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    other_id = await _second_station(db, tenant, day)
    now = day.at(9, 0)
    board = await _read(db, tenant, day, now, order="district")
    assert [row.station.name for row in board.rows] == ["Biblioteket", "Hamnskolan"]
    assert len(board.groups) == 1 and board.groups[0].district is not None
    # Hamnskolan's team is placed but nobody came; Biblioteket has no team at all.
    alerted = await _read(db, tenant, day, now, alerts_only=True)
    assert {row.station.id for row in alerted.rows} == {day.station_id, other_id}
    district_id = board.rows[0].station.district_id
    assert district_id is not None
    assert len((await _read(db, tenant, day, now, district_id=district_id)).rows) == 2
    assert (await _read(db, tenant, day, now, district_id=district_id + 999)).rows == []
    only_open = await _read(db, tenant, day, now, state="open")
    assert only_open.rows == [] and only_open.summary.stations == 2
    one = await _read(db, tenant, day, now, station_ids=frozenset({other_id}))
    assert [row.station.id for row in one.rows] == [other_id]


class _Clock:
    def __init__(self) -> None:
        self.seconds = 1000.0

    def __call__(self) -> float:
        return self.seconds


async def _live(
    db: AsyncSession, tenant: Tenant, day: OpsDay, station_id: int, counters: LiveCounters
) -> Dashboard:
    with tenant_scope(tenant.id), locale_scope("en"):
        return await live_update(db, day.election_id, [station_id], counters, now=day.at(8, 10))


async def test_its_live_counters_follow_each_station_and_match_a_full_count(
    db: AsyncSession, tenant: Tenant
) -> None:
    """A live fragment counts the whole election once, then only the changed station:
    after every change its counters equal a full count, and its row is that station's."""
    day = await ops_day(db, tenant)
    other_id = await _second_station(db, tenant, day)
    counters = LiveCounters(clock=_Clock())

    async def same_as_a_full_count(station_id: int) -> None:
        live = await _live(db, tenant, day, station_id, counters)
        assert [row.station.id for row in live.rows] == [station_id]
        full = await _read(db, tenant, day, day.at(8, 10))
        assert live.summary == full.summary
        assert live.rows[0] == next(r for r in full.rows if r.station.id == station_id)

    await same_as_a_full_count(day.station_id)  # counted whole
    await _check_in(db, tenant, day, day.chair_id, "c", now=day.at(7, 20))
    await same_as_a_full_count(day.station_id)
    with tenant_scope(tenant.id):
        await set_station_state(db, COORDINATOR, day.station_id, "open", "Ok.", now=day.at(8, 5))
    await same_as_a_full_count(day.station_id)
    with tenant_scope(tenant.id):
        await ops_incidents.report_incident(
            db, COORDINATOR, other_id, category="queue", severity="high", text="Kö."
        )
    await same_as_a_full_count(other_id)
    assert (await _live(db, tenant, day, other_id, counters)).summary.incidents["high"] == 1


async def test_its_live_counters_catch_up_on_an_unrendered_change_within_the_recount(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    other_id = await _second_station(db, tenant, day)
    clock = _Clock()
    counters = LiveCounters(recount_seconds=10, clock=clock)
    first = await _live(db, tenant, day, day.station_id, counters)
    assert first.summary.present == 0
    # A check-in at the other station whose event this process never rendered.
    await _check_in(db, tenant, day, day.chair_id, "c", now=day.at(7, 20))
    clock.seconds += 2  # 2 stations in 10 s: not one due yet
    kept = await _live(db, tenant, day, other_id, counters)
    assert kept.summary.present == 0  # the kept counters, not a recount
    clock.seconds += 9  # both stations due by now
    recounted = await _live(db, tenant, day, other_id, counters)
    assert recounted.summary.present == 1
    assert recounted.summary == (await _read(db, tenant, day, day.at(8, 10))).summary


def test_live_counters_count_stations_again_at_their_pace_and_a_few_at_a_time() -> None:
    """Five stations in 10 s: one falls due every 2 s, in turn. After a quiet spell all
    are due, and they are counted again at most two a drawing. A new round starts by
    reading the list of stations again; a new day counts the whole election."""
    clock = _Clock()
    counters = LiveCounters(recount_seconds=10, clock=clock, max_recounted=2)
    key, day = (1, 1), dt.date(2026, 9, 13)
    assert counters.plan(key, day).whole
    counters.keep(key, day, dict.fromkeys([11, 12, 13, 14, 15], cast(Any, None)))
    clock.seconds += 1
    assert counters.plan(key, day) == CountingPlan(whole=False)
    clock.seconds += 1
    assert counters.plan(key, day).again == {11}
    clock.seconds += 100
    assert counters.plan(key, day).again == {12, 13}
    assert counters.plan(key, day).again == {14, 15}
    assert counters.plan(key, day) == CountingPlan(whole=False, again=frozenset({11}), relist=True)
    assert counters.plan(key, day).again == frozenset()  # the five are paid off
    assert counters.plan(key, day + dt.timedelta(days=1)).whole


async def test_it_reads_in_a_fixed_handful_of_queries(db: AsyncSession, tenant: Tenant) -> None:
    from sqlalchemy import event

    day = await ops_day(db, tenant)
    await _second_station(db, tenant, day)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = db.bind.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", count)
    try:
        await _read(db, tenant, day, day.at(9, 0))
        few = len(statements)
        for index in range(3):
            await make_staffed_station(db, tenant, await _election(db, tenant, day), f"S{index}")
        statements.clear()
        await _read(db, tenant, day, day.at(9, 0))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # As many with three stations more; one statement per kind of fact (the stations'
    # open shortages and the people sent on the day among them).
    assert len(statements) == few <= 15


async def _election(db: AsyncSession, tenant: Tenant, day: OpsDay) -> Any:
    from app.domain.models import Election

    with tenant_scope(tenant.id):
        return await db.scalar(select(Election).where(Election.id == day.election_id))


async def test_it_gives_another_municipalitys_election_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    with tenant_scope(other_tenant.id), pytest.raises(NotFound):
        await dashboard(db, day.election_id, now=day.at(9, 0))


# --- reassignment ---------------------------------------------------------------------


async def _reserve(db: AsyncSession, tenant: Tenant, day: OpsDay) -> int:
    person = await make_clerk(db, tenant, await _election(db, tenant, day))
    with tenant_scope(tenant.id):
        db.add(Reserve(election_id=day.election_id, person_id=person.id))
        await db.commit()
    return int(person.id)


async def test_it_sends_a_reserve_to_the_station_as_an_accepted_place(
    db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    day = await ops_day(db, tenant)
    reserve_id = await _reserve(db, tenant, day)
    with tenant_scope(tenant.id):
        candidates = await reassign_candidates(db, day.station_id, day.day)
        assert [(c.person_id, c.kind) for c in candidates] == [(reserve_id, "reserve")]
        clerk_role = await _role_id(db, "clerk")
        placed = await reassign(
            db,
            Actor.for_user(coordinator),
            shift_id=day.early_id,
            role_type_id=clerk_role,
            person_id=reserve_id,
        )
        assert placed.state == "accepted"
        events = list(await db.scalars(select(Event.type).where(Event.type.like("staffing.%"))))
        # Placed now, the reserve is no longer free that day.
        assert await reassign_candidates(db, day.station_id, day.day) == []
    assert events == ["staffing.reassigned"] * 2


async def test_it_moves_a_clerk_from_another_station_of_the_district(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    other_id = await _second_station(db, tenant, day)
    with tenant_scope(tenant.id):
        candidates = await reassign_candidates(db, other_id, day.day)
        moving = next(c for c in candidates if c.person_id == day.clerk_ids[0])
        assert moving.kind == "clerk" and "Hamnskolan" in moving.where
        from app.domain.models import Shift

        target_shift = await db.scalar(
            select(Shift.id).where(Shift.station_id == other_id, Shift.name == "Förmiddag")
        )
        assert target_shift is not None
        placed = await reassign(
            db,
            COORDINATOR,
            shift_id=target_shift,
            role_type_id=await _role_id(db, "clerk"),
            person_id=day.clerk_ids[0],
            move_assignment_id=moving.assignment_id,
        )
        old = await db.scalar(select(Assignment).where(Assignment.id == moving.assignment_id))
        assert old is not None
        assert (placed.station_id, old.state) == (other_id, "withdrawn")
        payloads = list(
            await db.scalars(select(Event.payload).where(Event.type == "staffing.reassigned"))
        )
    assert {p["station_id"] for p in payloads} == {other_id, day.station_id}


async def test_it_refuses_reassignment_by_a_planner(
    db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    day = await ops_day(db, tenant)
    reserve_id = await _reserve(db, tenant, day)
    with tenant_scope(tenant.id), locale_scope("en"), pytest.raises(OpsForbidden):
        await reassign(
            db,
            Actor.for_user(planner),
            shift_id=day.early_id,
            role_type_id=await _role_id(db, "clerk"),
            person_id=reserve_id,
        )


async def _role_id(db: AsyncSession, code: str) -> int:
    from app.domain.models import RoleType

    role_id = await db.scalar(select(RoleType.id).where(RoleType.code == code))
    assert role_id is not None
    return int(role_id)


async def test_it_gives_the_last_place_to_one_of_two_coordinators_at_once(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)  # the early shift has 2 of 3 clerks: one place left
    people = [await _reserve(db, tenant, day), await _reserve(db, tenant, day)]
    with tenant_scope(tenant.id):
        clerk_role = await _role_id(db, "clerk")
    start = asyncio.Event()

    async def attempt(person_id: int) -> Any:
        with tenant_scope(tenant.id), locale_scope("en"):
            async with session_factory() as session:
                await start.wait()
                try:
                    return await reassign(
                        session,
                        COORDINATOR,
                        shift_id=day.early_id,
                        role_type_id=clerk_role,
                        person_id=person_id,
                    )
                except OpsConflict as error:
                    return error

    tasks = [asyncio.create_task(attempt(person_id)) for person_id in people]
    await asyncio.sleep(0.05)
    start.set()
    results = await asyncio.gather(*tasks)
    assert sorted(type(r).__name__ for r in results) == ["Assignment", "OpsConflict"]
    conflict = next(r for r in results if isinstance(r, OpsConflict))
    assert conflict.status == 409 and "filled meanwhile" in conflict.message
    with tenant_scope(tenant.id):
        held = await db.scalar(
            select(func.count(Assignment.id)).where(
                Assignment.shift_id == day.early_id,
                Assignment.role_type_id == clerk_role,
                Assignment.state == "accepted",
            )
        )
    assert held == 3
