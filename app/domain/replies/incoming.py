"""An SMS to the municipality's number lands in the office's inbox.

The gateway posts each incoming SMS to the municipality's callback (and again while it
is not answered 2xx): it is kept once per gateway id. The sender is matched to the
person of the municipality with that mobile number when exactly one has it, and to the
last SMS the municipality sent to that number, the one it most likely answers.
Numbers and texts are never logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import OutboxMessage, utcnow
from app.core.paging import Page, fetch_shown_page
from app.core.tenancy import require_tenant_id
from app.domain.models import IncomingSms, Person

log = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
#: Longer texts are cut: a concatenated SMS is at most a few thousand characters.
MAX_TEXT = 5000
FILTERS = ("unread",)


async def receive_sms(
    session: AsyncSession, *, provider_id: str, from_number: str, to_number: str, message: str
) -> IncomingSms | None:
    """Keep one incoming SMS for the current municipality; None when it is malformed
    or was kept already (the gateway repeating its callback)."""
    tenant_id = require_tenant_id()
    provider_id = provider_id.strip()
    from_number = from_number.strip()
    if not provider_id or len(provider_id) > 100 or not E164.match(from_number):
        log.warning("incoming SMS refused: malformed")
        return None
    known = await session.scalar(
        select(IncomingSms.id).where(IncomingSms.provider_id == provider_id)
    )
    if known is not None:
        log.warning("incoming SMS %s repeated", known)
        return None
    people = list(
        await session.scalars(select(Person.id).where(Person.mobile == from_number).limit(2))
    )
    answered = await session.scalar(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.tenant_id == tenant_id,
            OutboxMessage.channel == "sms",
            OutboxMessage.recipient == from_number,
            OutboxMessage.status == "sent",
        )
        .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
        .limit(1)
    )
    sms = IncomingSms(
        provider_id=provider_id,
        from_number=from_number,
        to_number=to_number.strip()[:20],
        message=message[:MAX_TEXT],
        person_id=people[0] if len(people) == 1 else None,
        in_reply_to_id=answered,
    )
    session.add(sms)
    try:
        await session.flush()
        await record(session, Actor.system("sms gateway"), "messaging.sms.received", sms)
        await session.commit()
    except IntegrityError:
        # The same SMS posted twice at once: the other copy was kept.
        await session.rollback()
        log.warning("incoming SMS repeated at once")
        return None
    return sms


@dataclass(frozen=True)
class ReplyPage(Page):
    replies: list[IncomingSms]
    #: The people the replies came from, by id.
    people: dict[int, Person]


async def list_replies(
    session: AsyncSession, state: str | None = None, page: int = 1, per_page: int = 50
) -> ReplyPage:
    statement: Any = select(IncomingSms)
    if state == "unread":
        statement = statement.where(IncomingSms.read_at.is_(None))
    replies, total, page = await fetch_shown_page(
        session,
        statement.order_by(IncomingSms.received_at.desc(), IncomingSms.id.desc()),
        page,
        per_page,
    )
    ids = {reply.person_id for reply in replies if reply.person_id is not None}
    people = (
        {
            person.id: person
            for person in await session.scalars(select(Person).where(Person.id.in_(ids)))
        }
        if ids
        else {}
    )
    return ReplyPage(replies, people, page=page, per_page=per_page, total=total)


async def count_unread(session: AsyncSession) -> int:
    statement = select(func.count(IncomingSms.id)).where(IncomingSms.read_at.is_(None))
    return await session.scalar(statement) or 0


@dataclass(frozen=True)
class OpenReply:
    reply: IncomingSms
    person: Person | None
    #: The SMS the municipality sent that this one most likely answers.
    answers: OutboxMessage | None


async def open_reply(session: AsyncSession, actor: Actor, reply_id: int) -> OpenReply:
    """A reply for reading, with its person and the SMS it answers; the first reading
    marks it read."""
    reply = await session.scalar(select(IncomingSms).where(IncomingSms.id == reply_id))
    if reply is None:
        raise NotFound(_("Not found."))
    person = (
        await session.scalar(select(Person).where(Person.id == reply.person_id))
        if reply.person_id is not None
        else None
    )
    answers = (
        await session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.id == reply.in_reply_to_id,
                OutboxMessage.tenant_id == require_tenant_id(),
            )
        )
        if reply.in_reply_to_id is not None
        else None
    )
    if reply.read_at is None:
        reply.read_at = utcnow()
        await record(session, actor, "messaging.sms.read", reply)
        await session.commit()
    return OpenReply(reply, person, answers)
