"""The `stemma` command as operators and scripts use it."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from quart.testing import QuartClient
from sqlalchemy import func, select

from app.core.settings import Settings

#: A drill: each command is a new interpreter loading the app (`make drills`).
pytestmark = pytest.mark.drill


def _stemma(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "STEMMA_DATABASE_URL": settings.database_url,
        "STEMMA_DATA_DIR": str(settings.data_dir),
        "STEMMA_SECRET_KEY": settings.secret_key,
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_it_creates_a_tenant_a_user_and_a_token(
    settings: Settings, client: QuartClient
) -> None:
    created = _stemma(settings, "tenant", "create", "--slug", "vaxjo", "--name", "Växjö kommun")
    assert created.returncode == 0, created.stderr
    user = _stemma(
        settings,
        "user",
        "create",
        "--tenant",
        "vaxjo",
        "--email",
        "chef@vaxjo.test",
        "--password",
        "a long enough password",
        "--role",
        "admin",
    )
    assert user.returncode == 0, user.stderr
    token = _stemma(settings, "token", "create", "--tenant", "vaxjo", "--name", "Lön")
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip().splitlines()[-1]
    assert secret.startswith("stm_") and " " not in secret

    response = await client.get("/api/v1/tenant", headers={"Authorization": f"Bearer {secret}"})
    assert (await response.get_json())["name"] == "Växjö kommun"


async def test_it_explains_bad_input_and_exits_non_zero(settings: Settings) -> None:
    bad_slug = _stemma(settings, "tenant", "create", "--slug", "Not A Slug", "--name", "X")
    assert bad_slug.returncode == 1
    assert "slug:" in bad_slug.stderr and "Traceback" not in bad_slug.stderr
    reserved = _stemma(settings, "tenant", "create", "--slug", "api", "--name", "X")
    assert reserved.returncode == 1
    no_tenant = _stemma(
        settings,
        "user",
        "create",
        "--tenant",
        "nowhere",
        "--email",
        "a@b.test",
        "--password",
        "long enough password",
        "--role",
        "clerk",
    )
    assert no_tenant.returncode == 1 and "nowhere" in no_tenant.stderr
    short_password = _stemma(settings, "tenant", "create", "--slug", "ok", "--name", "Ok")
    assert short_password.returncode == 0
    weak = _stemma(
        settings,
        "user",
        "create",
        "--tenant",
        "ok",
        "--email",
        "a@ok.test",
        "--password",
        "short",
        "--role",
        "clerk",
    )
    assert weak.returncode == 1 and "password:" in weak.stderr


async def test_it_makes_the_demo_once_and_prints_the_logins(settings: Settings) -> None:
    first = _stemma(settings, "demo")
    second = _stemma(settings, "demo")
    assert first.returncode == second.returncode == 0, first.stderr
    assert "Created the demo municipality." in first.stdout
    assert "Created the demo municipality." not in second.stdout
    for email in (
        "admin@demo.stemma.test",
        "planner@demo.stemma.test",
        "logistics@demo.stemma.test",
        "clerk@demo.stemma.test",
    ):
        assert email in second.stdout


def test_it_migrates_a_fresh_database(tmp_path: Path) -> None:
    environment = {**os.environ, "STEMMA_DATA_DIR": str(tmp_path)}
    environment.pop("STEMMA_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "stemma.db").exists()


async def test_it_refuses_several_workers_on_sqlite(settings: Settings) -> None:
    if not settings.is_sqlite:
        return  # with PostgreSQL the refusal is about Redis, covered by the same code path
    result = _stemma(settings, "serve", "--workers", "2")
    assert result.returncode == 2
    assert "Several workers need PostgreSQL" in result.stderr


async def test_it_refuses_an_unknown_time_zone(settings: Settings) -> None:
    result = _stemma(
        settings, "tenant", "create", "--slug", "tz", "--name", "Tz", "--timezone", "Mars/Olympus"
    )
    assert result.returncode == 1 and "timezone:" in result.stderr


async def test_it_moves_the_demo_election_day_to_today(settings: Settings) -> None:
    from zoneinfo import ZoneInfo

    from app.core.accounts.municipalities import get_tenant_by_slug
    from app.core.db import create_engine, create_session_factory
    from app.core.models import utcnow
    from app.core.tenancy import tenant_scope
    from app.demo.election_day import demo_day_clock
    from app.domain.models import (
        Assignment,
        CheckIn,
        CourseSession,
        Election,
        Incident,
        IncidentNote,
        Reserve,
        Shift,
        Station,
        StationStatus,
        TurnoutReport,
    )

    first = _stemma(settings, "demo", "--election-day", "today")
    assert first.returncode == 0, first.stderr
    # Today's date, or tomorrow's from 22:00 (then the day starts at midnight).
    today, _starts = demo_day_clock(utcnow().astimezone(ZoneInfo("Europe/Stockholm")))
    assert "Created the demo municipality." in first.stdout
    assert f"Val till Europaparlamentet 2029: {today} (was 2029-06-10)" in first.stdout
    # Again: nothing to move, and the demo is still made only once.
    again = _stemma(settings, "demo", "--election-day", "today")
    assert again.returncode == 0 and "Created" not in again.stdout
    assert f"{today} (was {today})" in again.stdout
    assert _stemma(settings, "demo", "--election-day", "someday").returncode == 2

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            tenant = await get_tenant_by_slug(session, "demo")
            assert tenant is not None
            with tenant_scope(tenant.id):
                elections = {e.name: e for e in await session.scalars(select(Election))}
                coming = elections["Val till Europaparlamentet 2029"]
                assert coming.election_day == today
                # Everything kept its place relative to election day: 18 days of advance voting.
                assert coming.advance_end == today
                assert coming.advance_start == today - dt.timedelta(days=18)
                assert elections[
                    "Val till riksdag, region och kommun 2026"
                ].election_day == dt.date(2026, 9, 13)
                days = set(
                    await session.scalars(
                        select(Shift.day)
                        .join(Station, Station.id == Shift.station_id)
                        .where(Station.election_id == coming.id)
                    )
                )
                assert max(days) == today and min(days) >= coming.advance_start
                sessions = await session.scalars(
                    select(CourseSession.day).where(CourseSession.day < today)
                )
                assert list(sessions), "the basic course took place before the day"
                reserves = await session.scalars(
                    select(Reserve.id).where(Reserve.election_id == coming.id)
                )
                assert len(list(reserves)) >= 1
                # Someone tried election day: a check-in, an opened station, an incident
                # with a note, a turnout count.
                place = await session.scalar(
                    select(Assignment).where(Assignment.election_id == coming.id).limit(1)
                )
                assert place is not None
                incident = Incident(
                    election_id=coming.id,
                    station_id=place.station_id,
                    category="queue",
                    severity="high",
                    text="Lång kö.",
                )
                session.add_all(
                    [
                        CheckIn(
                            election_id=coming.id,
                            station_id=place.station_id,
                            shift_id=place.shift_id,
                            person_id=place.person_id,
                            assignment_id=place.id,
                            kind="arrived",
                            checked_at=utcnow(),
                            source="portal",
                            idempotency_key="tried",
                            payload_hash="0" * 64,
                        ),
                        StationStatus(
                            election_id=coming.id, station_id=place.station_id, state="open"
                        ),
                        TurnoutReport(
                            election_id=coming.id, station_id=place.station_id, slot="12:00"
                        ),
                        incident,
                    ]
                )
                await session.flush()
                session.add(IncidentNote(incident_id=incident.id, text="Skickade en reserv."))
                await session.commit()
                # The demo's own turnout of the day is cleared with the five above.
                earlier = await session.scalar(
                    select(func.count())
                    .select_from(IncidentNote)
                    .join(Incident)
                    .where(Incident.election_id == coming.id)
                )
                for model in (CheckIn, StationStatus, TurnoutReport, Incident):
                    earlier += (
                        await session.scalar(
                            select(func.count()).where(model.election_id == coming.id)  # type: ignore[attr-defined]
                        )
                        or 0
                    )
        assert earlier >= 5
        tomorrow = today + dt.timedelta(days=1)
        moved = _stemma(settings, "demo", "--election-day", tomorrow.isoformat())
        assert moved.returncode == 0, moved.stderr
        assert f"{tomorrow} (was {today})" in moved.stdout
        assert f"Cleared {earlier} records of the earlier election day" in moved.stdout, (
            moved.stdout
        )
        async with create_session_factory(engine)() as session:
            with tenant_scope(tenant.id):
                # Of the moved election: the held one keeps its day's records.
                for model in (CheckIn, StationStatus, TurnoutReport, Incident):
                    counted = select(func.count()).where(model.election_id == coming.id)  # type: ignore[attr-defined]
                    assert await session.scalar(counted) == 0
                notes = select(func.count()).select_from(IncidentNote).join(Incident)
                assert await session.scalar(notes) == 0
    finally:
        await engine.dispose()


def _niceness(pid: int) -> int:
    """A process's Unix niceness: field 19 of /proc/<pid>/stat (after the name)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_the_worker_runs_at_a_lower_cpu_priority_than_the_web(settings: Settings) -> None:
    """A send of 15,000 messages must not slow the pages: `stemma worker` gives itself
    STEMMA_WORKER_NICE more niceness than it was started with."""
    environment = {
        **os.environ,
        "STEMMA_DATABASE_URL": settings.database_url,
        "STEMMA_DATA_DIR": str(settings.data_dir),
        "STEMMA_SECRET_KEY": settings.secret_key,
        "STEMMA_WORKER_NICE": "7",
    }
    assert _stemma(settings, "migrate").returncode == 0
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert worker.stdout is not None
        for line in worker.stdout:
            if "Outbox worker running" in line:
                break
        # Unix caps niceness at 19.
        assert _niceness(worker.pid) == min(_niceness(os.getpid()) + 7, 19)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


async def test_it_refreshes_the_register_from_an_extract_or_names_the_bad_rows(
    settings: Settings, db: Any, tenant: Any, tmp_path: Path
) -> None:
    from app.core.tenancy import tenant_scope
    from app.domain.models import Person
    from tests.factories import make_person

    person = await make_person(
        db, tenant, first_name="Dag", last_name="Död", national_id="19800101-1231"
    )
    bad = tmp_path / "spar.csv"
    bad.write_text("personnummer;förnamn;efternamn;skonummer\n198001011231;Dag;Död;42\n")
    refused = _stemma(settings, "register", "refresh", "--tenant", "lund", "--file", str(bad))
    assert refused.returncode != 0 and "skonummer" in refused.stderr
    assert "198001011231" not in refused.stdout + refused.stderr
    good = tmp_path / "spar.dat"
    good.write_text(
        "198001011231Dag".ljust(42) + "Död".ljust(30) + " " * 67 + "N20261101\n", encoding="utf-8"
    )
    done = _stemma(settings, "register", "refresh", "--tenant", "lund", "--file", str(good))
    assert done.returncode == 0, done.stderr
    assert "changed 1" in done.stdout and "died 1" in done.stdout
    with tenant_scope(tenant.id):
        died_on = await db.scalar(select(Person.died_on).where(Person.id == person.id))
    assert died_on == dt.date(2026, 11, 1)
