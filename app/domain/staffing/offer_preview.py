"""What "send offers" will send, before it sends: how many offers go out by e-mail, how
many proposals have no e-mail (they are not offered), and the text messages that
follow them with their parts, for the cost shown before the office confirms."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.i18n import locale_scope
from app.core.models import Tenant, utcnow
from app.core.outbox.sms_length import sms_length
from app.domain.messaging.fields import deadline_text, merge_fields
from app.domain.messaging.render import render_message
from app.domain.models import Assignment
from app.domain.site.webparts import site_settings
from app.domain.staffing.offer_terms import answer_deadline


@dataclass(frozen=True)
class OfferPreview:
    offers: int
    no_email: int
    sms: int
    sms_parts: int
    sms_parts_max: int


async def preview_offers(
    session: AsyncSession, tenant: Tenant, assignment_ids: Sequence[int], base_url: str
) -> OfferPreview:
    """Count what ``send_offers`` would send for these proposals now; writes nothing."""
    ids = sorted(set(assignment_ids))
    proposals: list[Assignment] = []
    for start in range(0, len(ids), 5_000):
        proposals += await session.scalars(
            select(Assignment)
            .where(Assignment.id.in_(ids[start : start + 5_000]), Assignment.state == "proposed")
            .options(selectinload(Assignment.person), selectinload(Assignment.shift))
            .order_by(Assignment.id)
        )
    settings = await site_settings(session)
    now = utcnow()
    offers = no_email = sms = parts = most = 0
    for assignment in proposals:
        person = assignment.person
        if not person.email:
            no_email += 1
            continue
        offers += 1
        if not person.mobile:
            continue
        shift = assignment.shift
        deadline = answer_deadline(
            now, settings.offer_answer_days, tenant.timezone, shift.day, shift.starts_at
        )
        with locale_scope(person.preferred_language):
            answer_by = deadline_text(deadline, tenant.timezone)
        portal = f"{base_url}/{tenant.slug}/portal"
        fields = await merge_fields(
            session,
            person=person,
            assignment=assignment,
            base_url=base_url,
            extra={"offer.link": portal, "offer.deadline": answer_by},
        )
        rendered = await render_message(
            session, "staffing_offer", "sms", person.preferred_language, fields
        )
        length = sms_length(rendered.text).parts
        sms += 1
        parts += length
        most = max(most, length)
    return OfferPreview(offers, no_email, sms, parts, most)
