"""Freezing a dispatch's list and putting its messages in the outbox, each once.

The list is frozen in the transaction that claims the dispatch (``draft`` or
``scheduled`` to ``queueing``, a conditional update: of two clicks or two workers
one claims it, the other finds it taken). The messages are then queued in batches,
each batch in its own transaction under the dispatch row's lock, in the order of the
list's ids, the dispatch's ``queued_through`` moved along in the same transaction: a
worker killed between batches leaves the rest waiting, and the next run resumes there.
An outbox row names its recipient, unique, and carries the idempotency key
``dispatch:<dispatch>:<person>:<channel>``: nothing is ever queued twice.

All of it is bulk statements: 15,000 recipients are one read of the group, a few
inserts of the list and a few of the outbox, not 15,000 ORM round trips.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.bulk import insert_rows
from app.core.models import OutboxMessage, utcnow
from app.core.outbox.rows import OUTBOX_QUEUED
from app.core.tenancy import require_tenant_id
from app.domain.dispatches.filters import Candidate
from app.domain.dispatches.texts import FieldMaker, FieldRow, Texts
from app.domain.models import Dispatch, DispatchRecipient

#: The tables, written with plain inserts (each row names its tenant; on PostgreSQL
#: the row policies check it): the ORM's bookkeeping per row is not needed here.
RECIPIENTS = DispatchRecipient.metadata.tables["dispatch_recipients"]
OUTBOX = OutboxMessage.metadata.tables["outbox_messages"]
#: Recipients queued per transaction.
QUEUE_BATCH = 5_000


def left_out_reason(candidate: Candidate, channel: str) -> str | None:
    if candidate.erased:
        return "erased"
    if channel == "email" and not candidate.email:
        return "no_email"
    if channel == "sms" and not candidate.mobile:
        return "no_mobile"
    return None


def recipient_rows(dispatch: Dispatch, candidates: list[Candidate]) -> list[dict[str, Any]]:
    """The frozen list's rows: one per person and channel, left out with the reason."""
    tenant_id = require_tenant_id()
    rows = []
    for candidate in candidates:
        channels = [candidate.channel] if candidate.channel else dispatch.channels
        for channel in channels:
            reason = left_out_reason(candidate, channel)
            address = candidate.email if channel == "email" else candidate.mobile
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "dispatch_id": dispatch.id,
                    "recipient_key": candidate.recipient_key,
                    "channel": channel,
                    "person_id": candidate.person_id,
                    "application_id": candidate.application_id,
                    "assignment_id": candidate.assignment_id,
                    "name": candidate.name[:201],
                    "first_name": candidate.first_name[:100],
                    "station_id": candidate.station_id,
                    "shift_id": candidate.shift_id,
                    "role_type_id": candidate.role_type_id,
                    "address": "" if reason else (address or "")[:254],
                    "locale": candidate.locale,
                    "left_out": reason,
                }
            )
    return rows


async def write_frozen_list(
    session: AsyncSession, dispatch: Dispatch, candidates: list[Candidate]
) -> int:
    """Write the frozen list in the caller's transaction (which commits). Returns rows."""
    rows = recipient_rows(dispatch, candidates)
    await insert_rows(session, RECIPIENTS, rows)
    return len(rows)


async def claim(session: AsyncSession, dispatch_id: int, states: tuple[str, ...]) -> bool:
    """Move the dispatch from one of ``states`` to ``queueing``; False when another
    request or worker did so first (it waits on the row until that one commits)."""
    result = await session.execute(
        update(Dispatch)
        .where(Dispatch.id == dispatch_id, Dispatch.state.in_(states))
        .values(state="queueing", frozen_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def _idempotency_key(dispatch_id: int, recipient_key: str, channel: str) -> str:
    who = recipient_key[1:] if recipient_key.startswith("p") else recipient_key
    return f"dispatch:{dispatch_id}:{who}:{channel}"


def _waiting(dispatch_id: int, after: int, limit: int) -> Any:
    """The next batch of the frozen list to queue: the rows after ``after`` in id order
    (every row up to it is queued or left out)."""
    return (
        select(
            DispatchRecipient.id,
            DispatchRecipient.recipient_key,
            DispatchRecipient.channel,
            DispatchRecipient.address,
            DispatchRecipient.locale,
            DispatchRecipient.name,
            DispatchRecipient.first_name,
            DispatchRecipient.station_id,
            DispatchRecipient.shift_id,
            DispatchRecipient.role_type_id,
        )
        .where(
            DispatchRecipient.dispatch_id == dispatch_id,
            DispatchRecipient.id > after,
            DispatchRecipient.left_out.is_(None),
        )
        .order_by(DispatchRecipient.id)
        .limit(limit)
    )


async def _lock(session: AsyncSession, dispatch_id: int) -> Dispatch | None:
    """The dispatch, locked for this transaction, while it is being queued."""
    result = await session.execute(
        update(Dispatch)
        .where(Dispatch.id == dispatch_id, Dispatch.state == "queueing")
        .values(state="queueing")
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return None
    return await session.get(Dispatch, dispatch_id, populate_existing=True)


async def queue_waiting(
    session: AsyncSession,
    dispatch_id: int,
    base_url: str,
    batch: int = QUEUE_BATCH,
    max_batches: int | None = None,
) -> int:
    """Queue the frozen list's waiting messages, a batch per transaction, and mark the
    dispatch sent when none wait. Returns how many this call queued. Safe to run from
    two workers at once: each batch is taken under the dispatch row's lock."""
    queued = 0
    texts: Texts | None = None
    maker: FieldMaker | None = None
    batches = 0
    while max_batches is None or batches < max_batches:
        dispatch = await _lock(session, dispatch_id)
        if dispatch is None:
            await session.rollback()
            return queued
        if texts is None or maker is None:
            texts = await Texts.of(session, dispatch)
            maker = await FieldMaker.of(session, dispatch, base_url)
        rows = list(
            (await session.execute(_waiting(dispatch_id, dispatch.queued_through, batch))).all()
        )
        if not rows:
            dispatch.state = "sent"
            dispatch.sent_at = utcnow()
            await session.commit()
            return queued
        messages = await _messages(session, dispatch, texts, maker, rows)
        await insert_rows(session, OUTBOX, messages)
        dispatch.queued_through = rows[-1].id
        session.info[OUTBOX_QUEUED] = True
        await session.commit()
        queued += len(messages)
        batches += 1
    return queued


async def _messages(
    session: AsyncSession, dispatch: Dispatch, texts: Texts, maker: FieldMaker, rows: list[Any]
) -> list[dict[str, Any]]:
    field_rows = [
        FieldRow(
            name=row.name,
            first_name=row.first_name,
            locale=row.locale,
            station_id=row.station_id,
            shift_id=row.shift_id,
            role_type_id=row.role_type_id,
        )
        for row in rows
    ]
    await maker.load(session, field_rows)
    tenant_id = require_tenant_id()
    now = utcnow()
    messages = []
    for row, field_row in zip(rows, field_rows, strict=True):
        shared_key, shared = maker.shared(field_row)
        subject, text, html = texts.render_shared(
            row.channel, row.locale, shared_key, shared, row.first_name, row.name
        )
        messages.append(
            {
                "tenant_id": tenant_id,
                "channel": row.channel,
                "recipient": row.address,
                "subject": subject[:300],
                "body_text": text,
                "body_html": html or None,
                "idempotency_key": _idempotency_key(dispatch.id, row.recipient_key, row.channel),
                "sensitive": False,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "dispatch_recipient_id": row.id,
            }
        )
    return messages
