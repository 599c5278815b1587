"""Delivering the outbox: claim due rows, send each once, retry failures with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import ratelimit
from app.core.across_tenants import run_everywhere
from app.core.across_tenants import tenant_ids as across_tenant_ids
from app.core.models import (
    AuthSession,
    OutboxMessage,
    PasswordResetToken,
    RealtimeTicket,
    utcnow,
)
from app.core.models.signin import SignInToken
from app.core.outbox.mail import MailTransport
from app.core.outbox.push import PushTransport
from app.core.outbox.sms import SmsTransport
from app.core.tenancy import current_tenant_id, tenant_scope
from app.domain.models import ImportBatch
from app.jobs.dispatches import send_due_everywhere
from app.jobs.opening_watch import OPENING_WATCH_EVERY, watch_openings_everywhere
from app.jobs.reminders import remind_everywhere
from app.jobs.retention import erase_expired_everywhere

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
PRUNE_EVERY = 3600.0
#: A claim older than this is taken to belong to a worker that died mid-send.
STALE_CLAIM = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


async def claim_due(session: AsyncSession, limit: int = 10) -> list[OutboxMessage]:
    """Mark up to ``limit`` due rows of the current municipality (none set: of none) as
    ours and commit, so no other worker takes them.

    The claim is a conditional UPDATE stamped with a fresh token, so two workers
    never both claim a row, even on SQLite where SKIP LOCKED does nothing. On
    PostgreSQL the candidate rows are also locked with SKIP LOCKED, so workers on
    several hosts do not wait on each other.
    """
    now = utcnow()
    # Only the current municipality's rows (none set: rows of none), as on PostgreSQL
    # its row policy has it anyway.
    tenant_id = current_tenant_id()
    due = and_(
        OutboxMessage.tenant_id.is_(None)
        if tenant_id is None
        else OutboxMessage.tenant_id == tenant_id,
        or_(
            (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
            (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - STALE_CLAIM),
        ),
    )
    candidates = list(
        await session.scalars(
            select(OutboxMessage.id)
            .where(due)
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not candidates:
        await session.commit()
        return []
    token = secrets.token_hex(16)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(candidates), due)
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
    return list(rows)


async def deliver_due(
    session_factory: async_sessionmaker[AsyncSession],
    mail: MailTransport,
    limit: int = 10,
    sms: SmsTransport | None = None,
    push: PushTransport | None = None,
) -> int:
    """Send what is due, each row through its channel's transport; returns how many were sent.

    A row whose channel has no transport here fails like any other send and is retried,
    so a worker started without one leaves the rows for a worker that has it.
    """
    transports: dict[str, MailTransport | SmsTransport | PushTransport | None] = {
        "email": mail,
        "sms": sms,
        "push": push,
    }
    now = utcnow()
    async with session_factory() as session:
        tenant_ids = await across_tenant_ids(
            session,
            "stemma_outbox_due_tenants",
            (now, now - STALE_CLAIM),
            select(OutboxMessage.tenant_id)
            .where(
                or_(
                    (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= now),
                    (OutboxMessage.status == "sending")
                    & (OutboxMessage.claimed_at < now - STALE_CLAIM),
                )
            )
            .distinct(),
        )
    sent = 0
    # Each municipality's rows in its own scope: its row policy shows the worker no
    # other, and a push is sent to a subscription of that municipality only.
    for tenant_id in sorted(tenant_ids, key=lambda found: (found is not None, found or 0)):
        with tenant_scope(tenant_id) if tenant_id is not None else contextlib.nullcontext():
            sent += await _deliver_claimed(session_factory, transports, limit)
    return sent


async def _deliver_claimed(
    session_factory: async_sessionmaker[AsyncSession],
    transports: dict[str, MailTransport | SmsTransport | PushTransport | None],
    limit: int,
) -> int:
    async with session_factory() as session:
        claimed = await claim_due(session, limit)
        sent = 0
        for message in claimed:
            mine = (OutboxMessage.id == message.id) & (
                OutboxMessage.claim_token == message.claim_token
            )
            try:
                transport = transports.get(message.channel)
                if transport is None:
                    raise ValueError(f"no transport for channel {message.channel!r}")
                await transport.send(message)
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
                    .where(mine)
                    .values(
                        status="failed" if failed else "pending",
                        last_error=str(error)[:2000],
                        next_attempt_at=utcnow() + backoff(message.attempts),
                        claimed_at=None,
                        claim_token=None,
                    )
                )
            else:
                sent += 1
                done: dict[str, object] = {
                    "status": "sent",
                    "sent_at": utcnow(),
                    "claimed_at": None,
                    "claim_token": None,
                    "last_error": None,
                }
                if message.sensitive:
                    done.update(body_text="[removed after delivery]", body_html=None)
                await session.execute(update(OutboxMessage).where(mine).values(**done))
            await session.commit()
        return sent


async def prune_expired(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Delete what has run out: rate-limit marks, sessions, old reset and sign-in links,
    tickets onto the live socket."""
    now = utcnow()
    async with session_factory() as session:
        await ratelimit.prune(session)
        await session.execute(delete(AuthSession).where(AuthSession.expires_at < now))
        # Uploaded files hold whole id numbers: keep them a day at most. Tickets onto
        # the live socket: used or not, an expired one opens nothing.
        if not await run_everywhere(session, "stemma_prune_expired", (now,)):
            await session.execute(
                delete(ImportBatch)
                .where(ImportBatch.created_at < now - timedelta(days=1))
                .execution_options(all_tenants=True)
            )
            await session.execute(
                delete(RealtimeTicket)
                .where(RealtimeTicket.expires_at < now)
                .execution_options(all_tenants=True)
            )
        await session.execute(
            delete(PasswordResetToken).where(
                PasswordResetToken.expires_at < now - timedelta(days=1)
            )
        )
        await session.execute(
            delete(SignInToken).where(SignInToken.expires_at < now - timedelta(days=1))
        )
        await session.commit()


class OutboxWorker:
    """Runs ``deliver_due`` in a loop; ``wake()`` makes it look at once after a commit."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        mail: MailTransport,
        interval: float = 5.0,
        sms: SmsTransport | None = None,
        base_url: str | None = None,
        push: PushTransport | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.mail = mail
        self.sms = sms
        self.push = push
        #: Where the portal is, for the links in course reminders (none: no reminders).
        self.base_url = base_url
        self.interval = interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        last_prune = last_watch = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                while await deliver_due(
                    self.session_factory, self.mail, sms=self.sms, push=self.push
                ):
                    pass
                if loop.time() - last_prune > PRUNE_EVERY:
                    # Counted as done even when it fails, so a failing round is not
                    # retried every few seconds.
                    last_prune = loop.time()
                    await prune_expired(self.session_factory)
                    await erase_expired_everywhere(self.session_factory)
                    if self.base_url is not None:
                        await remind_everywhere(self.session_factory, self.base_url)
                if loop.time() - last_watch > OPENING_WATCH_EVERY:
                    last_watch = loop.time()
                    if await watch_openings_everywhere(self.session_factory):
                        self.wake()  # deliver the pushes now, not in a few seconds
                    if await send_due_everywhere(self.session_factory, self.base_url or ""):
                        self.wake()  # a scheduled dispatch's messages, now
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
