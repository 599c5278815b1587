"""`stemma demo --election-day today`: the demo election's reminders are on, and the
shift reminder and the wake-up SMS go out by themselves at once (the worker's job run
with the clock fixed), at noon and at 23:30 (election day tomorrow, wake-up at midnight)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from app.cli import main as stemma
from app.core.db import create_engine, create_session_factory
from app.core.models import OutboxMessage, Tenant
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.demo import DEMO_SLUG, election_day
from app.jobs.election_reminders import send_reminders_everywhere
from tests.demo.test_election_day import DAY, ZONE, _at, _environment


async def _reminders(settings: Settings, now: dt.datetime) -> tuple[dict[str, int], list[str]]:
    engine = create_engine(settings.database_url)
    try:
        factory = create_session_factory(engine)
        told = await send_reminders_everywhere(factory, "http://demo.test", now.astimezone(dt.UTC))
        async with factory() as session:
            tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == DEMO_SLUG))
            assert tenant_id is not None
            with tenant_scope(tenant_id):
                keys = await session.scalars(
                    select(OutboxMessage.idempotency_key).where(
                        OutboxMessage.idempotency_key.like("reminder:%")
                    )
                )
                return told, list(keys)
    finally:
        await engine.dispose()


def test_the_demo_sends_its_shift_reminder_and_wake_up_by_itself(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = _environment(settings)
    for command in (["migrate"], ["demo"]):
        ran = CliRunner().invoke(stemma, command, env=environment, catch_exceptions=False)
        assert ran.exit_code == 0, ran.output
    noon = _at(12)
    monkeypatch.setattr(election_day, "utcnow", lambda: noon.astimezone(dt.UTC))
    ran = CliRunner().invoke(
        stemma, ["demo", "--election-day", "today"], env=environment, catch_exceptions=False
    )
    assert ran.exit_code == 0 and "shift reminder and wake-up SMS are due now" in ran.output
    told, keys = asyncio.run(_reminders(settings, noon + dt.timedelta(minutes=1)))
    assert told == {"demo": 8}  # the demo clerk's team of four, each twice
    kinds = sorted({(key.split(":")[1], key.split(":")[-1]) for key in keys})
    assert kinds == [("shift_reminder", "email"), ("shift_reminder", "sms"), ("wake_up", "sms")]
    assert all(key.split(":")[4] == DAY.isoformat() for key in keys)
    # Once: the next minute sends nothing more.
    assert asyncio.run(_reminders(settings, noon + dt.timedelta(minutes=2)))[0] == {}

    late = _at(23, 30)
    monkeypatch.setattr(election_day, "utcnow", lambda: late.astimezone(dt.UTC))
    ran = CliRunner().invoke(
        stemma, ["demo", "--election-day", "today"], env=environment, catch_exceptions=False
    )
    assert ran.exit_code == 0, ran.output
    tomorrow = DAY + dt.timedelta(days=1)
    # Now the shift reminder (a day before); the wake-up at midnight, not before.
    assert asyncio.run(_reminders(settings, late + dt.timedelta(minutes=1)))[0] == {"demo": 4}
    midnight = dt.datetime.combine(tomorrow, dt.time(0, 5), tzinfo=ZONE)
    told, keys = asyncio.run(_reminders(settings, midnight))
    assert told == {"demo": 4}
    assert {key.split(":")[1] for key in keys if key.split(":")[4] == tomorrow.isoformat()} == {
        "shift_reminder",
        "wake_up",
    }
