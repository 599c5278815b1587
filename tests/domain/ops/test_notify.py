"""Election-day pushes to station leads and coordinators: someone sent to a station (or
in place of someone who has not come), and stations not open at their opening time,
found by the minute job exactly once. Recipients are checked by the outbox rows; one
test goes on through the outbox to a local push service and decrypts what arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.models import AuditEntry, OutboxMessage, Tenant, User
from app.core.outbox import push
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment, Election, Reserve, RoleType, Shift, StationOpening
from app.domain.ops.opening_watch import AUDIT_CODE, alert_late_openings
from app.domain.ops.reassign import reassign
from app.domain.ops.stations import set_station_state
from app.domain.staffing import assignments
from app.jobs.opening_watch import watch_openings_everywhere
from tests.core.test_push import (  # noqa: F401  (fixtures)
    Browser,
    NoMail,
    PushService,
    _deliver,
    push_service,
    settings,
)
from tests.domain.ops.test_checkins import OpsDay, _check_in, link_user, ops_day
from tests.factories import make_clerk, make_staffed_station, make_user


@dataclass
class Phones:
    """Who has a subscribed browser, by a name the outbox rows are traced back with."""

    by_subscription: dict[int, str]

    def names(self, rows: list[OutboxMessage]) -> list[str]:
        return sorted(self.by_subscription[int(r.recipient.rsplit(":", 1)[1])] for r in rows)


async def _subscribe(db: AsyncSession, tenant: Tenant, user: User, name: str) -> int:
    """A subscribed browser for the user; the endpoint is never posted to here."""
    user.locale = "en"
    await db.commit()
    data = Browser.make().subscription(f"https://fcm.googleapis.com/fcm/send/{name}")
    with tenant_scope(tenant.id):
        info = push.parse_subscription(data)
        return (await push.save_subscription(db, user.id, info, "Test")).id


async def _person_with_user(
    db: AsyncSession, tenant: Tenant, day: OpsDay, person_id: int | None = None
) -> tuple[int, User]:
    """A person of the election (new, or ``person_id``) with a clerk's account."""
    if person_id is None:
        person_id = int((await make_clerk(db, tenant, await _election(db, tenant, day))).id)
    user = await make_user(db, tenant, "clerk")
    await link_user(db, tenant, person_id, user)
    return person_id, user


async def _election(db: AsyncSession, tenant: Tenant, day: OpsDay) -> Election:
    with tenant_scope(tenant.id):
        election = await db.scalar(select(Election).where(Election.id == day.election_id))
    assert election is not None
    return election


async def _role_id(db: AsyncSession, tenant: Tenant, code: str) -> int:
    with tenant_scope(tenant.id):
        role_id = await db.scalar(select(RoleType.id).where(RoleType.code == code))
    assert role_id is not None
    return int(role_id)


async def _place(db: AsyncSession, tenant: Tenant, shift_id: int, role: str, person_id: int) -> int:
    with tenant_scope(tenant.id):
        placed = await assignments.assign_person(
            db, Actor.system("test"), shift_id, await _role_id(db, tenant, role), person_id
        )
        placed.state = "accepted"
        await db.commit()
        return int(placed.id)


async def _reserve(db: AsyncSession, tenant: Tenant, day: OpsDay) -> tuple[int, User]:
    person_id, user = await _person_with_user(db, tenant, day)
    with tenant_scope(tenant.id):
        db.add(Reserve(election_id=day.election_id, person_id=person_id))
        await db.commit()
    return person_id, user


async def _pushes(db: AsyncSession) -> list[OutboxMessage]:
    rows = await db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.channel == "push")
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


def _payload(row: OutboxMessage) -> dict[str, Any]:
    return dict(json.loads(row.body_text))


@dataclass
class Scene:
    """Hamnskolan (the station acted on) with a chair on the early shift and a vice chair
    on the late one; Biblioteket, another station of the election, with its own chair;
    a clerk of Hamnskolan's team; a coordinator; an outsider of another municipality.
    Each of them has a subscribed phone."""

    day: OpsDay
    other_station_id: int
    phones: Phones
    chair: User
    vice_chair: User
    clerk: User
    clerk_assignment_id: int
    coordinator: User


async def _scene(
    db: AsyncSession, tenant: Tenant, coordinator: User, other_tenant: Tenant, outsider: User
) -> Scene:
    day = await ops_day(db, tenant, clerks=1)
    other = await make_staffed_station(db, tenant, await _election(db, tenant, day), "Biblioteket")
    _chair_id, chair = await _person_with_user(db, tenant, day, day.chair_id)
    vice_id, vice_chair = await _person_with_user(db, tenant, day)
    await _place(db, tenant, day.late_id, "vice_chair", vice_id)
    _clerk_id, clerk = await _person_with_user(db, tenant, day, day.clerk_ids[0])
    with tenant_scope(tenant.id):
        clerk_assignment_id = await db.scalar(
            select(Assignment.id).where(Assignment.person_id == day.clerk_ids[0])
        )
    assert clerk_assignment_id is not None
    other_chair_id, other_chair = await _person_with_user(db, tenant, day)
    await _place(db, tenant, other["early"].id, "chair", other_chair_id)
    phones: dict[int, str] = {}
    for user, name in [
        (chair, "chair"),
        (vice_chair, "vice_chair"),
        (clerk, "clerk"),
        (other_chair, "other_chair"),
        (coordinator, "coordinator"),
    ]:
        phones[await _subscribe(db, tenant, user, name)] = name
    # An administrator of another municipality coordinates there: never pushed here.
    phones[await _subscribe(db, other_tenant, outsider, "outsider")] = "outsider"
    return Scene(
        day,
        int(other["station"].id),
        Phones(phones),
        chair,
        vice_chair,
        clerk,
        int(clerk_assignment_id),
        coordinator,
    )


# --- someone sent to a station ----------------------------------------------------------------


async def test_it_tells_the_leads_when_a_reserve_is_sent_to_their_station(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    other_tenant: Tenant,
    outsider: User,
    owner_db: AsyncSession,
) -> None:
    scene = await _scene(db, tenant, coordinator, other_tenant, outsider)
    reserve_id, reserve_user = await _reserve(db, tenant, scene.day)
    scene.phones.by_subscription[await _subscribe(db, tenant, reserve_user, "reserve")] = "reserve"
    with tenant_scope(tenant.id):
        placed = await reassign(
            db,
            Actor.for_user(coordinator),
            shift_id=scene.day.early_id,
            role_type_id=await _role_id(db, tenant, "clerk"),
            person_id=reserve_id,
        )
        placed_id = placed.id
    rows = await _pushes(owner_db)
    # The chair (early shift) and the vice chair (late shift) lead the station that day;
    # not the clerk, the other station's chair, the acting coordinator or the other
    # municipality. The reserve hears it in words for them (``reserve_notices``).
    assert scene.phones.names(rows) == ["chair", "reserve", "vice_chair"]
    by_name = {scene.phones.names([row])[0]: _payload(row) for row in rows}
    assert by_name.pop("reserve")["title"] == "You have been sent to Hamnskolan"
    for payload in by_name.values():
        assert payload == {
            "title": "Someone has been sent to Hamnskolan",
            "body": "Poll clerk on the shift Förmiddag.",
            "url": "/lund/portal/election-day",
            "tag": f"reassigned-{placed_id}",
        }


async def test_it_tells_a_lead_sent_to_a_station_in_their_own_words(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    other_tenant: Tenant,
    outsider: User,
    owner_db: AsyncSession,
) -> None:
    scene = await _scene(db, tenant, coordinator, other_tenant, outsider)
    reserve_id, reserve_user = await _reserve(db, tenant, scene.day)
    scene.phones.by_subscription[await _subscribe(db, tenant, reserve_user, "reserve")] = "reserve"
    with tenant_scope(tenant.id):
        late_shift = await db.scalar(
            select(Shift.id).where(
                Shift.station_id == scene.other_station_id, Shift.name == "Eftermiddag"
            )
        )
        assert late_shift is not None
        await reassign(
            db,
            Actor.system("api"),
            shift_id=late_shift,
            role_type_id=await _role_id(db, tenant, "vice_chair"),
            person_id=reserve_id,
        )
    rows = await _pushes(owner_db)
    # Biblioteket's leads now: its chair, and the reserve as vice chair, who is told
    # once, in words for them. Hamnskolan's leads hear nothing of it.
    assert scene.phones.names(rows) == ["other_chair", "reserve"]
    payloads = {scene.phones.names([row])[0]: _payload(row) for row in rows}
    assert payloads["other_chair"]["title"] == "Someone has been sent to Biblioteket"
    assert payloads["other_chair"]["body"] == "Vice chair on the shift Eftermiddag."
    assert payloads["reserve"]["title"] == "You have been sent to Biblioteket"
    assert (
        "you are sent to Biblioteket, vice chair 13:30-22:00 today" in (payloads["reserve"]["body"])
    )


async def test_it_tells_the_leads_of_a_replacement_for_someone_who_has_not_come(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    other_tenant: Tenant,
    outsider: User,
    owner_db: AsyncSession,
) -> None:
    scene = await _scene(db, tenant, coordinator, other_tenant, outsider)
    reserve_id, _reserve_user = await _reserve(db, tenant, scene.day)
    with tenant_scope(tenant.id):
        await reassign(
            db,
            Actor.for_user(coordinator),
            shift_id=scene.day.early_id,
            role_type_id=await _role_id(db, tenant, "clerk"),
            person_id=reserve_id,
            replace_assignment_id=scene.clerk_assignment_id,
        )
        absent = await db.get(Assignment, scene.clerk_assignment_id)
        assert absent is not None and absent.state == "withdrawn"
    rows = await _pushes(owner_db)
    # One push says both: a team member has not come, and who fills the place. The one
    # who has not come is not named on the leads' locked screens; they are told
    # themselves that their place has gone (``reserve_notices``).
    assert scene.phones.names(rows) == ["chair", "clerk", "vice_chair"]
    by_name = {scene.phones.names([row])[0]: _payload(row) for row in rows}
    assert by_name.pop("clerk")["title"] == "Your place at Hamnskolan has gone to someone else"
    for payload in by_name.values():
        assert payload["title"] == "Replacement sent to Hamnskolan"
        assert payload["body"] == (
            "In place of someone who has not come: Poll clerk on the shift Förmiddag."
        )
        assert scene.clerk.name not in payload["body"]


async def test_it_pushes_nothing_to_leads_who_have_no_phone_subscribed(
    db: AsyncSession, tenant: Tenant, coordinator: User, owner_db: AsyncSession
) -> None:
    day = await ops_day(db, tenant)
    await _person_with_user(db, tenant, day, day.chair_id)
    reserve_id, _user = await _reserve(db, tenant, day)
    with tenant_scope(tenant.id):
        await reassign(
            db,
            Actor.for_user(coordinator),
            shift_id=day.early_id,
            role_type_id=await _role_id(db, tenant, "clerk"),
            person_id=reserve_id,
        )
    assert await _pushes(owner_db) == []


# --- not open at opening time -------------------------------------------------------------


async def _opening(
    db: AsyncSession, tenant: Tenant, station_id: int, day: dt.date, opens: dt.time
) -> None:
    with tenant_scope(tenant.id):
        db.add(
            StationOpening(station_id=station_id, day=day, opens_at=opens, closes_at=dt.time(20))
        )
        await db.commit()


async def _open_station(
    db: AsyncSession, tenant: Tenant, station_id: int, now: dt.datetime
) -> None:
    with tenant_scope(tenant.id):
        await set_station_state(
            db, Actor.system("test"), station_id, "open", "Opened on paper.", now=now
        )


async def _told(db: AsyncSession, tenant: Tenant) -> int:
    with tenant_scope(tenant.id):
        return int(
            await db.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.code == AUDIT_CODE))
            or 0
        )


async def test_it_tells_leads_and_coordinators_once_of_a_station_not_open_in_time(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    other_tenant: Tenant,
    outsider: User,
    session_factory: async_sessionmaker[AsyncSession],
    owner_db: AsyncSession,
) -> None:
    scene = await _scene(db, tenant, coordinator, other_tenant, outsider)
    day = scene.day
    await _opening(db, tenant, day.station_id, day.day, dt.time(8))
    await _opening(db, tenant, scene.other_station_id, day.day, dt.time(8))
    await _open_station(db, tenant, scene.other_station_id, day.at(7, 58))

    # A few minutes' grace: a chair pressing "open" at 08:01 wakes nobody.
    assert await watch_openings_everywhere(session_factory, now=day.at(8, 4)) == {}
    assert await _pushes(owner_db) == []

    assert await watch_openings_everywhere(session_factory, now=day.at(8, 6)) == {"lund": 1}
    rows = await _pushes(owner_db)
    # Biblioteket opened in time: its chair hears nothing, and no coordinator of it.
    assert scene.phones.names(rows) == ["chair", "coordinator", "vice_chair"]
    by_name = {scene.phones.names([row])[0]: _payload(row) for row in rows}
    assert (
        by_name["chair"]
        == by_name["vice_chair"]
        == {
            "title": "Hamnskolan is not open",
            "body": "It should have opened at 08:00. Mark it open in the app, or report an incident.",
            "url": "/lund/portal/election-day",
            "tag": f"not-open-{day.station_id}-{day.day.isoformat()}",
        }
    )
    assert by_name["coordinator"] == {
        "title": "Hamnskolan is not open",
        "body": "It should have opened at 08:00.",
        "url": f"/lund/planning/elections/{day.election_id}/live?alerts=1",
        "tag": f"not-open-e{day.election_id}-{day.day.isoformat()}",
    }

    # The next minute, and the one after: nothing twice.
    assert await watch_openings_everywhere(session_factory, now=day.at(8, 7)) == {}
    with tenant_scope(tenant.id):
        assert await alert_late_openings(db, day.at(9, 30)) == []
    assert len(await _pushes(owner_db)) == 3
    assert await _told(db, tenant) == 1


async def test_it_sums_up_stations_late_at_once_in_one_push_per_coordinator(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    other_tenant: Tenant,
    outsider: User,
    session_factory: async_sessionmaker[AsyncSession],
    owner_db: AsyncSession,
) -> None:
    scene = await _scene(db, tenant, coordinator, other_tenant, outsider)
    day = scene.day
    await _opening(db, tenant, day.station_id, day.day, dt.time(8))
    await _opening(db, tenant, scene.other_station_id, day.day, dt.time(8))

    assert await watch_openings_everywhere(session_factory, now=day.at(8, 6)) == {"lund": 2}
    rows = await _pushes(owner_db)
    # Each station's leads about their own station; the coordinator once about both.
    assert scene.phones.names(rows) == ["chair", "coordinator", "other_chair", "vice_chair"]
    to_coordinator = next(r for r in rows if scene.phones.names([r]) == ["coordinator"])
    assert _payload(to_coordinator)["title"] == "2 stations are not open"
    assert _payload(to_coordinator)["body"] == (
        "Not open at their opening time: Biblioteket, Hamnskolan."
    )
    to_other_chair = next(r for r in rows if scene.phones.names([r]) == ["other_chair"])
    assert _payload(to_other_chair)["title"] == "Biblioteket is not open"


async def test_it_pushes_nothing_when_the_station_opened_in_time(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    other_tenant: Tenant,
    outsider: User,
    session_factory: async_sessionmaker[AsyncSession],
    owner_db: AsyncSession,
) -> None:
    scene = await _scene(db, tenant, coordinator, other_tenant, outsider)
    day = scene.day
    await _opening(db, tenant, day.station_id, day.day, dt.time(8))
    await _check_in(db, tenant, day, day.chair_id, "chair", now=day.at(7, 30))
    await _open_station(db, tenant, day.station_id, day.at(7, 59))
    for minute in (6, 30):
        assert await watch_openings_everywhere(session_factory, now=day.at(8, minute)) == {}
    # Nor after closing time, nor the day before.
    assert await watch_openings_everywhere(session_factory, now=day.at(20, 5)) == {}
    assert await watch_openings_everywhere(session_factory, now=day.at(8, 6, days=-1)) == {}
    assert await _pushes(owner_db) == []
    assert await _told(db, tenant) == 0


async def test_it_tells_of_a_late_station_once_when_two_workers_look_at_once(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    other_tenant: Tenant,
    outsider: User,
    session_factory: async_sessionmaker[AsyncSession],
    owner_db: AsyncSession,
) -> None:
    scene = await _scene(db, tenant, coordinator, other_tenant, outsider)
    day = scene.day
    await _opening(db, tenant, day.station_id, day.day, dt.time(8))
    await _opening(db, tenant, scene.other_station_id, day.day, dt.time(8))
    start = asyncio.Event()

    async def worker() -> dict[str, int]:
        await start.wait()
        return await watch_openings_everywhere(session_factory, now=day.at(8, 6))

    tasks = [asyncio.create_task(worker()) for _ in range(3)]
    await asyncio.sleep(0.05)
    start.set()
    results = await asyncio.gather(*tasks)
    assert sum(result.get("lund", 0) for result in results) == 2
    rows = await _pushes(owner_db)
    assert scene.phones.names(rows) == ["chair", "coordinator", "other_chair", "vice_chair"]
    assert await _told(db, tenant) == 2


async def test_it_delivers_the_not_open_push_to_the_chairs_phone(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    settings: Settings,  # noqa: F811
    session_factory: async_sessionmaker[AsyncSession],
    push_service: PushService,  # noqa: F811
) -> None:
    day = await ops_day(db, tenant)
    _person, chair = await _person_with_user(db, tenant, day, day.chair_id)
    chair.locale = "en"
    await db.commit()
    with tenant_scope(tenant.id):
        info = push.parse_subscription(push_service.subscribe("chair"), allow_loopback=True)
        await push.save_subscription(db, chair.id, info, "Chair's phone")
    await _opening(db, tenant, day.station_id, day.day, dt.time(8))

    assert await watch_openings_everywhere(session_factory, now=day.at(8, 10)) == {"lund": 1}
    assert await _deliver(session_factory, settings) == 1

    [received] = push_service.received
    assert received["path"] == "/push/chair"
    push_service.verify_vapid(received["headers"])
    assert push_service.decrypt(received) == {
        "title": "Hamnskolan is not open",
        "body": "It should have opened at 08:00. Mark it open in the app, or report an incident.",
        "url": "/lund/portal/election-day",
        "tag": f"not-open-{day.station_id}-{day.day.isoformat()}",
    }
    # Delivered once: the next minute queues and sends nothing.
    assert await watch_openings_everywhere(session_factory, now=day.at(8, 11)) == {}
    assert await _deliver(session_factory, settings) == 0
    assert len(push_service.received) == 1


async def test_it_runs_the_opening_watch_in_the_workers_loop(
    session_factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.jobs import outbox

    looked = asyncio.Event()

    async def watch(factory: async_sessionmaker[AsyncSession]) -> dict[str, int]:
        assert factory is session_factory
        looked.set()
        return {}

    monkeypatch.setattr(outbox, "watch_openings_everywhere", watch)
    worker = outbox.OutboxWorker(session_factory, NoMail(), interval=0.01)  # type: ignore[arg-type]
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(looked.wait(), timeout=10)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
