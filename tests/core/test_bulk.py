"""Many rows in one statement (``app.core.bulk``): on PostgreSQL from arrays, values every
row shares sent once; each row as written, in the current municipality's scope."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.bulk import insert_rows
from app.core.models import OutboxMessage, Tenant, utcnow
from app.core.tenancy import tenant_scope

OUTBOX = OutboxMessage.metadata.tables["outbox_messages"]


def _row(tenant: Tenant, number: int, **values: object) -> dict[str, object]:
    now = utcnow()
    return {
        "tenant_id": tenant.id,
        "channel": "sms",
        "recipient": f"+4670000{number:04d}",
        "subject": "",
        "body_text": f"Hej nummer {number}",
        "body_html": None,
        "idempotency_key": f"bulk-test:{number}",
        "sensitive": False,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        **values,
    }


async def test_it_writes_every_row_as_given_in_batches(db: AsyncSession, tenant: Tenant) -> None:
    rows = [_row(tenant, n) for n in range(7)]
    rows[3]["body_html"] = "<p>Hej</p>"
    rows[5]["channel"] = "email"
    with tenant_scope(tenant.id):
        await insert_rows(db, OUTBOX, rows, batch=3)
        # One row alone: every value shared, none in an array.
        await insert_rows(db, OUTBOX, [_row(tenant, 10)], batch=3)
        await db.commit()
        written = {
            m.idempotency_key: m
            for m in await db.scalars(
                select(OutboxMessage).where(OutboxMessage.idempotency_key.like("bulk-test:%"))
            )
        }
    assert len(written) == 8
    assert written["bulk-test:3"].body_html == "<p>Hej</p>"
    assert written["bulk-test:4"].body_html is None
    assert written["bulk-test:5"].channel == "email" and written["bulk-test:6"].channel == "sms"
    assert written["bulk-test:10"].body_text == "Hej nummer 10"
    assert written["bulk-test:0"].next_attempt_at.tzinfo is not None
    assert {m.tenant_id for m in written.values()} == {tenant.id}
