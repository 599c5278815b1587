"""Delivery reports from the SMS gateway: what became of an SMS after it was sent.

The gateway posts a report on each change (``sent``: handed to the operator;
``delivered``; ``failed``) and posts it again while it gets no 2xx answer, so a report
is taken once: a repeated, late (``sent`` after ``delivered``) or unknown one changes
nothing and is logged. Logs name the gateway's id only, never a number or a text.
"""

from __future__ import annotations

import enum
import logging

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxMessage, utcnow
from app.core.tenancy import require_tenant_id

log = logging.getLogger(__name__)

#: What the gateway reports, and the states each may follow.
REPORTED_STATES = ("sent", "delivered", "failed")
_MAY_FOLLOW: dict[str, tuple[str | None, ...]] = {
    "sent": (None,),
    "delivered": (None, "sent"),
    "failed": (None, "sent"),
}


class ReportOutcome(enum.Enum):
    RECORDED = "recorded"
    #: Repeated or late: the row already says as much or more.
    DUPLICATE = "duplicate"
    #: No SMS of this municipality has this id (yet: the gateway may report before the
    #: worker has recorded the id; answered so that the gateway tries again later).
    UNKNOWN = "unknown"
    INVALID = "invalid"


def _short(value: str) -> str:
    """A gateway id fit for a log line: the gateway's own characters, cut short."""
    return "".join(char for char in value[:40] if char.isalnum()) or "-"


async def record_delivery_report(
    session: AsyncSession, provider_id: str, status: str
) -> ReportOutcome:
    """Take one delivery report for the current municipality's SMS ``provider_id``.

    Sets ``delivery_state`` when the report moves it forward, in one conditional
    UPDATE, so two copies of a report arriving at once are taken once.
    """
    tenant_id = require_tenant_id()
    provider_id = provider_id.strip()
    if status not in REPORTED_STATES or not provider_id or len(provider_id) > 100:
        log.warning("delivery report refused: malformed")
        return ReportOutcome.INVALID
    mine = (
        (OutboxMessage.tenant_id == tenant_id)
        & (OutboxMessage.channel == "sms")
        & (OutboxMessage.provider_id == provider_id)
    )
    message_id = await session.scalar(select(OutboxMessage.id).where(mine))
    if message_id is None:
        await session.rollback()
        log.warning("delivery report for an unknown SMS %s", _short(provider_id))
        return ReportOutcome.UNKNOWN
    earlier = _MAY_FOLLOW[status]
    follows = or_(
        OutboxMessage.delivery_state.is_(None) if None in earlier else False,
        OutboxMessage.delivery_state.in_([state for state in earlier if state is not None]),
    )
    result = await session.execute(
        update(OutboxMessage)
        .where(mine, follows)
        .values(delivery_state=status, delivery_reported_at=utcnow())
    )
    await session.commit()
    if not getattr(result, "rowcount", 0):
        log.warning("delivery report %s for SMS %s repeated or late", status, _short(provider_id))
        return ReportOutcome.DUPLICATE
    return ReportOutcome.RECORDED
