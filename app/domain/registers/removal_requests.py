"""The office's queue of clerks' removal requests (asked in the portal, ``app.domain.
clerks.profile.request_removal``): approving erases the person now
(``app.domain.registers.erasure``), refusing needs a reason and tells the clerk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import Tenant
from app.core.models.base import utcnow
from app.core.validation import Cleaner
from app.domain.messaging.queue import queue_with_fields
from app.domain.models import Person
from app.domain.registers.erasure import ErasureError, ErasurePlan, erase_person, plan_erasure

MAX_REFUSAL_REASON = 2000


def _pending() -> Any:
    """A request the office has not answered: asked, not erased, not refused since."""
    return (
        Person.removal_requested_at.is_not(None)
        & Person.erased_at.is_(None)
        & or_(
            Person.removal_refused_at.is_(None),
            Person.removal_refused_at < Person.removal_requested_at,
        )
    )


def removal_state(person: Person) -> str | None:
    """What became of the person's last request: "pending", "refused" or None."""
    if person.removal_requested_at is None:
        return None
    refused = person.removal_refused_at
    if refused is not None and refused >= person.removal_requested_at:
        return "refused"
    return "pending"


async def count_removal_requests(session: AsyncSession) -> int:
    count = await session.scalar(select(func.count()).select_from(Person).where(_pending()))
    return int(count or 0)


async def removal_requests(
    session: AsyncSession, today: dt.date | None = None, limit: int = 200
) -> list[ErasurePlan]:
    """The waiting requests, oldest first, each with what erasing would erase and keep."""
    people = await session.scalars(
        select(Person.id).where(_pending()).order_by(Person.removal_requested_at).limit(limit)
    )
    return [await plan_erasure(session, person_id, today) for person_id in list(people)]


async def _pending_person(session: AsyncSession, person_id: int) -> Person:
    person = await session.scalar(select(Person).where(Person.id == person_id))
    if person is None:
        raise NotFound(_("Not found."))
    if removal_state(person) != "pending" or person.erased_at is not None:
        raise ErasureError(_("This request has already been handled."), "person")
    return person


async def approve_removal(
    session: AsyncSession, actor: Actor, person_id: int, today: dt.date | None = None
) -> dict[str, int]:
    """Erase the person who asked, now. Refused (with the reason) while they have a
    place in an election that is not over; the office then removes the place or
    refuses the request."""
    await _pending_person(session, person_id)
    return await erase_person(session, actor, person_id, "request", today)


async def refuse_removal(
    session: AsyncSession,
    actor: Actor,
    tenant: Tenant,
    person_id: int,
    data: Mapping[str, Any],
) -> Person:
    """Refuse a request with a reason; the clerk is told by email in their language.

    The reason goes to the clerk and onto their record, not into the audit log.
    """
    person = await _pending_person(session, person_id)
    cleaner = Cleaner(data)
    reason = cleaner.text("reason", MAX_REFUSAL_REASON, required=True)
    cleaner.done()
    now = utcnow()
    person.removal_refused_at = now
    person.removal_refusal_reason = reason
    if person.email:
        await queue_with_fields(
            session,
            key="removal_refused",
            channel="email",
            to=person.email,
            locale=person.preferred_language,
            idempotency_key=f"removal-refused:{person.id}:{now.isoformat()}",
            person=person,
            extra={"message.text": reason},
        )
    await record(
        session, actor, "people.removal.refused", person, data={"mailed": bool(person.email)}
    )
    await session.commit()
    return person
