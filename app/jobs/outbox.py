"""Delivering the outbox: claim due rows, send each once, retry failures with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.mail import MailTransport
from app.core.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
#: A claim older than this is taken to belong to a worker that died mid-send.
STALE_CLAIM = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


async def claim_due(session: AsyncSession, limit: int = 50) -> list[OutboxMessage]:
    """Mark up to ``limit`` due rows as ours and commit, so no other worker takes them.

    On PostgreSQL the rows are locked with SKIP LOCKED, so workers on several hosts
    share the queue without waiting on each other.
    """
    now = utcnow()
    rows = (
        await session.scalars(
            select(OutboxMessage)
            .where(
                or_(
                    (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                    (OutboxMessage.status == "sending")
                    & (OutboxMessage.claimed_at < now - STALE_CLAIM),
                )
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for row in rows:
        row.status = "sending"
        row.claimed_at = now
        row.attempts += 1
    await session.commit()
    return list(rows)


async def deliver_due(
    session_factory: async_sessionmaker[AsyncSession], mail: MailTransport, limit: int = 50
) -> int:
    """Send what is due; returns how many were sent."""
    async with session_factory() as session:
        claimed = await claim_due(session, limit)
        sent = 0
        for message in claimed:
            try:
                if message.channel != "email":
                    raise ValueError(f"no transport for channel {message.channel!r}")
                await mail.send(message)
            except Exception as error:  # any failure of a transport is retried
                failed = message.attempts >= MAX_ATTEMPTS
                log.warning(
                    "outbox message %s failed (attempt %s): %s",
                    message.id,
                    message.attempts,
                    type(error).__name__,
                )
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message.id)
                    .values(
                        status="failed" if failed else "pending",
                        last_error=str(error)[:2000],
                        next_attempt_at=utcnow() + backoff(message.attempts),
                        claimed_at=None,
                    )
                )
            else:
                sent += 1
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message.id)
                    .values(status="sent", sent_at=utcnow(), claimed_at=None, last_error=None)
                )
            await session.commit()
        return sent


class OutboxWorker:
    """Runs ``deliver_due`` in a loop; ``wake()`` makes it look at once after a commit."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        mail: MailTransport,
        interval: float = 5.0,
    ) -> None:
        self.session_factory = session_factory
        self.mail = mail
        self.interval = interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                while await deliver_due(self.session_factory, self.mail):
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
