"""On election day the person a coordinator sends, and the one whose place they take,
are told themselves: by SMS (through a local 46elks-style gateway here) and by web push
on their subscribed phones (decrypted at a local push service); the erased never."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant, User, utcnow
from app.core.outbox import push
from app.core.outbox.sms import HttpSmsTransport
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.domain.models import Person
from app.domain.ops.reassign import reassign
from app.jobs.outbox import deliver_due
from tests.core.test_push import NoMail, PushService, push_service, settings  # noqa: F401
from tests.domain.ops.test_checkins import ops_day
from tests.domain.ops.test_notify import _person_with_user, _reserve, _role_id
from tests.jobs.test_sms import Gateway, _gateway_settings, gateway  # noqa: F401


async def _mobile(db: AsyncSession, tenant: Tenant, person_id: int, mobile: str) -> None:
    with tenant_scope(tenant.id):
        person = await db.get(Person, person_id)
        assert person is not None
        person.mobile = mobile
        await db.commit()


async def _phone(
    db: AsyncSession, tenant: Tenant, user: User, service: PushService, name: str
) -> None:
    user.locale = "sv"
    await db.commit()
    with tenant_scope(tenant.id):
        info = push.parse_subscription(service.subscribe(name), allow_loopback=True)
        await push.save_subscription(db, user.id, info, name)


async def test_it_tells_the_reserve_and_the_one_replaced_by_sms_and_push(
    db: AsyncSession,
    tenant: Tenant,
    coordinator: User,
    settings: Settings,  # noqa: F811
    session_factory: async_sessionmaker[AsyncSession],
    push_service: PushService,  # noqa: F811
    gateway: Gateway,  # noqa: F811
) -> None:
    day = await ops_day(db, tenant, clerks=1)
    absent_id, absent_user = await _person_with_user(db, tenant, day, day.clerk_ids[0])
    reserve_id, reserve_user = await _reserve(db, tenant, day)
    await _mobile(db, tenant, absent_id, "+46701110001")
    await _mobile(db, tenant, reserve_id, "+46701110002")
    await _phone(db, tenant, absent_user, push_service, "absent")
    await _phone(db, tenant, reserve_user, push_service, "reserve")
    with tenant_scope(tenant.id):
        from app.domain.models import Assignment

        absent_place = await db.scalar(
            select(Assignment.id).where(Assignment.person_id == absent_id)
        )
        placed = await reassign(
            db,
            Actor.for_user(coordinator),
            shift_id=day.early_id,
            role_type_id=await _role_id(db, tenant, "clerk"),
            person_id=reserve_id,
            replace_assignment_id=absent_place,
        )
        placed_id = placed.id
    sms = HttpSmsTransport(_gateway_settings(settings, gateway))
    transport = push.WebPushTransport(settings, session_factory)
    assert await deliver_due(session_factory, NoMail(), sms=sms, push=transport) == 4  # type: ignore[arg-type]

    texts = {request["form"]["to"]: request["form"]["message"] for request in gateway.received}
    assert set(texts) == {"+46701110001", "+46701110002"}
    assert texts["+46701110002"].startswith("Lunds kommun: du skickas till Hamnskolan, ")
    assert "röstmottagare 07:30-14:00 i dag" in texts["+46701110002"]
    assert texts["+46701110001"].startswith("Lunds kommun: du har inte checkat in i Hamnskolan")
    pushes = {r["path"].rsplit("/", 1)[1]: push_service.decrypt(r) for r in push_service.received}
    assert pushes["reserve"]["title"] == "Du har skickats till Hamnskolan"
    assert pushes["reserve"]["body"] == texts["+46701110002"]
    assert pushes["reserve"]["tag"] == f"reserve_sent-{placed_id}"
    assert pushes["absent"]["title"] == "Din plats i Hamnskolan har gått till någon annan"
    assert pushes["absent"]["url"] == "/lund/portal/election-day"
    # Told once: delivering again sends nothing more.
    assert await deliver_due(session_factory, NoMail(), sms=sms, push=transport) == 0  # type: ignore[arg-type]


async def test_it_tells_an_erased_person_nothing(
    db: AsyncSession, tenant: Tenant, coordinator: User, owner_db: AsyncSession
) -> None:
    day = await ops_day(db, tenant, clerks=1)
    absent_id = day.clerk_ids[0]
    await _mobile(db, tenant, absent_id, "+46701110003")
    reserve_id, _user = await _reserve(db, tenant, day)
    with tenant_scope(tenant.id):
        from app.domain.models import Assignment

        person = await db.get(Person, absent_id)
        assert person is not None
        person.erased_at = utcnow()
        await db.commit()
        absent_place = await db.scalar(
            select(Assignment.id).where(Assignment.person_id == absent_id)
        )
        await reassign(
            db,
            Actor.for_user(coordinator),
            shift_id=day.early_id,
            role_type_id=await _role_id(db, tenant, "clerk"),
            person_id=reserve_id,
            replace_assignment_id=absent_place,
        )
    rows: Any = await owner_db.scalars(
        select(OutboxMessage.recipient)
        .where(OutboxMessage.channel == "sms")
        .execution_options(all_tenants=True)
    )
    # The reserve (no mobile here) and the erased person: no text at all.
    assert list(rows) == []
