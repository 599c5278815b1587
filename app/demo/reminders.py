"""The demo's reminders: switched on for its coming election with the usual times, and,
when ``stemma demo --election-day today`` moves election day to today, set so that the
shift reminder and the wake-up SMS are due at once: the worker of ``stemma serve`` sends
them by itself within its next minute (into ``var/outbox`` by default)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.outbox.senders import update_sender
from app.core.tenancy import tenant_scope
from app.domain.models import ReminderSettings
from app.domain.reminders.settings import save_reminder_settings

ACTOR = Actor.system("demo")
#: What a municipality would set: three days before at ten, the evening before at six,
#: a wake-up at a quarter past six, an offer three days unanswered at ten.
USUAL: dict[str, Any] = {
    "shift_reminder_on": True,
    "shift_reminder_days": "3",
    "shift_reminder_hour": "10",
    "eve_on": True,
    "eve_hour": "18",
    "wake_up_on": True,
    "wake_up_at": "06:15",
    "offer_on": True,
    "offer_days": "3",
    "offer_hour": "10",
}


async def switch_on_reminders(
    session: AsyncSession, tenant_id: int, election_id: int, **changes: str
) -> ReminderSettings:
    """Switch the election's reminders on at the usual times (``changes`` aside)."""
    with tenant_scope(tenant_id):
        return await save_reminder_settings(session, ACTOR, election_id, {**USUAL, **changes})


def due_now(now: dt.datetime, election_day: dt.date) -> dict[str, str]:
    """Times that make the shift reminder and the wake-up of the election day due at
    ``now`` (local): today's at this hour and minute; from 22:00, when the demo's
    election day is tomorrow with its first shifts at midnight, the shift reminder now
    (a day before) and the wake-up at midnight."""
    days = (election_day - now.date()).days
    return {
        "shift_reminder_days": str(days),
        "shift_reminder_hour": str(now.hour),
        "wake_up_at": f"{now:%H:%M}" if days == 0 else "00:00",
    }


async def reminders_due_now(
    session: AsyncSession,
    tenant_id: int,
    election_id: int,
    election_day: dt.date,
    now: dt.datetime,
) -> ReminderSettings:
    """Switch the election's reminders on so that the shift reminder and the wake-up
    go out now (``now`` local, in the municipality's zone)."""
    return await switch_on_reminders(session, tenant_id, election_id, **due_now(now, election_day))


async def sign_messages(session: AsyncSession, tenant: Tenant) -> None:
    """Sign the demo municipality's messages as an office would set it under "SMS
    replies": its own name on mail and as the SMS sender id (not the instance's
    "Stemma"), its office's address for replies."""
    sms_sender = re.sub(r"[^A-Za-z0-9]", "", tenant.name.split("(")[0].title())[:11]
    with tenant_scope(tenant.id):
        await update_sender(
            session,
            ACTOR,
            {
                "mail_from_name": f"Valnämnden i {tenant.name}",
                "mail_from_address": "",
                "mail_reply_to": f"valkansliet@{tenant.slug}.stemma.test",
                "sms_sender": sms_sender,
            },
        )
