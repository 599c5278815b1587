"""The reminder settings of an election: read them (defaults when never saved), save them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.i18n import _
from app.core.validation import Cleaner
from app.domain.elections.elections import get_election
from app.domain.models import ReminderSettings

#: How many days before a shift (or after an offer) a reminder may be set: 0 is the
#: day of the shift itself.
MAX_DAYS = 30
SWITCHES = ("shift_reminder_on", "eve_on", "wake_up_on", "offer_on")
HOURS = ("shift_reminder_hour", "eve_hour", "offer_hour")


async def reminder_settings(session: AsyncSession, election_id: int) -> ReminderSettings:
    """The election's settings; unsaved defaults (every reminder off) when none are kept."""
    await get_election(session, election_id)
    kept = await session.scalar(
        select(ReminderSettings).where(ReminderSettings.election_id == election_id)
    )
    return kept if kept is not None else default_settings(election_id)


def default_settings(election_id: int) -> ReminderSettings:
    return ReminderSettings(
        election_id=election_id,
        shift_reminder_on=False,
        shift_reminder_days=3,
        shift_reminder_hour=10,
        eve_on=False,
        eve_hour=18,
        wake_up_on=False,
        wake_up_at=dt.time(6, 15),
        offer_on=False,
        offer_days=3,
        offer_hour=10,
    )


def clean_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """The settings from a form; a wrong number or time is refused at its field."""
    cleaner = Cleaner(data)
    values: dict[str, Any] = {name: cleaner.boolean(name) for name in SWITCHES}
    for name in ("shift_reminder_days", "offer_days"):
        if not cleaner.raw(name):
            cleaner.fail(name, _("This field is required."))
        values[name] = cleaner.integer(name, 0 if name == "shift_reminder_days" else 1, MAX_DAYS)
    for name in HOURS:
        if not cleaner.raw(name):
            cleaner.fail(name, _("This field is required."))
        values[name] = cleaner.integer(name, 0, 23)
    values["wake_up_at"] = cleaner.time("wake_up_at") or dt.time(6, 15)
    cleaner.done()
    return values


async def save_reminder_settings(
    session: AsyncSession, actor: Actor, election_id: int, data: Mapping[str, Any]
) -> ReminderSettings:
    """Keep the election's reminder settings (switched on or off, days, hours), audited.

    Refuses a number of days or an hour out of range, or a time that is not one, with
    a message at the field (``FieldErrors``); nothing is written then.
    """
    values = clean_settings(data)
    election = await get_election(session, election_id)
    settings = await session.scalar(
        select(ReminderSettings).where(ReminderSettings.election_id == election.id)
    )
    created = settings is None
    if settings is None:
        settings = default_settings(election.id)
        session.add(settings)
    for name, value in values.items():
        setattr(settings, name, value)
    settings.updated_by_label = actor.label
    await session.flush()
    await record(
        session,
        actor,
        f"reminders.settings.{'created' if created else 'updated'}",
        settings,
        data={
            "election_id": election.id,
            **{
                key: value.isoformat() if isinstance(value, dt.time) else value
                for key, value in values.items()
            },
        },
    )
    await session.commit()
    return settings
