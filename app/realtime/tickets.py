"""One-time tickets onto the live socket, for clients without a browser session."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import RealtimeTicket, utcnow
from app.core.security import hash_token, new_token

TICKET_SECONDS = 60


async def issue_ticket(session: AsyncSession, user_id: int) -> str:
    """Create a ticket for ``user_id`` in the current tenant and return its secret.

    The caller has checked that the user is a member. The secret is shown once and
    only its hash is kept. Expired tickets are cleared by the worker's hourly pruning
    (``app.jobs.outbox.prune_expired``), not here: in a reconnect storm every socket
    asks for a ticket, and each one should cost one insert.
    """
    now = utcnow()
    secret = new_token()
    session.add(
        RealtimeTicket(
            token_hash=hash_token(secret),
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(seconds=TICKET_SECONDS),
        )
    )
    await session.commit()
    return secret


async def redeem_ticket(session: AsyncSession, secret: str) -> int | None:
    """The user id of a live, unused ticket of the current tenant, which is used up;
    None for an unknown, expired, used or foreign ticket.

    One conditional UPDATE marks it used, so of two processes redeeming the same
    ticket at once exactly one sees a changed row.
    """
    token_hash = hash_token(secret)
    now = utcnow()
    user_id = await session.scalar(
        update(RealtimeTicket)
        .where(
            RealtimeTicket.token_hash == token_hash,
            RealtimeTicket.used_at.is_(None),
            RealtimeTicket.expires_at > now,
        )
        .values(used_at=now)
        .returning(RealtimeTicket.user_id)
        .execution_options(synchronize_session=False)
    )
    if user_id is None:
        await session.rollback()
        return None
    await session.commit()
    return user_id
