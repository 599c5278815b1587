"""The reminders an election sets for itself: each at its local time, once per person
and occasion, however often and on how many workers the job runs; a missed window is
skipped; only accepted places, never the erased."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant, utcnow
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment, ReminderSent
from app.domain.reminders.settings import save_reminder_settings
from app.jobs.election_reminders import send_reminders_everywhere
from tests.conftest import TEST_DATABASE_URL
from tests.factories import make_person, make_staffed_station

ACTOR = Actor.system("test")
ZONE = ZoneInfo("Europe/Stockholm")
BASE_URL = "http://stemma.test"
SETTINGS = {
    "shift_reminder_on": "1",
    "shift_reminder_days": "3",
    "shift_reminder_hour": "10",
    "eve_on": "1",
    "eve_hour": "18",
    "wake_up_on": "1",
    "wake_up_at": "06:15",
    "offer_on": "1",
    "offer_days": "3",
    "offer_hour": "11",
}


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A local wall-clock moment in Stockholm, as the job's UTC ``now``."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZONE).astimezone(dt.UTC)


async def _place(
    db: AsyncSession,
    tenant: Tenant,
    pieces: dict[str, Any],
    state: str,
    shift: str = "early",
    **person: Any,
) -> Any:
    number = len(person) + id(person) % 100000
    found = await make_person(
        db,
        tenant,
        email=person.pop("email", f"p{number}@example.se"),
        mobile=person.pop("mobile", f"+4670{number:07d}"),
        **person,
    )
    with tenant_scope(tenant.id):
        assignment = Assignment(
            election_id=pieces["election"].id,
            station_id=pieces["station"].id,
            shift_id=pieces[shift].id,
            role_type_id=pieces["roles"]["clerk"].id,
            person_id=found.id,
            state=state,
        )
        db.add(assignment)
        await db.commit()
    return found, assignment


async def _setup(db: AsyncSession, tenant: Tenant, **settings: str) -> dict[str, Any]:
    pieces = await make_staffed_station(db, tenant)
    with tenant_scope(tenant.id):
        await save_reminder_settings(db, ACTOR, pieces["election"].id, {**SETTINGS, **settings})
    return pieces


async def _sent(owner_db: AsyncSession, prefix: str = "reminder:") -> list[tuple[str, str, str]]:
    """(occasion, channel, recipient) of every reminder in the outbox, sorted."""
    rows = await owner_db.execute(
        select(OutboxMessage.idempotency_key, OutboxMessage.recipient)
        .where(OutboxMessage.idempotency_key.like(f"{prefix}%"))
        .execution_options(all_tenants=True, populate_existing=True)
    )
    return sorted(
        (key.split(":")[1], key.split(":")[-1], recipient) for key, recipient in rows.all()
    )


async def test_it_sends_each_reminder_once_at_its_time(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    owner_db: AsyncSession,
) -> None:
    pieces = await _setup(db, tenant)
    day = pieces["election"].election_day
    early, _ = await _place(db, tenant, pieces, "accepted", email="tidig@example.se",
                            mobile="+46701000001")  # fmt: skip
    late, _ = await _place(db, tenant, pieces, "accepted", "late", email="sen@example.se",
                           mobile="+46701000002")  # fmt: skip
    await _place(db, tenant, pieces, "declined", email="nej@example.se", mobile="+46701000003")
    await _place(db, tenant, pieces, "proposed", email="kanske@example.se")
    erased, _ = await _place(db, tenant, pieces, "accepted", email="borta@example.se")
    with tenant_scope(tenant.id):
        erased.erased_at = utcnow()
        db.add(erased)
        await db.commit()

    async def run(now: dt.datetime) -> dict[str, int]:
        return await send_reminders_everywhere(session_factory, BASE_URL, now)

    before = day - dt.timedelta(days=3)
    assert await run(at(before, 9, 59)) == {}
    assert await run(at(before, 10, 0)) == {"lund": 2}
    assert await run(at(before, 10, 1)) == {}
    assert await run(at(before, 11, 30)) == {}
    assert await _sent(owner_db) == [
        ("shift_reminder", "email", "sen@example.se"),
        ("shift_reminder", "email", "tidig@example.se"),
        ("shift_reminder", "sms", "+46701000001"),
        ("shift_reminder", "sms", "+46701000002"),
    ]
    mail = await owner_db.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == "tidig@example.se")
        .execution_options(all_tenants=True)
    )
    assert mail is not None
    assert mail.subject.startswith("Påminnelse: du arbetar i valet")
    assert "Hamnskolan" in mail.body_text and "07:30–14:00" in mail.body_text
    assert f"{BASE_URL}/lund/portal" in mail.body_text

    eve = day - dt.timedelta(days=1)
    assert await run(at(eve, 17, 59)) == {}
    assert await run(at(eve, 18, 5)) == {"lund": 2}
    assert await run(at(eve, 18, 6)) == {}
    assert await run(at(day, 6, 15)) == {"lund": 2}
    assert await run(at(day, 6, 20)) == {}
    sms = [row for row in await _sent(owner_db) if row[0] in ("election_eve", "wake_up")]
    assert sms == [
        ("election_eve", "sms", "+46701000001"),
        ("election_eve", "sms", "+46701000002"),
        ("wake_up", "sms", "+46701000001"),
        ("wake_up", "sms", "+46701000002"),
    ]
    text = await owner_db.scalar(
        select(OutboxMessage.body_text)
        .where(OutboxMessage.idempotency_key.like("reminder:wake_up:%"),
               OutboxMessage.recipient == "+46701000002")
        .execution_options(all_tenants=True)
    )  # fmt: skip
    assert text is not None and text.startswith("God morgon ") and "från 13:30" in text
    with tenant_scope(tenant.id):
        counts = {(row.occasion, row.person_id) for row in await db.scalars(select(ReminderSent))}
    assert {person for _occasion, person in counts} == {early.id, late.id}


async def test_it_skips_a_window_the_worker_missed_and_never_sends_at_night(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    owner_db: AsyncSession,
) -> None:
    pieces = await _setup(db, tenant)
    day = pieces["election"].election_day
    await _place(db, tenant, pieces, "accepted")
    before = day - dt.timedelta(days=3)
    # The worker was down from 09:00 to 12:00 three days before, and at night.
    for now in (at(before, 12, 0), at(before, 23, 0), at(before + dt.timedelta(days=1), 3, 0),
                at(day - dt.timedelta(days=1), 20, 0), at(day, 7, 0), at(day, 3, 0)):  # fmt: skip
        assert await send_reminders_everywhere(session_factory, BASE_URL, now) == {}
    assert await _sent(owner_db) == []


async def test_it_tells_someone_with_two_shifts_once_of_the_first(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    owner_db: AsyncSession,
) -> None:
    pieces = await _setup(db, tenant, shift_reminder_days="0", shift_reminder_hour="6")
    day = pieces["election"].election_day
    both, _early = await _place(db, tenant, pieces, "accepted", mobile="+46702000001")
    with tenant_scope(tenant.id):
        db.add(
            Assignment(
                election_id=pieces["election"].id,
                station_id=pieces["station"].id,
                shift_id=pieces["late"].id,
                role_type_id=pieces["roles"]["clerk"].id,
                person_id=both.id,
                state="accepted",
            )
        )
        await db.commit()
    # At 06:15 both the same-day shift reminder (from 06:00) and the wake-up are open.
    assert await send_reminders_everywhere(session_factory, BASE_URL, at(day, 6, 15)) == {"lund": 2}
    assert [(row[0], row[2]) for row in await _sent(owner_db) if row[1] == "sms"] == [
        ("shift_reminder", "+46702000001"),
        ("wake_up", "+46702000001"),
    ]
    text = await owner_db.scalar(
        select(OutboxMessage.body_text)
        .where(OutboxMessage.idempotency_key.like("reminder:wake_up:%"))
        .execution_options(all_tenants=True)
    )
    assert text is not None and "från 07:30" in text


async def test_it_reminds_an_unanswered_offer_once_before_its_deadline(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    owner_db: AsyncSession,
) -> None:
    pieces = await _setup(db, tenant)
    day = pieces["election"].election_day
    sent_on = day - dt.timedelta(days=20)
    offers = []
    for number, answer_by in enumerate(
        (day - dt.timedelta(days=10), sent_on + dt.timedelta(days=2))
    ):
        _person, offer = await _place(
            db, tenant, pieces, "offered", email=f"svara{number}@example.se",
            mobile=f"+4670300000{number}",
        )  # fmt: skip
        with tenant_scope(tenant.id):
            offer.offered_at = at(sent_on, 9)
            offer.answer_by = at(answer_by, 12)
            db.add(offer)
            await db.commit()
        offers.append(offer)
    # Two days after: not yet; three days after, at the hour: the offer whose deadline
    # has not passed is reminded, once; the next day, nothing more.
    assert (
        await send_reminders_everywhere(
            session_factory, BASE_URL, at(sent_on + dt.timedelta(days=2), 11, 5)
        )
        == {}
    )
    assert await send_reminders_everywhere(
        session_factory, BASE_URL, at(sent_on + dt.timedelta(days=3), 11, 5)
    ) == {"lund": 1}
    assert (
        await send_reminders_everywhere(
            session_factory, BASE_URL, at(sent_on + dt.timedelta(days=4), 11, 5)
        )
        == {}
    )
    assert await _sent(owner_db, "reminder:offer_unanswered") == [
        ("offer_unanswered", "email", "svara0@example.se"),
        ("offer_unanswered", "sms", "+46703000000"),
    ]
    sms = await owner_db.scalar(
        select(OutboxMessage.body_text)
        .where(OutboxMessage.recipient == "+46703000000")
        .execution_options(all_tenants=True)
    )
    assert sms is not None and "Svara senast" in sms and "12:00" in sms


async def test_it_reminds_each_person_once_when_three_workers_run_at_once(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    owner_db: AsyncSession,
) -> None:
    """On PostgreSQL the second and third INSERT of the same claims wait for the first
    one's transaction, then insert nothing; SQLite has one writer."""
    pieces = await _setup(db, tenant)
    day = pieces["election"].election_day
    for number in range(8):
        await _place(db, tenant, pieces, "accepted", "early" if number % 2 else "late",
                     email=f"arbetar{number}@example.se", mobile=f"+4670400000{number}")  # fmt: skip
    now = at(day - dt.timedelta(days=3), 10, 1)
    results = await asyncio.gather(
        *(send_reminders_everywhere(session_factory, BASE_URL, now) for _ in range(3))
    )
    assert sum(result.get("lund", 0) for result in results) == 8
    sent = await _sent(owner_db)
    assert len(sent) == len(set(sent)) == 16


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="concurrent writers need PostgreSQL")
async def test_it_waits_for_a_worker_that_claimed_first_and_then_sends_nothing_twice(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    owner_db: AsyncSession,
) -> None:
    """A worker mid-claim holds the keys: a second one waits, then skips them."""
    from app.domain.reminders.sending import Recipient, _claim

    pieces = await _setup(db, tenant)
    day = pieces["election"].election_day
    person, place = await _place(db, tenant, pieces, "accepted", email="a@example.se",
                                 mobile="+46705000001")  # fmt: skip
    now = at(day - dt.timedelta(days=3), 10, 1)
    recipient = Recipient(person.id, place.id, day.isoformat(), ("email", "sms"))
    with tenant_scope(tenant.id):
        async with session_factory() as first:
            election = pieces["election"]

            assert await _claim(first, election.id, "shift_reminder", [recipient], now)
            second = asyncio.create_task(send_reminders_everywhere(session_factory, BASE_URL, now))
            await asyncio.sleep(0.3)
            assert not second.done()  # waiting for the first one's keys
            await first.commit()
        assert await asyncio.wait_for(second, 10) == {}
    assert await _sent(owner_db) == []


async def test_a_round_out_of_time_leaves_the_rest_to_the_next(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    owner_db: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On election morning thousands are due at once: a round writes a batch at least,
    then leaves the rest to the next minute, so the outbox is not kept waiting."""
    from app.domain.reminders import sending

    monkeypatch.setattr(sending, "BATCH", 2)
    pieces = await _setup(db, tenant)
    day = pieces["election"].election_day
    for number in range(5):
        await _place(db, tenant, pieces, "accepted", email=f"m{number}@example.se", mobile="")
    now = at(day - dt.timedelta(days=3), 10, 1)
    rounds = [
        await send_reminders_everywhere(session_factory, BASE_URL, now, round_seconds=0)
        for _ in range(4)
    ]
    assert rounds == [{"lund": 2}, {"lund": 2}, {"lund": 1}, {}]
    assert len(await _sent(owner_db)) == 5
