"""One round of sending: claim a municipality's due rows, send them, record each outcome.

Exactly once, whatever happens:

- A row is claimed by a conditional UPDATE stamped with a fresh token and committed
  before anything is sent, so two workers never send the same row.
- The outcome of the round's sends is written in one transaction after them. A worker
  killed in between leaves its rows claimed (``sending``); once the claim is older than
  the lease another worker takes them over.
- A row that may already be at the SMS gateway (taken over from a dead worker, or left
  ``uncertain`` because the gateway's answer was lost, say a timeout after it accepted)
  is never posted again blindly: the gateway's own list (``find_sent``) is read first.
  Found there, the row is recorded as sent with that SMS's id; not found, it is sent.
  A transport without a list (SMTP, files, push) sends such a row again: mail servers
  keep no list to ask, so a mail can at worst arrive twice, never be lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.models import OutboxMessage, utcnow
from app.core.outbox.mail import MailRefused
from app.core.outbox.rows import SendReceipt
from app.core.outbox.senders import sender_identity, sending_as
from app.core.outbox.sms import SmsOutcomeUnknown
from app.core.tenancy import current_tenant_id

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
#: A claim older than this is taken to belong to a worker that died mid-send.
STALE_CLAIM = timedelta(minutes=10)
#: How long an ``uncertain`` row waits before the gateway's list is read for it.
UNCERTAIN_WAIT = timedelta(seconds=30)


class Transport(Protocol):
    async def send(self, message: OutboxMessage) -> SendReceipt | None: ...


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


def due_condition(now: datetime, lease: timedelta = STALE_CLAIM) -> Any:
    """Rows waiting to be sent: pending or uncertain and due, or claimed by a worker
    whose lease ran out."""
    return or_(
        OutboxMessage.status.in_(("pending", "uncertain")) & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - lease),
    )


@dataclass
class Claimed:
    message: OutboxMessage
    #: When a send of it may have reached the gateway before (None: it surely did not).
    in_doubt_since: datetime | None


async def claim_due(
    session: AsyncSession, limit: int = 10, lease: timedelta = STALE_CLAIM
) -> list[OutboxMessage]:
    """Mark up to ``limit`` due rows of the current municipality (none set: of none) as
    ours and commit, so no other worker takes them."""
    return [claimed.message for claimed in await claim_due_rows(session, limit, lease)]


async def claim_due_rows(
    session: AsyncSession, limit: int = 10, lease: timedelta = STALE_CLAIM
) -> list[Claimed]:
    """Claim as ``claim_due`` does, and say of each row whether an earlier send of it
    may have reached the provider (its ``claimed_at`` was kept: uncertain, or a dead
    worker's claim).

    The claim is a conditional UPDATE stamped with a fresh token, so two workers
    never both claim a row, even on SQLite where SKIP LOCKED does nothing. On
    PostgreSQL the candidate rows are also locked with SKIP LOCKED, so workers on
    several hosts do not wait on each other.
    """
    now = utcnow()
    tenant_id = current_tenant_id()
    due = and_(
        OutboxMessage.tenant_id.is_(None)
        if tenant_id is None
        else OutboxMessage.tenant_id == tenant_id,
        due_condition(now, lease),
    )
    candidates = {
        row.id: row.claimed_at
        for row in await session.execute(
            select(OutboxMessage.id, OutboxMessage.claimed_at)
            .where(due)
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    }
    if not candidates:
        await session.commit()
        return []
    token = secrets.token_hex(16)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(list(candidates)), due)
        .values(
            status="sending",
            claimed_at=now,
            claim_token=token,
            attempts=OutboxMessage.attempts + 1,
        )
    )
    await session.commit()
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.claim_token == token)
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return [Claimed(row, candidates.get(row.id)) for row in rows]


@dataclass
class Outcome:
    values: dict[str, Any]
    sent: bool = False


@dataclass
class Round:
    """The sends of one round, and the gateway ids it has given to rows already."""

    transports: dict[str, Any]
    taken_ids: set[str] = field(default_factory=set)
    #: The round's one session is asked by one send at a time.
    session_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _sent(message: OutboxMessage, receipt: SendReceipt | None) -> Outcome:
    values: dict[str, Any] = {
        "status": "sent",
        "sent_at": utcnow(),
        "claimed_at": None,
        "claim_token": None,
        "last_error": None,
    }
    if receipt is not None:
        values["provider_id"] = receipt.provider_id
        if receipt.detail:
            values["delivery_detail"] = receipt.detail[:300]
    if message.sensitive:
        values.update(body_text="[removed after delivery]", body_html=None)
    return Outcome(values, sent=True)


def _failed(message: OutboxMessage, error: Exception) -> Outcome:
    if isinstance(error, MailRefused):
        # Refused for good by the mail server: trying again would be refused again.
        now = utcnow()
        return Outcome(
            {
                "status": "failed",
                "delivery_state": "refused",
                "delivery_detail": error.reply[:300],
                "delivery_reported_at": now,
                "last_error": error.reply,
                "claimed_at": None,
                "claim_token": None,
            }
        )
    if isinstance(error, SmsOutcomeUnknown):
        # ``claimed_at`` stays: from then on the gateway's list is searched for it.
        return Outcome(
            {
                "status": "uncertain",
                "last_error": str(error)[:2000],
                "next_attempt_at": utcnow() + UNCERTAIN_WAIT,
                "claim_token": None,
            }
        )
    failed = message.attempts >= MAX_ATTEMPTS
    log.warning(
        "outbox message %s failed (attempt %s): %s",
        message.id,
        message.attempts,
        type(error).__name__,
    )
    return Outcome(
        {
            "status": "failed" if failed else "pending",
            "last_error": str(error)[:2000],
            "next_attempt_at": utcnow() + backoff(message.attempts),
            "claimed_at": None,
            "claim_token": None,
        }
    )


async def _already_at_gateway(
    session: AsyncSession, work: Round, transport: Any, claimed: Claimed
) -> str | None:
    """The gateway's id of an earlier send of this row, if the gateway holds one no
    other row has; raises when the gateway's list cannot be read."""
    assert claimed.in_doubt_since is not None
    found = await transport.find_sent(claimed.message, claimed.in_doubt_since)
    if not found:
        return None
    async with work.session_lock:
        held = set(
            await session.scalars(
                select(OutboxMessage.provider_id).where(OutboxMessage.provider_id.in_(found))
            )
        )
    for provider_id in found:
        if provider_id not in held and provider_id not in work.taken_ids:
            work.taken_ids.add(provider_id)
            return provider_id
    return None


async def _send_one(session: AsyncSession, work: Round, claimed: Claimed) -> Outcome:
    message = claimed.message
    try:
        transport = work.transports.get(message.channel)
        if transport is None:
            raise ValueError(f"no transport for channel {message.channel!r}")
        if claimed.in_doubt_since is not None and hasattr(transport, "find_sent"):
            provider_id = await _already_at_gateway(session, work, transport, claimed)
            if provider_id is not None:
                log.info("outbox message %s was at the gateway already", message.id)
                return _sent(message, SendReceipt(provider_id=provider_id))
        return _sent(message, await transport.send(message))
    except Exception as error:  # any failure of a transport is recorded and retried
        return _failed(message, error)


async def _send_all(
    session: AsyncSession, transports: dict[str, Any], claimed: Sequence[Claimed]
) -> list[Outcome]:
    """Send the claimed rows, each channel's as many at once as its transport allows
    (``concurrency``; one at a time, in order, for a transport that says nothing)."""
    work = Round(transports)
    limits = {
        channel: asyncio.Semaphore(getattr(transport, "concurrency", 1))
        for channel, transport in transports.items()
    }
    lone = asyncio.Semaphore(1)

    async def one(row: Claimed) -> Outcome:
        async with limits.get(row.message.channel, lone):
            return await _send_one(session, work, row)

    return list(await asyncio.gather(*(one(row) for row in claimed)))


def _statements(
    claimed: Sequence[Claimed], outcomes: Sequence[Outcome]
) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The outcomes as a few statements, one per shape of outcome, each run once for
    all its rows (executemany): a row is written only while this worker's claim holds."""
    table = cast(Table, OutboxMessage.__table__)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row, outcome in zip(claimed, outcomes, strict=True):
        parameters = {"b_id": row.message.id, "b_token": row.message.claim_token}
        parameters.update({f"v_{key}": value for key, value in outcome.values.items()})
        groups.setdefault(tuple(sorted(outcome.values)), []).append(parameters)
    return [
        (
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.claim_token == bindparam("b_token"))
            .values({key: bindparam(f"v_{key}") for key in keys}),
            rows,
        )
        for keys, rows in groups.items()
    ]


async def _record(
    session: AsyncSession, claimed: Sequence[Claimed], outcomes: Sequence[Outcome]
) -> None:
    """Write every outcome of the round in one transaction; should a gateway id clash
    (two rows of one text to one number, both found in the list by two workers), one
    transaction each, so the others are kept."""
    statements = _statements(claimed, outcomes)
    try:
        for statement, rows in statements:
            await session.execute(statement, rows)
        await session.commit()
    except IntegrityError:
        await session.rollback()
        for statement, rows in statements:
            for row in rows:
                try:
                    await session.execute(statement, row)
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    log.warning("outbox message %s: its gateway id is another row's", row["b_id"])


async def deliver_round(
    session_factory: async_sessionmaker[AsyncSession],
    transports: dict[str, Any],
    limit: int,
    lease: timedelta = STALE_CLAIM,
) -> int:
    """Claim, send and record one batch of the current municipality's rows (none set:
    of none), as that municipality signs them. Returns how many were sent."""
    async with session_factory() as session:
        claimed = await claim_due_rows(session, limit, lease)
        if not claimed:
            return 0
        identity = await sender_identity(session) if current_tenant_id() is not None else None
        async with contextlib.AsyncExitStack() as connections:
            for transport in transports.values():
                if hasattr(transport, "connected"):
                    await connections.enter_async_context(transport.connected())
            with sending_as(identity):
                outcomes = await _send_all(session, transports, claimed)
        await _record(session, claimed, outcomes)
    return sum(outcome.sent for outcome in outcomes)
