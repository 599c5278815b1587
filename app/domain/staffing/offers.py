"""Offers: proposals sent to the people, who accept or decline from a signed link.

Until the clerk portal exists, the link in the email opens a simple page; the token
in it is random, stored only as a hash, and works until the person answers.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.i18n import _
from app.core.models import Tenant, utcnow
from app.core.security import hash_token
from app.domain.messaging.fields import merge_fields
from app.domain.messaging.queue import queue_message
from app.domain.models import Assignment, Room, Station
from app.domain.site.webparts import site_settings
from app.domain.staffing.assignments import StaffingError, lock_election
from app.domain.staffing.offer_terms import OfferTerms, answer_deadline, terms_of


def _loaded() -> list[object]:
    return [
        selectinload(Assignment.person),
        selectinload(Assignment.shift),
        selectinload(Assignment.role_type),
        selectinload(Assignment.station).selectinload(Station.room).selectinload(Room.building),
    ]


async def send_offers(
    session: AsyncSession,
    actor: Actor,
    tenant: Tenant,
    assignment_ids: Sequence[int],
    base_url: str,
) -> int:
    """Offer the chosen proposals to their people by email. Returns how many were sent;
    assignments that are not proposals are left alone."""
    ids = sorted(set(assignment_ids))
    elections: set[int] = set()
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        elections.update(
            await session.scalars(
                select(Assignment.election_id).where(Assignment.id.in_(chunk)).distinct()
            )
        )
    for election_id in sorted(elections):
        await lock_election(session, election_id)
    proposals: list[Assignment] = []
    for start in range(0, len(ids), 5_000):
        # Read again under the lock: a proposal withdrawn meanwhile is not offered.
        proposals += await session.scalars(
            select(Assignment)
            .where(Assignment.id.in_(ids[start : start + 5_000]), Assignment.state == "proposed")
            .options(*_loaded())  # type: ignore[arg-type]
            .execution_options(populate_existing=True)
            .order_by(Assignment.id)
        )
    settings = await site_settings(session)
    now = utcnow()
    sent = 0
    for assignment in proposals:
        person = assignment.person
        if not person.email:
            continue
        token = secrets.token_urlsafe(32)
        shift = assignment.shift
        assignment.offer_token_hash = hash_token(token)
        assignment.state = "offered"
        assignment.offered_at = now
        assignment.answer_by = answer_deadline(
            now, settings.offer_answer_days, tenant.timezone, shift.day, shift.starts_at
        )
        fields = await merge_fields(
            session,
            person=person,
            assignment=assignment,
            base_url=base_url,
            extra={"offer.link": f"{base_url}/{tenant.slug}/offer?token={token}"},
        )
        await queue_message(
            session,
            key="staffing_offer",
            channel="email",
            to=person.email,
            locale=person.preferred_language,
            fields=fields,
            idempotency_key=f"offer:{assignment.id}",
            sensitive=True,
        )
        if person.mobile:
            # Email first, then a text that points to it (no link: the secret stays in
            # the mail; a text that names the link gets the portal's), as offices reach
            # clerks.
            await queue_message(
                session,
                key="staffing_offer",
                channel="sms",
                to=person.mobile,
                locale=person.preferred_language,
                fields={**fields, "offer": {**fields["offer"], "link": fields["portal_link"]}},
                idempotency_key=f"offer-sms:{assignment.id}",
            )
        await record(
            session,
            actor,
            "staffing.assignment.offered",
            assignment,
            data={"answer_by": assignment.answer_by.isoformat()},
        )
        sent += 1
    await session.commit()
    return sent


async def offer_for_token(session: AsyncSession, token: str) -> Assignment | None:
    if not token or len(token) > 100:
        return None
    return await session.scalar(
        select(Assignment)
        .where(Assignment.offer_token_hash == hash_token(token))
        .options(*_loaded())  # type: ignore[arg-type]
    )


async def offer_terms(session: AsyncSession, tenant: Tenant, assignment: Assignment) -> OfferTerms:
    """The pay, deadline, contact and place of an offer loaded by ``offer_for_token``."""
    return terms_of(assignment, await site_settings(session), tenant.timezone)


@dataclass(frozen=True)
class Answer:
    assignment: Assignment
    accepted: bool


async def answer_offer(session: AsyncSession, token: str, accept: bool, reason: str = "") -> Answer:
    """The person accepts or declines from the emailed link."""
    assignment = await offer_for_token(session, token)
    if assignment is None:
        raise StaffingError(_("This offer link does not work any more."))
    return await answer_assignment(session, assignment, accept, reason, Actor.system("clerk"))


async def answer_assignment(
    session: AsyncSession, assignment: Assignment, accept: bool, reason: str, actor: Actor
) -> Answer:
    """Accept or decline an offer. A decline frees the place at once; the board shows
    it. Answering twice changes nothing."""
    await lock_election(session, assignment.election_id)
    await session.refresh(assignment)
    if assignment.state != "offered":
        raise StaffingError(_("You have already answered this offer."))
    assignment.state = "accepted" if accept else "declined"
    assignment.responded_at = utcnow()
    assignment.decline_reason = "" if accept else reason.strip()[:1000]
    await record(
        session,
        actor,
        "staffing.assignment.accepted" if accept else "staffing.assignment.declined",
        assignment,
    )
    await session.commit()
    return Answer(assignment, accept)
