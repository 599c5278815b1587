"""The legal minimum at a station counts only the roles that count toward it: a host
(``counts_toward_minimum`` false) neither raises a station's minimum nor fills it, on
the board, the home page's figures, the station list, the statistics, the optimiser's
open places, the dashboard's counts and alerts, the opening check and the team list."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.attention import staffing_figures
from app.domain.autostaff.loading import load_problem
from app.domain.elections.norms import set_norms
from app.domain.elections.stations import station_page
from app.domain.models import Assignment, Election, RoleType, StaffingNorm
from app.domain.ops.dashboard import DashboardFilters, dashboard
from app.domain.ops.stations import opening_check, station_roster
from app.domain.staffing import assignments
from app.domain.staffing.board import BoardFilters, staffing_board
from app.domain.staffing.overview import OverviewFilters, district_summaries, staffing_overview
from app.domain.statistics.history import filled_history
from tests.domain.ops.test_checkins import OpsDay, _check_in, ops_day
from tests.factories import make_clerk

SYSTEM = Actor.system("test")


async def _with_hosts(db: AsyncSession, tenant: Tenant) -> tuple[OpsDay, int]:
    """The ops day's station (early: a chair 1/1 and clerks 2/3; late: a vice chair 0/1
    and clerks 1/2) with a host wanted on both shifts at a norm of 1/1, one chair and
    one clerk on the early shift and a host on it too: every place accepted. Returns
    the day and the host's person id."""
    day = await ops_day(db, tenant, clerks=1)
    host = await make_clerk(db, tenant, await _election(db, tenant, day))
    with tenant_scope(tenant.id):
        await set_norms(
            db, SYSTEM, day.election_id, day.station_id, day.early_id,
            {"min_chair": "1", "target_chair": "1", "min_clerk": "2", "target_clerk": "3",
             "target_host": "1"},
        )  # fmt: skip
        await set_norms(
            db, SYSTEM, day.election_id, day.station_id, day.late_id,
            {"min_vice_chair": "0", "target_vice_chair": "1", "min_clerk": "1",
             "target_clerk": "2", "target_host": "1"},
        )  # fmt: skip
        role = await db.scalar(select(RoleType).where(RoleType.code == "host"))
        assert role is not None and role.counts_toward_minimum is False
        # A host's minimum of 1, as saved before the norm editor refused one: still
        # never counted.
        await db.execute(
            update(StaffingNorm).where(StaffingNorm.role_type_id == role.id).values(minimum=1)
        )
        placed = await assignments.assign_person(db, SYSTEM, day.early_id, role.id, host.id)
        placed.state = "accepted"
        await db.commit()
    return day, host.id


async def _election(db: AsyncSession, tenant: Tenant, day: OpsDay) -> Election:
    with tenant_scope(tenant.id):
        election = await db.scalar(select(Election).where(Election.id == day.election_id))
    assert election is not None
    return election


async def test_the_board_and_its_figures_count_no_host_toward_the_minimum(
    db: AsyncSession, tenant: Tenant
) -> None:
    day, _host = await _with_hosts(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        board = await staffing_board(db, day.election_id, BoardFilters())
        (row,) = board.stations
        cells = {
            (shift_row.shift.id, cell.role_code): (cell.minimum, cell.filled, cell.status)
            for shift_row in row.shifts
            for cell in shift_row.cells
        }
        # The early clerks are one short of their minimum; the host's places only
        # have a target: filled early, open ("below", not "missing") late.
        assert cells[(day.early_id, "host")] == (0, 1, "full")
        assert cells[(day.late_id, "host")] == (0, 0, "below")
        assert cells[(day.early_id, "clerk")] == (2, 1, "missing")
        (summary,) = [s for s in await district_summaries(db, day.election_id) if s.stations]
        # One clerk early, one late: a host's norm of 1 would make it three.
        assert summary.missing_minimum == 2
        overview = await staffing_overview(db, day.election_id, OverviewFilters())
        assert [line.tally.below_minimum for line in overview.stations] == [2]
        figures = await staffing_figures(db, day.election_id)
        assert figures.places_below_minimum == 2
        assert figures.stations_below_minimum == 1
        # The station list's "minimum / target": chair 1 + clerks 2 + clerk 1 late.
        (listed,) = (await station_page(db, day.election_id)).rows
        assert (listed.minimum, listed.target) == (4, 9)
        election = await db.scalar(select(Election).where(Election.id == day.election_id))
        assert election is not None
        history = await filled_history(
            db, election, today=election.election_day - dt.timedelta(days=30)
        )
        assert (history.minimum, history.target) == (4, 9)


async def test_the_optimiser_fills_a_host_place_only_toward_its_target(
    db: AsyncSession, tenant: Tenant
) -> None:
    day, _host = await _with_hosts(db, tenant)
    with tenant_scope(tenant.id):
        roles = {r.code: r.id for r in await db.scalars(select(RoleType))}
        problem = await load_problem(db, day.election_id)
    below = {(p.shift_id, p.role_type_id): (p.open, p.below_minimum) for p in problem.places}
    assert below[(day.late_id, roles["host"])] == (1, 0)
    assert below[(day.late_id, roles["clerk"])] == (2, 1)
    assert below[(day.early_id, roles["clerk"])] == (2, 1)


async def test_a_host_checked_in_does_not_make_up_the_minimum_on_election_day(
    db: AsyncSession, tenant: Tenant
) -> None:
    day, host = await _with_hosts(db, tenant)
    # Before the shift: two of the three placed count toward a minimum of three.
    with tenant_scope(tenant.id), locale_scope("en"):
        board = await dashboard(db, day.election_id, DashboardFilters(), now=day.at(5, 0))
    (row,) = board.rows
    assert [a.message for a in row.alerts if a.kind == "short"] == [
        "Förmiddag at 07:30: 2 placed for a minimum of 3."
    ]
    for person_id, key in [(day.chair_id, "c"), (day.clerk_ids[0], "k"), (host, "h")]:
        await _check_in(db, tenant, day, person_id, key, now=day.at(7, 20))
    now = day.at(8, 0)
    with tenant_scope(tenant.id), locale_scope("en"):
        board = await dashboard(db, day.election_id, DashboardFilters(), now=now)
        check = await opening_check(db, day.station_id, now)
        rosters = await station_roster(db, day.station_id, day.day)
    (row,) = board.rows
    assert [a.message for a in row.alerts if a.kind == "understaffed"] == [
        "Förmiddag: 2 of at least 3 checked in."
    ]
    counts = {role.code: (role.present, role.minimum, role.status) for role in row.roles}
    assert counts["host"] == (1, 0, "full")
    # Everyone there is still counted as there.
    assert (row.present, row.expected) == (3, 3)
    assert (check.present, check.minimum, check.lead_present) == (2, 3, True)
    assert check.problems == ["2 of at least 3 people have checked in."]
    early = rosters[0]
    assert (early.present, early.counted, early.minimum) == (3, 2, 3)


async def test_a_role_made_to_count_counts(db: AsyncSession, tenant: Tenant) -> None:
    """The same station once the office says a host counts toward the minimum."""
    day, host = await _with_hosts(db, tenant)
    with tenant_scope(tenant.id), locale_scope("en"):
        role = await db.scalar(select(RoleType).where(RoleType.code == "host"))
        assert role is not None
        role.counts_toward_minimum = True
        await db.commit()
        (summary,) = [s for s in await district_summaries(db, day.election_id) if s.stations]
        assert summary.missing_minimum == 3
        held = await db.scalar(
            select(Assignment.id).where(
                Assignment.person_id == host, Assignment.shift_id == day.early_id
            )
        )
        assert held is not None
    for person_id, key in [(day.chair_id, "c"), (day.clerk_ids[0], "k"), (host, "h")]:
        await _check_in(db, tenant, day, person_id, key, now=day.at(7, 20))
    with tenant_scope(tenant.id), locale_scope("en"):
        check = await opening_check(db, day.station_id, day.at(8, 0))
    assert (check.present, check.minimum) == (3, 4)
