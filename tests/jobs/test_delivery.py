"""SMS through a local 46elks-style gateway: from the municipality's sender id, with
the gateway's id kept and its delivery reports posted back to the served app; exactly
once when the gateway's answer is lost or the worker is killed mid-send."""

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from quart import Quart
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant, utcnow
from app.core.outbox.senders import update_sender
from app.core.outbox.sms import HttpSmsTransport, queue_sms
from app.core.outbox.throttle import TokenBucket
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.jobs.outbox import deliver_due
from tests.factories import shift_back
from tests.sms_gateway import LocalGateway
from tests.support.serving import served

NUMBER = "+46701112233"


class NoMail:
    async def send(self, message: OutboxMessage) -> None:
        raise AssertionError("no mail here")


@pytest.fixture
async def gateway() -> AsyncIterator[LocalGateway]:
    running = await LocalGateway().start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def base_url(settings: Settings) -> AsyncIterator[str]:
    """The app served over HTTP: where the gateway posts its reports."""
    application: Quart = create_app(settings)
    async with served(application) as url:
        yield url


def transport_for(
    settings: Settings, gateway: LocalGateway, base_url: str, **options: Any
) -> HttpSmsTransport:
    gateway_settings = settings.model_copy(
        update={
            "sms_api_url": gateway.url,
            "sms_api_username": gateway.username,
            "sms_api_password": gateway.password,
            "base_url": base_url,
        }
    )
    return HttpSmsTransport(gateway_settings, throttle=TokenBucket(1000, 1000), **options)


async def _queue(db: AsyncSession, tenant: Tenant, key: str, to: str = NUMBER) -> None:
    with tenant_scope(tenant.id):
        queue_sms(
            db, to=to, text=f"Hej! Ditt pass i morgon börjar 07:00. ({key})", idempotency_key=key
        )
        await db.commit()


async def _rows(db: AsyncSession, tenant: Tenant) -> list[OutboxMessage]:
    with tenant_scope(tenant.id):
        rows = await db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.tenant_id == tenant.id)
            .order_by(OutboxMessage.id)
            .execution_options(populate_existing=True)
        )
        return list(rows)


async def test_an_sms_goes_from_the_municipality_and_its_delivery_is_reported_back(
    gateway: LocalGateway,
    base_url: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with tenant_scope(tenant.id):
        await update_sender(db, Actor.system("test"), {"sms_sender": "LundsVal"})
    await _queue(db, tenant, "dlr")
    sms = transport_for(settings, gateway, base_url)
    assert await deliver_due(session_factory, NoMail(), sms=sms) == 1
    [held] = gateway.received
    assert held.sender == "LundsVal" and held.to == NUMBER
    # The report address: the municipality's own, its secret out of the path.
    assert held.whendelivered is not None
    address = urlsplit(held.whendelivered)
    assert address.path == "/api/gateway/lund/sms/delivered"
    assert address.username == "stemma" and address.password
    [row] = await _rows(db, tenant)
    assert row.status == "sent" and row.provider_id == held.id
    await gateway.settle()
    assert [(status, answer) for _id, status, answer in gateway.reports] == [
        ("sent", 204),
        ("delivered", 204),
    ]
    [row] = await _rows(db, tenant)
    assert row.delivery_state == "delivered" and row.delivery_reported_at is not None
    assert NUMBER not in caplog.text and "07:00" not in caplog.text


async def test_a_failed_delivery_is_reported_failed(
    gateway: LocalGateway,
    base_url: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
) -> None:
    gateway.fail_numbers.add(NUMBER)
    await _queue(db, tenant, "fails")
    assert (
        await deliver_due(session_factory, NoMail(), sms=transport_for(settings, gateway, base_url))
        == 1
    )
    await gateway.settle()
    [row] = await _rows(db, tenant)
    assert row.status == "sent" and row.delivery_state == "failed"


async def test_a_forged_repeated_late_or_unknown_report_changes_nothing_and_is_logged(
    gateway: LocalGateway,
    base_url: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _queue(db, tenant, "forged")
    gateway.dlr_delay = None  # this test posts the reports itself
    await deliver_due(session_factory, NoMail(), sms=transport_for(settings, gateway, base_url))
    [held] = gateway.received
    assert held.whendelivered is not None
    genuine = held.whendelivered
    forged = genuine.replace(urlsplit(genuine).password or "", "guessed-secret")
    caplog.clear()
    # A forged report: refused, and nothing changes.
    assert await gateway.post_report(held, "failed", attempts=1, url=forged) == 401
    # Nor with no secret at all, nor with this municipality's secret at another's address.
    bare = genuine.replace(f"stemma:{urlsplit(genuine).password}@", "")
    assert await gateway.post_report(held, "failed", attempts=1, url=bare) == 401
    elsewhere = genuine.replace("/lund/", f"/{other_tenant.slug}/")
    assert await gateway.post_report(held, "failed", attempts=1, url=elsewhere) == 401
    [row] = await _rows(db, tenant)
    assert row.delivery_state is None
    # The genuine report, then the same again, then a late "sent": taken once.
    held.delivered = "2026-12-07T10:00:00Z"
    assert await gateway.post_report(held, "delivered", attempts=1) == 204
    assert await gateway.post_report(held, "delivered", attempts=1) == 200
    assert await gateway.post_report(held, "sent", attempts=1) == 200
    assert await gateway.post_report(held, "failed", attempts=1) == 200
    [row] = await _rows(db, tenant)
    assert row.delivery_state == "delivered"
    # A report on an id nobody sent: 404 (the gateway tries again later), nothing changes.
    held.id = "s0000000000000000000000000000dead"
    assert await gateway.post_report(held, "failed", attempts=1) == 404
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) >= 7
    assert "refused" in caplog.text and "repeated or late" in caplog.text
    assert "unknown SMS" in caplog.text
    # Logged without the number, the text or the secret.
    assert NUMBER not in caplog.text and "07:00" not in caplog.text
    assert (urlsplit(genuine).password or "") not in caplog.text


async def test_a_timeout_after_the_gateway_accepted_never_makes_a_second_sms(
    gateway: LocalGateway,
    base_url: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
) -> None:
    gateway.timeout_after_accept = 1
    await _queue(db, tenant, "timeout")
    sms = transport_for(settings, gateway, base_url, timeout=0.5)
    assert await deliver_due(session_factory, NoMail(), sms=sms) == 0
    [row] = await _rows(db, tenant)
    assert row.status == "uncertain" and row.provider_id is None
    assert len(gateway.received) == 1
    # Not due yet: it waits before the gateway's list is asked.
    assert await deliver_due(session_factory, NoMail(), sms=sms) == 0
    with tenant_scope(tenant.id):
        await shift_back(db, OutboxMessage, "next_attempt_at", timedelta(minutes=5))
    assert await deliver_due(session_factory, NoMail(), sms=sms) == 1
    assert len(gateway.received) == 1  # found in the gateway's list, not posted again
    [row] = await _rows(db, tenant)
    assert row.status == "sent" and row.provider_id == gateway.received[0].id


async def test_an_uncertain_sms_the_gateway_never_got_is_sent_once(
    gateway: LocalGateway,
    base_url: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
) -> None:
    sms = transport_for(settings, gateway, base_url)
    text = "Vallokalen öppnar 08:00."
    with tenant_scope(tenant.id):
        queue_sms(db, to=NUMBER, text=text, idempotency_key="first")
        await db.commit()
    assert await deliver_due(session_factory, NoMail(), sms=sms) == 1
    # The same text to the same number again, from another row whose send was lost
    # before it reached the gateway: the gateway's SMS is the first row's, not this one's.
    with tenant_scope(tenant.id):
        second = queue_sms(db, to=NUMBER, text=text, idempotency_key="second")
        await db.flush()
        await db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == second.id)
            .values(status="uncertain", claimed_at=utcnow() - timedelta(minutes=1))
        )
        await db.commit()
    assert await deliver_due(session_factory, NoMail(), sms=sms) == 1
    assert len(gateway.received) == 2
    rows = await _rows(db, tenant)
    assert [row.status for row in rows] == ["sent", "sent"]
    assert [row.provider_id for row in rows] == [held.id for held in gateway.received]


async def test_a_worker_killed_mid_send_neither_duplicates_nor_loses_a_message(
    gateway: LocalGateway,
    base_url: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
) -> None:
    count = 60
    with tenant_scope(tenant.id):
        for number in range(count):
            queue_sms(
                db,
                to=f"+4670{number:07d}",
                text=f"Påminnelse {number}",
                idempotency_key=f"k{number}",
            )
        await db.commit()
    gateway.slow = 0.02
    gateway.dlr_delay = None
    sms = transport_for(settings, gateway, base_url)

    async def work() -> None:
        while await deliver_due(session_factory, NoMail(), sms=sms, limit=25):
            pass

    worker = asyncio.create_task(work())
    async with asyncio.timeout(20):
        await gateway.wait_until(lambda: len(gateway.received) >= 30)
    worker.cancel()  # killed mid-send: its sends are at the gateway, its outcomes are not
    with pytest.raises(asyncio.CancelledError):
        await worker
    rows = await _rows(db, tenant)
    at_gateway = {held.to for held in gateway.received}
    unrecorded = [row for row in rows if row.status == "sending" and row.recipient in at_gateway]
    assert unrecorded  # accepted by the gateway, their outcome never written
    # Restarted: the dead worker's claims are taken over once their lease runs out.
    gateway.slow = 0
    while await deliver_due(session_factory, NoMail(), sms=sms, lease=timedelta(0)):
        pass
    assert gateway.duplicates() == 0
    assert len(gateway.received) == count
    rows = await _rows(db, tenant)
    assert {row.status for row in rows} == {"sent"}
    assert sorted(row.provider_id or "" for row in rows) == sorted(
        held.id for held in gateway.received
    )
