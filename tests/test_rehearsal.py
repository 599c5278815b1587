"""The election-day rehearsal (``bench/rehearsal``).

The day itself (``make rehearsal``; marked ``rehearsal``, so ``make test`` leaves it
out: making the Stockholm-scale demo alone takes minutes) runs the rehearsal at a tiny
scale on PostgreSQL, as the app's ordinary role, with Redis restarted and a worker
killed midway, and asks the audit for no difference. The other tests here run with
every suite: the day's plan, and that the audit tells a dashboard showing something
else from one that shows the database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

from bench.rehearsal.audit import facts
from bench.rehearsal.plan import OPENING, Options, Place, Station, plan_day

ROOT = Path(__file__).resolve().parents[1]

ROW = (
    '<tr id="ops-station-7" class="ops-row" hx-swap-oob="true"><th scope="row">'
    '<a href="#">Station 7</a><p class="ops-alert" data-alert="not_open">Not open</p></th>'
    '<td class="ops-state-cell"><span class="badge ops-state ops-state-{state}">x</span></td>'
    '<td class="ops-roles"><span class="ops-role">Chair <strong>{chairs}/1</strong></span>'
    '<span class="ops-role">Clerk <strong>4/6</strong></span></td>'
    '<td class="ops-incidents" data-label="Incidents"><span class="badge">{incidents}</span></td>'
    '<td class="muted ops-last-change">{time}</td></tr>'
)


def _stations(count: int, team: int) -> list[Station]:
    return [
        Station(
            s,
            [Place(s * 100 + n, s * 100 + n, s * 100 + n, 1, s, n == 0) for n in range(team)],
        )
        for s in range(count)
    ]


def test_most_clerks_arrive_in_the_hour_before_opening_and_every_chair_opens() -> None:
    stations = _stations(40, 10)
    actions = plan_day(stations, Options())
    arrivals = [a.at for a in actions if a.kind == "arrive"]
    before = [at for at in arrivals if OPENING - 0.35 <= at < OPENING]
    assert len(before) > 0.75 * len(arrivals)
    assert all(0 < at < 1 for at in arrivals)
    # A chair checks in before opening the station; everyone else comes or is replaced.
    opened = {a.station_id: a.at for a in actions if a.kind == "open"}
    assert set(opened) == {s.id for s in stations}
    for action in actions:
        if action.kind == "arrive" and action.place is not None and action.place.leads:
            assert action.at < opened[action.station_id]
    came = {a.place.person_id for a in actions if a.kind == "arrive" and a.place}
    replaced = {a.place.person_id for a in actions if a.kind == "reassign" and a.place}
    assert came | replaced == {p.person_id for s in stations for p in s.places}
    assert not came & replaced
    # A tenth of the phones blink, each one to four times.
    blinking = {a.detail["key"] for a in actions if a.kind == "drop"}
    assert len(blinking) == 40


def test_the_audit_reads_what_a_dashboard_row_shows_and_not_the_clock() -> None:
    shown = facts("ops-station-7", ROW.format(state="open", chairs=1, incidents=1, time="08:01"))
    later = facts("ops-station-7", ROW.format(state="open", chairs=1, incidents=1, time="09:30"))
    assert shown == later == {"state": "open", "roles": [("1", "1"), ("4", "6")], "incidents": "1"}
    for changed in (
        ROW.format(state="not_opened", chairs=1, incidents=1, time="08:01"),
        ROW.format(state="open", chairs=0, incidents=1, time="08:01"),
        ROW.format(state="open", chairs=1, incidents=2, time="08:01"),
    ):
        assert facts("ops-station-7", changed) != shown


def _rehearsal_database() -> str:
    base = os.environ.get("STEMMA_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        pytest.skip("the rehearsal needs PostgreSQL: set STEMMA_TEST_DATABASE_URL")
    url = make_url(base)
    return url.set(database=f"{url.database}_rehearsal").render_as_string(hide_password=False)


@pytest.mark.rehearsal
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_a_small_election_day_ends_with_nothing_lost_or_doubled(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--only",
            "rehearsal",
            "--database-url",
            _rehearsal_database(),
            "--scale",
            os.environ.get("STEMMA_REHEARSAL_SCALE", "0.02"),
            "--minutes",
            os.environ.get("STEMMA_REHEARSAL_MINUTES", "1.5"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert "differences: 0 (goal: none)" in report, report
    assert "Redis restarted" in report and "killed" in report, report
