"""Check-ins on election day: the rules, idempotent replays, and copies sent at once."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import AuditEntry, Event, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import CheckIn, Person
from app.domain.ops import IdempotencyConflict, OpsError
from app.domain.ops.checkins import check_in
from app.domain.staffing import assignments
from tests.factories import make_clerk, make_staffed_station

STOCKHOLM = ZoneInfo("Europe/Stockholm")
COORDINATOR = Actor(label="coordinator@lund.test")


@dataclass(frozen=True)
class OpsDay:
    """An election day's station with its team placed (accepted), all as plain ids so a
    refused service call (which rolls back) leaves nothing expired in the test."""

    election_id: int
    station_id: int
    early_id: int
    late_id: int
    chair_id: int
    clerk_ids: list[int]
    day: dt.date

    def at(self, hour: int, minute: int = 0, days: int = 0) -> dt.datetime:
        """A Stockholm wall-clock time on (or ``days`` from) election day."""
        return dt.datetime.combine(
            self.day + dt.timedelta(days=days), dt.time(hour, minute), STOCKHOLM
        )


async def ops_day(db: AsyncSession, tenant: Tenant, clerks: int = 2) -> OpsDay:
    """A station whose early shift (07:30-14:00, minimum: a chair and two clerks) has a
    chair and ``clerks`` clerks, every place accepted."""
    s = await make_staffed_station(db, tenant)
    chair = await make_clerk(db, tenant, s["election"])
    people = [await make_clerk(db, tenant, s["election"]) for _ in range(clerks)]
    with tenant_scope(tenant.id):
        for person, role in [(chair, "chair"), *((p, "clerk") for p in people)]:
            placed = await assignments.assign_person(
                db, Actor.system("test"), s["early"].id, s["roles"][role].id, person.id
            )
            placed.state = "accepted"
        await db.commit()
    return OpsDay(
        election_id=s["election"].id,
        station_id=s["station"].id,
        early_id=s["early"].id,
        late_id=s["late"].id,
        chair_id=chair.id,
        clerk_ids=[p.id for p in people],
        day=s["election"].election_day,
    )


async def link_user(db: AsyncSession, tenant: Tenant, person_id: int, user: User) -> None:
    """Give a person their portal account."""
    with tenant_scope(tenant.id):
        person = await db.scalar(select(Person).where(Person.id == person_id))
        assert person is not None
        person.user_id = user.id
        await db.commit()


async def count(db: AsyncSession, tenant: Tenant, model: Any, *where: Any) -> int:
    with tenant_scope(tenant.id):
        return int(await db.scalar(select(func.count(model.id)).where(*where)) or 0)


async def _check_in(
    db: AsyncSession,
    tenant: Tenant,
    day: OpsDay,
    person_id: int,
    key: str,
    kind: str = "arrived",
    actor: Actor = COORDINATOR,
    now: dt.datetime | None = None,
    **kwargs: Any,
) -> tuple[CheckIn, bool]:
    with tenant_scope(tenant.id):
        return await check_in(
            db,
            actor,
            person_id=person_id,
            shift_id=kwargs.pop("shift_id", day.early_id),
            kind=kind,
            idempotency_key=key,
            source=kwargs.pop("source", "coordinator"),
            now=now or day.at(7, 40),
            **kwargs,
        )


async def test_it_checks_a_clerk_in_and_out_and_announces_each(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    arrived, replayed = await _check_in(
        db, tenant, day, day.clerk_ids[0], "k-1", device_time=day.at(7, 39)
    )
    assert (arrived.kind, replayed, arrived.source) == ("arrived", False, "coordinator")
    assert arrived.checked_at == day.at(7, 40)
    assert arrived.device_time == day.at(7, 39)
    assert len(arrived.payload_hash) == 64
    left, _ = await _check_in(db, tenant, day, day.clerk_ids[0], "k-2", "left", now=day.at(13, 5))
    assert left.kind == "left"
    with tenant_scope(tenant.id):
        events = list(await db.scalars(select(Event).order_by(Event.id)))
        codes = list(await db.scalars(select(AuditEntry.code).where(AuditEntry.code.like("ops.%"))))
    assert [e.type for e in events] == ["checkin.arrived"] * 2 + ["checkin.left"] * 2
    assert {e.topic for e in events} == {
        f"t:{tenant.id}:e:{day.election_id}:ops",
        f"t:{tenant.id}:station:{day.station_id}",
    }
    assert events[0].payload["person_id"] == day.clerk_ids[0]
    assert codes == ["ops.checkin.arrived", "ops.checkin.left"]


async def test_it_replays_the_same_key_and_body_without_a_new_row_or_event(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    first, _ = await _check_in(db, tenant, day, day.clerk_ids[0], "same", device_time=day.at(7, 39))
    # The same moment written in UTC is the same body.
    again, replayed = await _check_in(
        db,
        tenant,
        day,
        day.clerk_ids[0],
        "same",
        device_time=day.at(7, 39).astimezone(dt.UTC),
        now=day.at(7, 45),
    )
    assert replayed and again.id == first.id
    assert await count(db, tenant, CheckIn) == 1
    assert await count(db, tenant, Event) == 2


async def test_it_refuses_the_same_key_with_another_body(db: AsyncSession, tenant: Tenant) -> None:
    day = await ops_day(db, tenant)
    await _check_in(db, tenant, day, day.clerk_ids[0], "reused")
    with locale_scope("en"), pytest.raises(IdempotencyConflict) as caught:
        await _check_in(db, tenant, day, day.clerk_ids[1], "reused")
    assert caught.value.status == 422 and caught.value.field == "idempotency_key"
    assert await count(db, tenant, CheckIn) == 1


async def test_it_refuses_someone_without_a_place_on_the_shift(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    with locale_scope("en"), pytest.raises(OpsError, match="no place on this shift"):
        await _check_in(db, tenant, day, day.clerk_ids[0], "k", shift_id=day.late_id)
    stranger = await make_clerk(db, tenant, await _election(db, tenant, day))
    with locale_scope("en"), pytest.raises(OpsError):
        await _check_in(db, tenant, day, stranger.id, "k2")


async def _election(db: AsyncSession, tenant: Tenant, day: OpsDay) -> Any:
    from app.domain.models import Election

    with tenant_scope(tenant.id):
        return await db.scalar(select(Election).where(Election.id == day.election_id))


async def test_it_takes_check_ins_only_on_the_shifts_day_from_two_hours_before(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    with locale_scope("en"), pytest.raises(OpsError, match="05:30"):
        await _check_in(db, tenant, day, day.clerk_ids[0], "a", now=day.at(5, 29))
    with locale_scope("en"), pytest.raises(OpsError):
        await _check_in(db, tenant, day, day.clerk_ids[0], "b", now=day.at(9, 0, days=-1))
    with locale_scope("en"), pytest.raises(OpsError):
        await _check_in(db, tenant, day, day.clerk_ids[0], "c", now=day.at(0, 1, days=1))
    early, _ = await _check_in(db, tenant, day, day.clerk_ids[0], "d", now=day.at(5, 30))
    assert early.kind == "arrived"
    assert await count(db, tenant, Event) == 2


async def test_it_lets_leave_only_after_arriving_and_not_arrive_twice(
    db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    with locale_scope("en"), pytest.raises(OpsError, match="not checked in yet"):
        await _check_in(db, tenant, day, day.clerk_ids[0], "l1", "left")
    await _check_in(db, tenant, day, day.clerk_ids[0], "a1")
    with locale_scope("en"), pytest.raises(OpsError, match="already checked in"):
        await _check_in(db, tenant, day, day.clerk_ids[0], "a2")
    await _check_in(db, tenant, day, day.clerk_ids[0], "l2", "left", now=day.at(11, 0))
    back, _ = await _check_in(db, tenant, day, day.clerk_ids[0], "a3", now=day.at(11, 30))
    assert back.kind == "arrived"


async def test_it_lets_a_clerk_check_in_only_themselves(
    db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    day = await ops_day(db, tenant)
    await link_user(db, tenant, day.clerk_ids[0], clerk)
    me = Actor.for_user(clerk)
    with locale_scope("en"), pytest.raises(NotFound):
        await _check_in(db, tenant, day, day.clerk_ids[1], "x", actor=me, source="portal")
    mine, _ = await _check_in(db, tenant, day, day.clerk_ids[0], "y", actor=me, source="portal")
    assert (mine.source, mine.created_by_label) == ("portal", clerk.email)


async def test_it_lets_the_station_lead_check_in_the_team(
    db: AsyncSession, tenant: Tenant, clerk: User
) -> None:
    day = await ops_day(db, tenant)
    await link_user(db, tenant, day.chair_id, clerk)
    done, _ = await _check_in(
        db, tenant, day, day.clerk_ids[1], "lead", actor=Actor.for_user(clerk), source="portal"
    )
    assert done.person_id == day.clerk_ids[1]


async def test_it_gives_an_outsider_not_found(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, outsider: User
) -> None:
    day = await ops_day(db, tenant)
    with tenant_scope(other_tenant.id), locale_scope("en"), pytest.raises(NotFound):
        await check_in(
            db,
            Actor.for_user(outsider),
            person_id=day.clerk_ids[0],
            shift_id=day.early_id,
            kind="arrived",
            idempotency_key="k",
            source="api",
            now=day.at(8, 0),
        )
    assert await count(db, tenant, CheckIn) == 0


async def test_it_refuses_a_missing_key_and_an_unknown_kind(
    db: AsyncSession, tenant: Tenant
) -> None:
    from app.core.validation import FieldErrors

    day = await ops_day(db, tenant)
    with locale_scope("en"), pytest.raises(FieldErrors) as caught:
        await _check_in(db, tenant, day, day.clerk_ids[0], " ", "gone")
    assert set(caught.value.errors) == {"idempotency_key", "kind"}


async def test_it_makes_one_row_of_the_same_key_sent_three_times_at_once(
    session_factory: async_sessionmaker[AsyncSession], db: AsyncSession, tenant: Tenant
) -> None:
    day = await ops_day(db, tenant)
    start = asyncio.Event()

    async def send() -> tuple[int, bool]:
        with tenant_scope(tenant.id):
            async with session_factory() as session:
                await start.wait()
                row, replayed = await check_in(
                    session,
                    COORDINATOR,
                    person_id=day.clerk_ids[0],
                    shift_id=day.early_id,
                    kind="arrived",
                    idempotency_key="phone-1",
                    source="api",
                    now=day.at(7, 50),
                )
                return row.id, replayed

    tasks = [asyncio.create_task(send()) for _ in range(3)]
    await asyncio.sleep(0.05)
    start.set()
    results = await asyncio.gather(*tasks)
    assert len({row_id for row_id, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False, True, True]
    assert await count(db, tenant, CheckIn) == 1
    assert await count(db, tenant, Event) == 2


async def test_it_leaves_the_last_word_on_a_reused_key_to_the_unique_index(
    db: AsyncSession, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy that slipped past both reads of the key (on PostgreSQL: the same key sent
    at once for another place, under another lock) is still refused by the database."""
    from app.domain.ops import checkins

    day = await ops_day(db, tenant)
    await _check_in(db, tenant, day, day.clerk_ids[0], "slipped")
    real_stored = checkins._stored
    reads: list[str] = []

    async def blind_twice(session: AsyncSession, key: str) -> CheckIn | None:
        reads.append(key)
        return None if len(reads) <= 2 else await real_stored(session, key)

    monkeypatch.setattr(checkins, "_stored", blind_twice)
    with locale_scope("en"), pytest.raises(IdempotencyConflict):
        await _check_in(db, tenant, day, day.clerk_ids[0], "slipped", "left")
    assert len(reads) == 3  # read again after the index refused the row
    await db.refresh(tenant)  # the refused insert rolled the session back
    assert await count(db, tenant, CheckIn) == 1
    assert await count(db, tenant, Event) == 2
