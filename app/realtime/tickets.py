"""One-time tickets onto the live socket, for clients without a browser session.

Both ends are one statement each: after a process dies, every one of its sockets
asks for a ticket and redeems it within seconds, so each costs what it must.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Membership, RealtimeTicket, User, utcnow
from app.core.security import hash_token, new_token
from app.core.tenancy import current_tenant_id
from app.realtime.access import Member

TICKET_SECONDS = 60


def _tenant() -> int:
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise RuntimeError("tickets are issued and redeemed in a tenant's scope")
    return tenant_id


async def issue_ticket(session: AsyncSession, user_id: int) -> str | None:
    """A ticket for ``user_id`` in the current tenant: its secret, or None when the
    user is not an active member there.

    The membership is checked by the insert itself (INSERT ... SELECT). The secret is
    shown once and only its hash is kept. Expired tickets are cleared by the worker's
    hourly pruning (``app.jobs.outbox.prune_expired``), not here.
    """
    tenant_id = _tenant()
    now = utcnow()
    secret = new_token()
    expires = now + timedelta(seconds=TICKET_SECONDS)
    when = RealtimeTicket.created_at.type
    member = (
        select(
            literal(tenant_id),
            literal(hash_token(secret)),
            Membership.user_id,
            literal(now, when),
            literal(expires, when),
        )
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.tenant_id == tenant_id,
            Membership.user_id == user_id,
            User.is_active.is_(True),
        )
    )
    created = await session.scalar(
        insert(RealtimeTicket)
        .from_select(["tenant_id", "token_hash", "user_id", "created_at", "expires_at"], member)
        .returning(RealtimeTicket.id)
    )
    # Committed either way: a rollback would expire what the caller's session holds.
    await session.commit()
    return secret if created is not None else None


async def redeem_ticket(session: AsyncSession, secret: str) -> Member | int:
    """Who a live, unused ticket of the current tenant lets in, the ticket used up; or
    the HTTP status to refuse with: 401 for an unknown, expired, used or foreign
    ticket, or a user deactivated since; 404 for a user no longer a member here.

    One conditional UPDATE marks it used if its user is an active member, so of two
    processes redeeming the same ticket at once exactly one sees a changed row.
    """
    tenant_id = _tenant()
    token_hash = hash_token(secret)
    now = utcnow()
    live = (
        RealtimeTicket.tenant_id == tenant_id,
        RealtimeTicket.token_hash == token_hash,
        RealtimeTicket.used_at.is_(None),
        RealtimeTicket.expires_at > now,
    )
    member = (
        select(Membership.role)
        .join(User, User.id == Membership.user_id)
        .where(Membership.tenant_id == tenant_id, User.is_active.is_(True))
    )
    user_id = await session.scalar(
        update(RealtimeTicket)
        .where(*live, member.where(Membership.user_id == RealtimeTicket.user_id).exists())
        .values(used_at=now)
        .returning(RealtimeTicket.user_id)
        .execution_options(synchronize_session=False)
    )
    # SQLite's RETURNING may not reach into other tables, so the role comes apart.
    role = (
        None
        if user_id is None
        else await session.scalar(member.where(Membership.user_id == user_id))
    )
    if user_id is not None and role is not None:
        await session.commit()
        return Member(tenant_id, user_id, role)
    # Rarely here, so the reason may cost a query more: the ticket is used up all the
    # same when it was good, and its user is refused as a stranger would be.
    user_id = await session.scalar(
        update(RealtimeTicket)
        .where(*live)
        .values(used_at=now)
        .returning(RealtimeTicket.user_id)
        .execution_options(synchronize_session=False)
    )
    if user_id is None:
        await session.rollback()
        return 401
    await session.commit()
    user = await session.get(User, user_id)
    return 401 if user is None or not user.is_active else 404
