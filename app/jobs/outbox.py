"""Delivering the outbox: claim due rows, send each once, retry failures with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from datetime import timedelta

from sqlalchemy import delete, select
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
from app.core.tenancy import tenant_scope
from app.domain.models import ImportBatch
from app.jobs.delivery import (
    MAX_ATTEMPTS,
    STALE_CLAIM,
    backoff,
    claim_due,
    deliver_round,
    due_condition,
)
from app.jobs.dispatches import send_due_everywhere
from app.jobs.election_reminders import REMINDERS_EVERY, send_reminders_everywhere
from app.jobs.opening_watch import OPENING_WATCH_EVERY, watch_openings_everywhere
from app.jobs.reminders import remind_everywhere
from app.jobs.retention import erase_expired_everywhere

log = logging.getLogger(__name__)

__all__ = [
    "MAX_ATTEMPTS",
    "STALE_CLAIM",
    "OutboxWorker",
    "backoff",
    "claim_due",
    "deliver_due",
    "prune_expired",
]

PRUNE_EVERY = 3600.0
#: Rows one round claims of a municipality; its transports send them concurrently.
ROUND_SIZE = 200


async def deliver_due(
    session_factory: async_sessionmaker[AsyncSession],
    mail: MailTransport,
    limit: int = ROUND_SIZE,
    sms: SmsTransport | None = None,
    push: PushTransport | None = None,
    lease: timedelta = STALE_CLAIM,
) -> int:
    """Send what is due, each row through its channel's transport; returns how many were sent.

    A row whose channel has no transport here fails like any other send and is retried,
    so a worker started without one leaves the rows for a worker that has it. ``lease``:
    how old a claim must be before it is taken to be a dead worker's.
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
            (now, now - lease),
            select(OutboxMessage.tenant_id).where(due_condition(now, lease)).distinct(),
        )
    sent = 0
    # Each municipality's rows in its own scope: its row policy shows the worker no
    # other, and a push is sent to a subscription of that municipality only.
    for tenant_id in sorted(tenant_ids, key=lambda found: (found is not None, found or 0)):
        with tenant_scope(tenant_id) if tenant_id is not None else contextlib.nullcontext():
            sent += await deliver_round(session_factory, transports, limit, lease)
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


def lower_cpu_priority(niceness: int) -> int:
    """Give this process (a worker beside the web processes) ``niceness`` more Unix
    niceness, so that when the cores are busy the pages being served come first and a
    send of 15,000 messages waits; returns the niceness now. 0 leaves it as it is."""
    return os.nice(max(niceness, 0))


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
        lease: timedelta = STALE_CLAIM,
    ) -> None:
        self.session_factory = session_factory
        #: How old a claim must be to be taken for a dead worker's.
        self.lease = lease
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
        last_prune = last_watch = last_reminders = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                while await deliver_due(
                    self.session_factory, self.mail, sms=self.sms, push=self.push, lease=self.lease
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
                if self.base_url is not None and loop.time() - last_reminders > REMINDERS_EVERY:
                    last_reminders = loop.time()
                    if await send_reminders_everywhere(self.session_factory, self.base_url):
                        # Deliver these now, then look again at once: a round that ran
                        # out of time left the rest of the batch for the next.
                        last_reminders = 0.0
                        self.wake()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
