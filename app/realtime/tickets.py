"""One-time tickets onto the live socket, for clients without a browser session.

Both ends are one statement each, and each runs on its own, committed as it runs
(no BEGIN and COMMIT around it): after a process dies, every one of its sockets asks
for a ticket and redeems it within seconds, so each costs what it must.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Integer, String, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Membership, RealtimeTicket, User, utcnow
from app.core.security import hash_token, new_token
from app.core.tenancy import (
    execute_for_tenant,
    require_tenant_id,
    scalar_for_tenant,
    statements_on_their_own,
    tenant_statement,
)
from app.realtime.access import Member

TICKET_SECONDS = 60


#: Active members of the tenant, with their role. The hot statements below are made
#: once and run as plain SQL on the session's connection, with the tenant named in
#: each (as the ORM's tenant hook would add it; PostgreSQL's row policies hold too):
#: every one of thousands of sockets coming back after a process died runs them.
_MEMBER = (
    select(Membership.role)
    .join(User, User.id == Membership.user_id)
    .where(Membership.tenant_id == bindparam("tenant"), User.is_active.is_(True))
)
_WHEN = RealtimeTicket.created_at.type
_ISSUE = tenant_statement(
    insert(RealtimeTicket)
    .from_select(
        ["tenant_id", "token_hash", "user_id", "created_at", "expires_at"],
        select(
            bindparam("tenant", type_=Integer),
            bindparam("digest", type_=String),
            Membership.user_id,
            bindparam("now", type_=_WHEN),
            bindparam("until", type_=_WHEN),
        )
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.tenant_id == bindparam("tenant"),
            Membership.user_id == bindparam("user"),
            User.is_active.is_(True),
        ),
    )
    .returning(RealtimeTicket.id)
)
_LIVE = (
    RealtimeTicket.tenant_id == bindparam("tenant"),
    RealtimeTicket.token_hash == bindparam("digest"),
    RealtimeTicket.used_at.is_(None),
    RealtimeTicket.expires_at > bindparam("now", type_=_WHEN),
)
_REDEEM = tenant_statement(
    update(RealtimeTicket)
    .where(*_LIVE, _MEMBER.where(Membership.user_id == RealtimeTicket.user_id).exists())
    .values(used_at=bindparam("now", type_=_WHEN))
    .returning(RealtimeTicket.user_id)
)
_ROLE = tenant_statement(_MEMBER.where(Membership.user_id == bindparam("user")))
#: On PostgreSQL the role comes back from the same UPDATE (its RETURNING reaches the
#: joined membership): one round trip fewer for each socket opened with a ticket.
_REDEEM_WITH_ROLE = tenant_statement(
    update(RealtimeTicket)
    .where(
        *_LIVE,
        Membership.tenant_id == bindparam("tenant"),
        Membership.user_id == RealtimeTicket.user_id,
        User.id == Membership.user_id,
        User.is_active.is_(True),
    )
    .values(used_at=bindparam("now", type_=_WHEN))
    .returning(RealtimeTicket.user_id, Membership.role)
)
#: A good ticket of a user no longer let in: used up all the same.
_USE_UP = tenant_statement(
    update(RealtimeTicket)
    .where(*_LIVE)
    .values(used_at=bindparam("now", type_=_WHEN))
    .returning(RealtimeTicket.user_id)
)


async def issue_ticket(session: AsyncSession, user_id: int) -> str | None:
    """A ticket for ``user_id`` in the current tenant: its secret, or None when the
    user is not an active member there.

    The membership is checked by the insert itself (INSERT ... SELECT). The secret is
    shown once and only its hash is kept. Expired tickets are cleared by the worker's
    hourly pruning (``app.jobs.outbox.prune_expired``), not here.
    """
    now = utcnow()
    secret = new_token()
    await statements_on_their_own(session)
    created = await scalar_for_tenant(
        session,
        _ISSUE,
        digest=hash_token(secret),
        user=user_id,
        now=now,
        until=now + timedelta(seconds=TICKET_SECONDS),
    )
    await session.commit()
    return secret if created is not None else None


async def redeem_ticket(session: AsyncSession, secret: str) -> Member | int:
    """Who a live, unused ticket of the current tenant lets in, the ticket used up; or
    the HTTP status to refuse with: 401 for an unknown, expired, used or foreign
    ticket, or a user deactivated since; 404 for a user no longer a member here.

    One conditional UPDATE marks it used if its user is an active member, so of two
    processes redeeming the same ticket at once exactly one sees a changed row. It is
    committed as it runs, and the session goes on so (``statements_on_their_own``):
    the socket's first reads follow on the same connection, without a transaction.
    """
    tenant_id = require_tenant_id()
    digest, now = hash_token(secret), utcnow()
    await statements_on_their_own(session)
    user_id: int | None = None
    role: str | None = None
    if session.get_bind().dialect.name == "postgresql":
        row = (await execute_for_tenant(session, _REDEEM_WITH_ROLE, digest=digest, now=now)).first()
        if row is not None:
            user_id, role = row.user_id, row.role
    else:
        user_id = await scalar_for_tenant(session, _REDEEM, digest=digest, now=now)
        # SQLite's RETURNING may not reach into other tables, so the role comes apart.
        if user_id is not None:
            role = await scalar_for_tenant(session, _ROLE, user=user_id)
    if user_id is not None and role is not None:
        return Member(tenant_id, user_id, role)
    # Rarely here, so the reason may cost a query more: the ticket is used up all the
    # same when it was good, and its user is refused as a stranger would be.
    user_id = await scalar_for_tenant(session, _USE_UP, digest=digest, now=now)
    if user_id is None:
        return 401
    user = await session.get(User, user_id)
    return 401 if user is None or not user.is_active else 404
