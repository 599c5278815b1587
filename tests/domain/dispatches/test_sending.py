"""Sending a dispatch: the frozen list, who is left out and why, each message once
whatever happens, scheduled and cancelled, sent again to the failed."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import OutboxMessage, Tenant, utcnow
from app.core.tenancy import tenant_scope
from app.domain.dispatches import DispatchError
from app.domain.dispatches import status as dispatch_status
from app.domain.dispatches.filters import RecipientFilter, resolve
from app.domain.dispatches.queueing import claim, queue_waiting, write_frozen_list
from app.domain.dispatches.sending import (
    cancel_dispatch,
    create_dispatch,
    freeze_and_queue,
    resend_failed,
    send_dispatch,
)
from app.domain.models import Dispatch, DispatchRecipient, Person
from app.jobs.dispatches import send_due_everywhere
from tests.domain.dispatches.helpers import ACTOR, draft, make_dispatch, world

BASE = "http://stemma.test"


async def _outbox(db: AsyncSession) -> list[OutboxMessage]:
    return list(
        await db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.dispatch_recipient_id.is_not(None))
            .order_by(OutboxMessage.recipient)
            .execution_options(populate_existing=True)
        )
    )


async def test_it_freezes_the_list_and_queues_each_message_in_the_recipients_language(
    db: AsyncSession, tenant: Tenant
) -> None:
    w = await world(db, tenant)
    dispatch = await make_dispatch(
        db, tenant, election_id=w["election"].id, states=["accepted", "offered"],
        sms_en="Hi {{ person.first_name }}, see you at {{ station.name }}, {{ shift.starts }}.",
    )  # fmt: skip
    dispatch_id = dispatch.id
    assert dispatch.state == "draft"
    with tenant_scope(tenant.id):
        sent = await send_dispatch(db, ACTOR, dispatch_id, BASE)
        assert sent.state == "sent" and sent.sent_at is not None
        messages = await _outbox(db)
        by_address = {m.recipient: m for m in messages}
        # Alva: mail and SMS; Bo: mail only (no mobile); Gun: English; Eva: erased.
        assert sorted(by_address) == [
            "+46701111111", "+46701111117", "alva@example.se", "bo@example.se", "gun@example.se",
        ]  # fmt: skip
        assert by_address["+46701111111"].body_text == "Hej Alva! Vi ses på Hamnskolan."
        assert by_address["+46701111117"].body_text == "Hi Gun, see you at Bergsskolan, 07:00."
        # Gun wrote no English mail: the Swedish one is sent.
        mail = by_address["gun@example.se"]
        assert mail.subject == "Hej Gun" and "Bergsskolan" in mail.body_text
        assert mail.body_html and "Lunds kommun" in mail.body_html
        alva = w["people"]["Alva"].id
        assert (
            by_address["alva@example.se"].idempotency_key == f"dispatch:{dispatch_id}:{alva}:email"
        )
        left = {
            (r.name, r.channel): r.left_out
            for r in await db.scalars(
                select(DispatchRecipient).where(DispatchRecipient.left_out.is_not(None))
            )
        }
        assert left == {
            ("Bo Test", "sms"): "no_mobile",
            ("Eva Test", "email"): "erased",
            ("Eva Test", "sms"): "erased",
        }
        counts = await dispatch_status.counts(db, sent)
        assert counts.total("queued") == 5 and counts.total("left_out") == 3
        assert counts.channel("email") == 3 and counts.channel("sms") == 2
        # The list is frozen: someone accepting afterwards is not added.
        await db.execute(update(Person).where(Person.id == alva).values(first_name="Changed"))
        assert len(await _outbox(db)) == 5


async def test_a_second_click_or_a_second_send_queues_nothing_twice(
    db: AsyncSession, tenant: Tenant
) -> None:
    w = await world(db, tenant)
    with tenant_scope(tenant.id):
        same = draft(election_id=w["election"].id)
        first = await create_dispatch(db, ACTOR, same)
        again = await create_dispatch(db, ACTOR, same)
        assert again.id == first.id
        assert await db.scalar(select(func.count()).select_from(Dispatch)) == 1
        dispatch_id = first.id
        await send_dispatch(db, ACTOR, dispatch_id, BASE)
        await send_dispatch(db, ACTOR, dispatch_id, BASE)
        assert await freeze_and_queue(db, ACTOR, dispatch_id, ("draft", "scheduled"), BASE) == 0
        assert await queue_waiting(db, dispatch_id, BASE) == 0
        # Alva's and Gun's mail and SMS (Eva is erased).
        assert len(await _outbox(db)) == 4


async def test_a_worker_killed_while_queueing_is_resumed_without_duplicates(
    db: AsyncSession, tenant: Tenant
) -> None:
    w = await world(db, tenant)
    dispatch = await make_dispatch(
        db, tenant, election_id=w["election"].id, states=["accepted", "offered", "proposed"]
    )
    dispatch_id = dispatch.id
    with tenant_scope(tenant.id):
        from app.domain.dispatches import queueing

        queue = queueing.queue_waiting

        async def one_batch_then_die(session, dispatch_id, base_url, **_kw):  # type: ignore[no-untyped-def]
            await queue(session, dispatch_id, base_url, batch=2, max_batches=1)
            return 2

        import app.domain.dispatches.sending as sending

        sending.queue_waiting = one_batch_then_die  # type: ignore[assignment]
        try:
            await send_dispatch(db, ACTOR, dispatch_id, BASE)
        finally:
            sending.queue_waiting = queue  # type: ignore[assignment]
        stuck = await db.get(Dispatch, dispatch_id, populate_existing=True)
        assert stuck is not None and stuck.state == "queueing"
        assert len(await _outbox(db)) == 2
        # The next run finds it and queues the rest; a third finds nothing to do.
        assert await queue_waiting(db, dispatch_id, BASE, batch=2) == 4
        assert await queue_waiting(db, dispatch_id, BASE) == 0
        messages = await _outbox(db)
        assert len(messages) == 6
        assert len({m.idempotency_key for m in messages}) == 6
        done = await db.get(Dispatch, dispatch_id, populate_existing=True)
        assert done is not None and done.state == "sent"


async def test_it_schedules_and_cancels_and_refuses_a_time_past(
    db: AsyncSession, tenant: Tenant
) -> None:
    w = await world(db, tenant)
    dispatch = await make_dispatch(db, tenant, election_id=w["election"].id)
    dispatch_id = dispatch.id
    with tenant_scope(tenant.id):
        with pytest.raises(DispatchError) as refused:
            await send_dispatch(
                db, ACTOR, dispatch_id, BASE, send_at=utcnow() - dt.timedelta(hours=1)
            )
        assert refused.value.field == "send_at"
        again = await db.get(Dispatch, dispatch_id, populate_existing=True)
        assert again is not None and again.state == "draft"
        when = utcnow() + dt.timedelta(hours=2)
        scheduled = await send_dispatch(db, ACTOR, dispatch_id, BASE, send_at=when)
        assert scheduled.state == "scheduled" and scheduled.send_at == when
        assert await _outbox(db) == []
        assert await db.scalar(select(func.count()).select_from(DispatchRecipient)) == 0
        cancelled = await cancel_dispatch(db, ACTOR, dispatch_id)
        assert cancelled.state == "cancelled"
        # The worker's time comes: a cancelled dispatch is not sent.
        assert await freeze_and_queue(db, ACTOR, dispatch_id, ("scheduled",), BASE) == 0
        assert await _outbox(db) == []


async def test_a_sent_dispatch_cannot_be_cancelled(db: AsyncSession, tenant: Tenant) -> None:
    w = await world(db, tenant)
    dispatch = await make_dispatch(db, tenant, election_id=w["election"].id)
    dispatch_id = dispatch.id
    with tenant_scope(tenant.id):
        await send_dispatch(db, ACTOR, dispatch_id, BASE)
        with pytest.raises(DispatchError):
            await cancel_dispatch(db, ACTOR, dispatch_id)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"states": ["declined"], "district_id": "D2"}, "district_id"),
        ({"states": ["declined"], "station_id": "0", "role_type_id": "999999"}, "role_type_id"),
        ({"email_sv": "", "subject_sv": ""}, "email_sv"),
        ({"sms_sv": ""}, "sms_sv"),
        ({"email_sv": "Hej {{ person.secret }}"}, "email_sv"),
        ({"sms_sv": "Hej {{ person.first_name "}, "sms_sv"),
        ({"subject_sv": ""}, "subject_sv"),
        ({"title": ""}, "title"),
        ({"channels": ["fax"]}, "channels"),
        ({"sms_sv": "x" * 1601}, "sms_sv"),
    ],
)
async def test_bad_input_is_refused_at_its_field_and_writes_nothing(
    db: AsyncSession, tenant: Tenant, fields: dict[str, object], field: str
) -> None:
    w = await world(db, tenant)
    with tenant_scope(tenant.id), pytest.raises(DispatchError) as refused:
        await make_dispatch(db, tenant, election_id=w["election"].id, **fields)
    assert refused.value.field == field
    assert refused.value.message
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count()).select_from(Dispatch)) == 0


async def test_an_empty_group_is_refused(db: AsyncSession, tenant: Tenant) -> None:
    w = await world(db, tenant)
    with tenant_scope(tenant.id), pytest.raises(DispatchError) as refused:
        await make_dispatch(db, tenant, election_id=w["election"].id, day="2020-01-01")
    assert refused.value.field == "group"
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count()).select_from(Dispatch)) == 0


async def test_it_sends_again_to_the_failed_on_the_channel_that_failed(
    db: AsyncSession, tenant: Tenant
) -> None:
    w = await world(db, tenant)
    dispatch = await make_dispatch(db, tenant, election_id=w["election"].id)
    dispatch_id = dispatch.id
    with tenant_scope(tenant.id):
        await send_dispatch(db, ACTOR, dispatch_id, BASE)
        with pytest.raises(DispatchError):
            await resend_failed(db, ACTOR, dispatch_id, secrets.token_urlsafe(16))
        # Alva's SMS fails at the gateway; Gun's mail is refused by the mail server.
        await db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.recipient == "+46701111111")
            .values(status="sent", delivery_state="failed", delivery_detail="unreachable")
        )
        await db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.recipient == "gun@example.se")
            .values(status="failed", delivery_state="refused")
        )
        await db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.recipient == "alva@example.se")
            .values(status="sent", delivery_state="delivered")
        )
        await db.commit()
        original = await db.get(Dispatch, dispatch_id)
        assert original is not None
        counts = await dispatch_status.counts(db, original)
        assert counts.failed == 2 and counts.total("delivered") == 1
        assert counts.total("queued") == 1
        failed = await dispatch_status.recipients(db, original, ["failed", "refused"], 1)
        assert [(r.name, r.channel, r.detail) for r in failed.recipients] == [
            ("Alva Test", "sms", "unreachable"),
            ("Gun Test", "email", None),
        ]
        key = secrets.token_urlsafe(16)
        again = await resend_failed(db, ACTOR, dispatch_id, key)
        assert (await resend_failed(db, ACTOR, dispatch_id, key)).id == again.id
        assert again.resend_of_id == dispatch_id and again.state == "draft"
        await send_dispatch(db, ACTOR, again.id, BASE)
        resent = list(
            await db.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.idempotency_key.like(f"dispatch:{again.id}:%")
                )
            )
        )
        assert sorted(m.recipient for m in resent) == ["+46701111111", "gun@example.se"]


async def test_two_senders_at_once_queue_each_message_once(
    db: AsyncSession, tenant: Tenant, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Two clicks (or a click and the worker) racing on separate connections: one
    claims and freezes, the other finds it taken; then two workers queue the same
    frozen list in small batches at once."""
    w = await world(db, tenant)
    dispatch = await make_dispatch(
        db, tenant, election_id=w["election"].id, states=["accepted", "offered", "proposed"]
    )
    dispatch_id = dispatch.id
    start = asyncio.Event()

    async def send() -> None:
        with tenant_scope(tenant.id):
            async with session_factory() as session:
                await start.wait()
                await send_dispatch(session, ACTOR, dispatch_id, BASE)

    tasks = [asyncio.create_task(send()) for _ in range(2)]
    await asyncio.sleep(0.05)
    start.set()
    await asyncio.gather(*tasks)
    with tenant_scope(tenant.id):
        assert await db.scalar(select(func.count()).select_from(DispatchRecipient)) == 10
        assert len(await _outbox(db)) == 6

    second = await make_dispatch(
        db, tenant, election_id=w["election"].id, states=["accepted", "offered", "proposed"]
    )
    second_id = second.id
    with tenant_scope(tenant.id):
        assert await claim(db, second_id, ("draft",))
        await write_frozen_list(
            db, second, await resolve(db, RecipientFilter.from_mapping(second.filters))
        )
        await db.commit()
    start = asyncio.Event()

    async def work() -> int:
        with tenant_scope(tenant.id):
            async with session_factory() as session:
                await start.wait()
                return await queue_waiting(session, second_id, BASE, batch=1)

    workers = [asyncio.create_task(work()) for _ in range(2)]
    await asyncio.sleep(0.05)
    start.set()
    done = await asyncio.gather(*workers)
    assert sum(done) == 6
    with tenant_scope(tenant.id):
        keys = [
            m.idempotency_key
            for m in await _outbox(db)
            if m.idempotency_key.startswith(f"dispatch:{second_id}:")
        ]
        assert len(keys) == len(set(keys)) == 6


async def test_the_worker_sends_a_scheduled_dispatch_when_its_time_comes(
    db: AsyncSession, tenant: Tenant, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    w = await world(db, tenant)
    dispatch = await make_dispatch(db, tenant, election_id=w["election"].id)
    dispatch_id = dispatch.id
    with tenant_scope(tenant.id):
        await send_dispatch(db, ACTOR, dispatch_id, BASE, send_at=utcnow() + dt.timedelta(hours=1))
    # Not yet: nothing is queued.
    assert await send_due_everywhere(session_factory, BASE) == 0
    with tenant_scope(tenant.id):
        await db.execute(
            update(Dispatch).where(Dispatch.id == dispatch_id).values(send_at=utcnow())
        )
        await db.commit()
    assert await send_due_everywhere(session_factory, BASE) == 4
    assert await send_due_everywhere(session_factory, BASE) == 0
    with tenant_scope(tenant.id):
        sent = await db.get(Dispatch, dispatch_id, populate_existing=True)
        assert sent is not None and sent.state == "sent"
        assert len(await _outbox(db)) == 4


async def test_it_sends_the_offices_own_template_in_each_recipients_language(
    db: AsyncSession, tenant: Tenant
) -> None:
    from app.domain.messaging.editing import create_own, save_text

    w = await world(db, tenant)
    with tenant_scope(tenant.id):
        own = await create_own(db, ACTOR, {"name": "Kallelse", "channels": ["sms"]})
        await save_text(
            db,
            ACTOR,
            own.key,
            "sms",
            "sv",
            {"body": "Hej {{ person.first_name }}, {{ station.name }}!"},
        )
        await save_text(db, ACTOR, own.key, "sms", "en", {"body": "Hi {{ person.first_name }}!"})
        with pytest.raises(DispatchError) as refused:
            await create_dispatch(
                db, ACTOR, draft(election_id=w["election"].id, message_key=own.key)
            )
        assert refused.value.field == "message_key"  # it has no e-mail
        with pytest.raises(DispatchError):
            await create_dispatch(
                db,
                ACTOR,
                draft(election_id=w["election"].id, channels=["sms"], message_key="own_999"),
            )
        dispatch = await create_dispatch(
            db, ACTOR, draft(election_id=w["election"].id, channels=["sms"], message_key=own.key)
        )
        await send_dispatch(db, ACTOR, dispatch.id, BASE)
        texts = sorted(m.body_text for m in await _outbox(db))
        assert texts == ["Hej Alva, Hamnskolan!", "Hi Gun!"]


async def test_erasing_a_person_takes_them_off_every_frozen_list(
    db: AsyncSession, tenant: Tenant
) -> None:
    from app.domain.registers.erasure import erase_person
    from tests.factories import make_person

    await world(db, tenant)
    hedda = await make_person(
        db, tenant, first_name="Hedda", last_name="Test", email="hedda@example.se"
    )
    dispatch = await make_dispatch(db, tenant, group="register", channels=["email"])
    dispatch_id = dispatch.id
    with tenant_scope(tenant.id):
        await send_dispatch(db, ACTOR, dispatch_id, BASE)
        frozen = select(func.count()).select_from(DispatchRecipient)
        assert await db.scalar(frozen) == 7
        await erase_person(db, ACTOR, hedda.id, "office")
        assert await db.scalar(frozen) == 6
        assert await db.scalar(frozen.where(DispatchRecipient.address == "hedda@example.se")) == 0
