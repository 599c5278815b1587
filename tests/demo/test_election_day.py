"""`stemma demo --election-day today` at any hour: run at 03:00, at noon and at 23:30
(the clock fixed), check-in is open at once for the demo clerk's first shift, and a
check-in and a check-out go through the real service at that moment."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import main as stemma
from app.core.audit import Actor
from app.core.db import create_engine, create_session_factory
from app.core.models import Tenant, User
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.demo import DEMO_SLUG, election_day
from app.demo.election_day import (
    MovedElection,
    _coming_election,
    demo_day_clock,
    election_to_move,
    first_shift_start,
)
from app.demo.recruitment import fill_contact_messages
from app.domain.models import (
    Assignment,
    ContactMessage,
    Election,
    Person,
    Shift,
    StationOpening,
)
from app.domain.municipalities import create_municipality
from app.domain.ops.checkins import check_in, check_in_window

ZONE = ZoneInfo("Europe/Stockholm")
DAY = dt.date(2026, 12, 10)
COMING = "Val till Europaparlamentet 2029"


def _at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(DAY.year, DAY.month, DAY.day, hour, minute, second, tzinfo=ZONE)


@pytest.mark.parametrize(
    ("now", "day", "first"),
    [
        (_at(0, 0), DAY, dt.time(0, 0)),
        (_at(3, 0), DAY, dt.time(3, 0)),
        (_at(3, 0, 1), DAY, dt.time(3, 30)),
        (_at(3, 10), DAY, dt.time(3, 30)),
        (_at(5, 29), DAY, dt.time(5, 30)),
        (_at(5, 30), DAY, dt.time(7, 30)),
        (_at(12, 0), DAY, dt.time(7, 30)),
        (_at(21, 59), DAY, dt.time(7, 30)),
        (_at(22, 0), DAY + dt.timedelta(days=1), dt.time(0, 0)),
        (_at(23, 30), DAY + dt.timedelta(days=1), dt.time(0, 0)),
    ],
)
def test_the_day_and_its_first_shifts_follow_the_hour(
    now: dt.datetime, day: dt.date, first: dt.time
) -> None:
    assert first_shift_start() == dt.time(7, 30)
    assert demo_day_clock(now) == (day, first)


def test_the_coming_election_is_the_one_rolled_over_from_the_demos_first() -> None:
    first = Election(id=1, name="2026", rolled_over_from_id=None)
    coming = Election(id=2, name="2029", rolled_over_from_id=1)
    # A planner's later election rolled over from the coming one is not the demo's.
    later = Election(id=3, name="Extra", rolled_over_from_id=2)
    assert _coming_election([first, coming, later]) is coming
    assert _coming_election([first]) is first
    # The small demo's day is the coming election's, where the demo clerk has a place;
    # the large demo's the staffed one (last election's teams at every station).
    held = {1: 2_400, 2: 5, 3: 0}
    assert election_to_move([first, coming, later], held) is coming
    assert election_to_move([first, coming, later], held, staffed=True) is first
    assert election_to_move([first, coming], {1: 5, 2: 5}, staffed=True) is coming


def _environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "STEMMA_DATABASE_URL": settings.database_url,
        "STEMMA_DATA_DIR": str(settings.data_dir),
        "STEMMA_SECRET_KEY": settings.secret_key,
    }


async def _check_in_at(settings: Settings, now: dt.datetime) -> dict[str, object]:
    """What the demo's coming election looks like at ``now``, after the demo clerk
    checked in and out of their first shift at that moment."""
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            tenant = await session.scalar(select(Tenant).where(Tenant.slug == DEMO_SLUG))
            user = await session.scalar(select(User).where(User.email == "clerk@demo.stemma.test"))
            assert tenant is not None and user is not None
            with tenant_scope(tenant.id):
                coming = _coming_election(list(await session.scalars(select(Election))))
                person = await session.scalar(select(Person).where(Person.user_id == user.id))
                assert person is not None
                shift = await session.scalar(
                    select(Shift)
                    .join(Assignment, Assignment.shift_id == Shift.id)
                    .where(
                        Assignment.person_id == person.id,
                        Assignment.election_id == coming.id,
                        Shift.day == coming.election_day,
                    )
                    .order_by(Shift.starts_at)
                    .limit(1)
                )
                assert shift is not None
                opening = await session.scalar(
                    select(StationOpening).where(
                        StationOpening.station_id == shift.station_id,
                        StationOpening.day == coming.election_day,
                    )
                )
                assert opening is not None
                seen = {
                    "name": coming.name,
                    "day": coming.election_day,
                    "starts": shift.starts_at,
                    "opens": opening.opens_at,
                    "window": check_in_window(shift, ZONE),
                }
                for kind in ("arrived", "left"):
                    checkin, replayed = await check_in(
                        session,
                        Actor.for_user(user),
                        person_id=person.id,
                        shift_id=shift.id,
                        kind=kind,
                        idempotency_key=f"{now.isoformat()}-{kind}",
                        source="portal",
                        now=now,
                    )
                    assert not replayed and checkin.kind == kind
                return seen
    finally:
        await engine.dispose()


def test_the_demo_can_be_checked_in_at_any_hour(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command at 03:00, at noon and at 23:30 of one day, on one demo: each time the
    clerk's first shift is on the election day the hour gives, starts when it says, the
    polls open half an hour later, and check-in is open now and for two hours more."""
    environment = _environment(settings)
    for command in (["migrate"], ["demo"]):
        ran = CliRunner().invoke(stemma, command, env=environment, catch_exceptions=False)
        assert ran.exit_code == 0, ran.output
    expected = [
        (_at(3), DAY, dt.time(3, 0), dt.time(3, 30)),
        (_at(12), DAY, dt.time(7, 30), dt.time(8, 0)),
        (_at(23, 30), DAY + dt.timedelta(days=1), dt.time(0, 0), dt.time(0, 30)),
    ]
    for now, day, starts, opens in expected:
        monkeypatch.setattr(election_day, "utcnow", lambda now=now: now.astimezone(dt.UTC))
        ran = CliRunner().invoke(
            stemma, ["demo", "--election-day", "today"], env=environment, catch_exceptions=False
        )
        assert ran.exit_code == 0, ran.output
        assert f"Election day of {COMING}: {day}" in ran.output, ran.output
        assert f"Its first shifts start at {starts:%H:%M}" in ran.output, ran.output
        seen = asyncio.run(_check_in_at(settings, now))
        assert (seen["day"], seen["starts"], seen["opens"]) == (day, starts, opens), (now, seen)
        window = seen["window"]
        assert isinstance(window, tuple)
        assert window[0] <= now and now + dt.timedelta(hours=2) <= window[1], (now, window)
    # As the large demo chooses (tested here on the small one's data): the election
    # most places are held in, last election's with its teams.
    moved = asyncio.run(_move_staffed(settings, expected[-1][0]))
    assert moved is not None and moved.name == "Val till riksdag, region och kommun 2026"
    assert moved.new_day == DAY + dt.timedelta(days=1)


async def _move_staffed(settings: Settings, now: dt.datetime) -> MovedElection | None:
    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            return await election_day.move_election_day(session, DEMO_SLUG, now=now, staffed=True)
    finally:
        await engine.dispose()


async def test_both_demos_send_their_contact_messages_within_one_hour(db: AsyncSession) -> None:
    """`make run` made the small demo; `stemma demo --size large` within the hour sends
    its contact messages too (the public form's limit is five an hour per address)."""
    small = await create_municipality(db, Actor.system("test"), "demo", "Demo kommun")
    large = await create_municipality(db, Actor.system("test"), "storstad", "Storstad (demo)")
    await fill_contact_messages(db, small, "small")
    await fill_contact_messages(db, large, "large")
    with tenant_scope(large.id):
        assert await db.scalar(select(func.count()).select_from(ContactMessage)) == 3
