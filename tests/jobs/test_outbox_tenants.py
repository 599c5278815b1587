"""The outbox under the tenant rule: each row is its municipality's, and the worker,
though it may read no municipality's rows outside its scope, still delivers them all."""

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import OutboxMessage, Tenant
from app.core.outbox.rows import add_outbox_message
from app.core.tenancy import TenantNotSetError, current_tenant_id, tenant_scope
from app.jobs.outbox import deliver_due


class RecordingTransport:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int | None, int | None]] = []

    async def send(self, message: OutboxMessage) -> None:
        # The worker sends each row inside its own municipality's scope.
        self.sent.append((message.recipient, message.tenant_id, current_tenant_id()))


def _queue(db: AsyncSession, key: str, tenant_id: int | None = None) -> None:
    add_outbox_message(
        db,
        tenant_id=tenant_id,
        channel="email",
        recipient=f"{key}@example.test",
        body_text="Sign in: https://example.test/signin?token=secret",
        idempotency_key=key,
        sensitive=True,
    )


async def test_the_worker_delivers_every_municipalitys_mail_each_in_its_scope(
    session_factory: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    tenant: Tenant,
    other_tenant: Tenant,
) -> None:
    with tenant_scope(tenant.id):
        _queue(db, "lund")
        await db.commit()
    with tenant_scope(other_tenant.id):
        _queue(db, "malmo")
        await db.commit()
    _queue(db, "account")
    await db.commit()
    transport = RecordingTransport()
    assert await deliver_due(session_factory, transport) == 3  # type: ignore[arg-type]
    assert sorted(transport.sent, key=str) == sorted(
        [
            ("lund@example.test", tenant.id, tenant.id),
            ("malmo@example.test", other_tenant.id, other_tenant.id),
            ("account@example.test", None, None),
        ],
        key=str,
    )
    with tenant_scope(tenant.id):
        row = await db.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.idempotency_key == "lund")
            .execution_options(populate_existing=True)
        )
    assert row is not None and row.status == "sent" and "secret" not in row.body_text
    assert await deliver_due(session_factory, transport) == 0  # type: ignore[arg-type]


async def test_a_row_takes_the_current_municipality_and_no_other(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant
) -> None:
    with tenant_scope(tenant.id):
        _queue(db, "stamped")
        with pytest.raises(TenantNotSetError):
            _queue(db, "elsewhere", tenant_id=other_tenant.id)
        await db.commit()
        row = await db.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == "stamped")
        )
    assert row is not None and row.tenant_id == tenant.id
