"""The day-before course reminder: once per booking, whether the job runs twice, on two
workers at once, or for several municipalities; never for what is cancelled or not
tomorrow."""

import asyncio
import datetime as dt
import itertools
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.domain.courses import booking, booking_changes, scheduling
from app.domain.courses.reminders import send_reminders
from app.domain.models import CourseBooking
from app.jobs import reminders as reminders_job
from app.jobs.reminders import remind_everywhere
from tests.conftest import TEST_DATABASE_URL
from tests.factories import letterhead, make_course, make_course_session, make_person
from tests.test_cli import _stemma

ACTOR = Actor.system("test")
_numbers = itertools.count(1)


async def _booked(
    db: AsyncSession, tenant: Tenant, days_ahead: int = 1, people: int = 1, **session_fields: Any
) -> tuple[Any, list[CourseBooking]]:
    """A session ``days_ahead`` of the municipality's today with ``people`` booked on it."""
    sender = letterhead(tenant)
    course = await make_course(db, tenant)
    day = sender.today() + dt.timedelta(days=days_ahead)
    course_session = await make_course_session(
        db, tenant, course, day=day, booking_deadline=str(sender.today()), **session_fields
    )
    bookings = []
    for _ in range(people):
        number = next(_numbers)
        person = await make_person(
            db, tenant, email=f"kursdeltagare{number}@example.se", mobile=f"070-111 2{number:03d}"
        )
        with tenant_scope(tenant.id):
            bookings.append(
                await booking.book_person(db, ACTOR, sender, course_session.id, person.id)
            )
    return course_session, bookings


async def _reminders(db: AsyncSession) -> list[str]:
    """The idempotency keys of the reminders in the outbox (mail and text), without the
    moment of the claim: ``course-reminder:<booking>:<session>[:sms]``."""
    keys = await db.scalars(
        select(OutboxMessage.idempotency_key)
        .where(OutboxMessage.idempotency_key.like("course-reminder:%"))
        .order_by(OutboxMessage.idempotency_key)
        .execution_options(all_tenants=True)
    )
    return [":".join(key.split(":")[:3] + key.split(":")[4:]) for key in keys]


async def _run(session_factory: async_sessionmaker[AsyncSession], tenant: Tenant) -> int:
    sender = letterhead(tenant)
    with tenant_scope(tenant.id):
        async with session_factory() as session:
            return await send_reminders(session, sender, sender.today())


async def test_it_reminds_tomorrows_bookings_once_even_when_run_twice(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    owner_db: AsyncSession,
) -> None:
    course_session, (seat,) = await _booked(db, tenant)
    assert await _run(session_factory, tenant) == 1
    key = f"course-reminder:{seat.id}:{course_session.id}"
    assert await _reminders(owner_db) == [key, f"{key}:sms"]
    assert await _run(session_factory, tenant) == 0
    assert await _reminders(owner_db) == [key, f"{key}:sms"]
    with tenant_scope(tenant.id):
        reminded = await db.scalar(
            select(CourseBooking.reminded_at)
            .where(CourseBooking.id == seat.id)
            .execution_options(populate_existing=True)
        )
    assert reminded is not None
    mail = await owner_db.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.idempotency_key.like(f"{key}:%"),
            OutboxMessage.channel == "email",
        )
        .execution_options(all_tenants=True)
    )
    assert mail is not None and "Legitimation" in (mail.body_text or "")


async def test_it_reminds_each_booking_once_when_two_workers_run_at_once(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    owner_db: AsyncSession,
) -> None:
    """On SQLite the single writer serialises the two claims; on PostgreSQL the second
    UPDATE waits for the first one's row locks and then no longer matches."""
    await _booked(db, tenant, people=6)
    counts = await asyncio.gather(*(_run(session_factory, tenant) for _ in range(3)))
    assert sum(counts) == 6
    keys = await _reminders(owner_db)
    assert len(keys) == len(set(keys)) == 12


async def test_it_reminds_nobody_cancelled_waiting_or_not_tomorrow(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    owner_db: AsyncSession,
) -> None:
    sender = letterhead(tenant)
    full, (kept,) = await _booked(db, tenant, capacity=1)
    waiting_person = await make_person(db, tenant, email="vantar@example.se")
    with tenant_scope(tenant.id):
        waiting = await booking.book_person(
            db, ACTOR, sender, full.id, waiting_person.id, join_waiting_list=True
        )
    assert waiting.state == "waiting"
    _other, (cancelled,) = await _booked(db, tenant)
    with tenant_scope(tenant.id):
        await booking_changes.cancel_booking(db, ACTOR, sender, cancelled.id)
    dropped_session, _dropped = await _booked(db, tenant)
    with tenant_scope(tenant.id):
        await scheduling.cancel_session(db, ACTOR, sender, dropped_session.id)
    await _booked(db, tenant, days_ahead=2)
    await _booked(db, tenant, days_ahead=0)
    assert await _run(session_factory, tenant) == 1
    assert await _reminders(owner_db) == [
        f"course-reminder:{kept.id}:{full.id}",
        f"course-reminder:{kept.id}:{full.id}:sms",
    ]


@pytest.mark.allow_error_logs
async def test_it_runs_for_every_municipality_even_when_one_fails(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _booked(db, tenant)
    await _booked(db, other_tenant, people=2)
    real = reminders_job.send_reminders

    async def failing_for_lund(session: AsyncSession, sender: Any, today: dt.date) -> int:
        if sender.slug == "lund":
            raise RuntimeError("boom")
        return await real(session, sender, today)

    monkeypatch.setattr(reminders_job, "send_reminders", failing_for_lund)
    sent = await remind_everywhere(session_factory, "http://stemma.test", from_hour=0)
    assert sent == {"malmo": 2}
    monkeypatch.setattr(reminders_job, "send_reminders", real)
    assert await remind_everywhere(session_factory, "http://stemma.test", from_hour=0) == {
        "lund": 1
    }
    # The hourly run waits for the morning (no text wakes anyone at night).
    assert await remind_everywhere(session_factory, "http://stemma.test", from_hour=24) == {}


async def test_it_sends_reminders_from_the_command_line(
    settings: Settings, db: AsyncSession, tenant: Tenant
) -> None:
    await _booked(db, tenant, people=2)
    first = _stemma(settings, "reminders")
    assert first.returncode == 0, first.stderr
    assert "lund: sent 2 course reminders" in first.stdout
    again = _stemma(settings, "reminders")
    assert again.returncode == 0 and "No reminders due." in again.stdout


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="row locks need PostgreSQL")
async def test_it_skips_a_booking_another_worker_claimed_while_it_waited(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    owner_db: AsyncSession,
) -> None:
    """Another worker holds one booking's row while this one claims: this one waits for
    it, then sees it claimed and reminds only the others."""
    course_session, seats = await _booked(db, tenant, people=3)
    taken = seats[0].id
    with tenant_scope(tenant.id):
        async with session_factory() as other:
            await other.execute(
                update(CourseBooking)
                .where(CourseBooking.id == taken)
                .values(reminded_at=func.now())
                .execution_options(synchronize_session=False)
            )
            job = asyncio.create_task(_run(session_factory, tenant))
            await asyncio.sleep(0.3)
            assert not job.done()  # waiting for the row lock
            await other.commit()
        assert await asyncio.wait_for(job, 10) == 2
    keys = await _reminders(owner_db)
    assert f"course-reminder:{taken}:{course_session.id}" not in keys
    assert len(keys) == 4
