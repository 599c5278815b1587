"""When a reminder is due: the windows of local time each occasion is sent in.

Each occasion has a moment in the municipality's local time (the shift reminder at its
hour N days before the shift day, the evening one at its hour the day before election
day, the wake-up at its time on the shift day, the offer reminder at its hour every
day) and a window after it. The worker looks every minute; a reminder goes out only
while its window is open. A worker that was down past the window sends nothing for
it: a reminder skipped is better than a text at three in the morning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from app.domain.models import ReminderSettings

#: How long after its moment an occasion may still be sent.
WINDOWS: dict[str, dt.timedelta] = {
    "offer_unanswered": dt.timedelta(hours=2),
    "shift_reminder": dt.timedelta(hours=2),
    "election_eve": dt.timedelta(hours=2),
    # Past the wake-up time by more than this, the text wakes nobody any more.
    "wake_up": dt.timedelta(minutes=45),
}


@dataclass(frozen=True)
class Due:
    """An occasion whose window is open now: ``day`` is the local day of its moment."""

    occasion: str
    day: dt.date


def moment_of(settings: ReminderSettings, occasion: str) -> dt.time:
    """The local time of day an occasion is sent at."""
    if occasion == "wake_up":
        return settings.wake_up_at
    hour = {
        "offer_unanswered": settings.offer_hour,
        "shift_reminder": settings.shift_reminder_hour,
        "election_eve": settings.eve_hour,
    }[occasion]
    return dt.time(hour)


def is_on(settings: ReminderSettings, occasion: str) -> bool:
    return bool(
        {
            "offer_unanswered": settings.offer_on,
            "shift_reminder": settings.shift_reminder_on,
            "election_eve": settings.eve_on,
            "wake_up": settings.wake_up_on,
        }[occasion]
    )


def local_moment(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """``at`` on ``day`` in ``zone``, as a UTC instant (a time the clock skips in spring
    is read as the one after the jump)."""
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC)


def open_day(now: dt.datetime, zone: ZoneInfo, at: dt.time, window: dt.timedelta) -> dt.date | None:
    """The local day whose window (from ``at`` for ``window``) holds ``now``, if any."""
    today = now.astimezone(zone).date()
    for day in (today, today - dt.timedelta(days=1)):
        start = local_moment(day, at, zone)
        if start <= now < start + window:
            return day
    return None


def due_now(settings: ReminderSettings, now: dt.datetime, zone: ZoneInfo) -> list[Due]:
    """The occasions switched on whose window is open at ``now``."""
    found = []
    for occasion, window in WINDOWS.items():
        if not is_on(settings, occasion):
            continue
        day = open_day(now, zone, moment_of(settings, occasion), window)
        if day is not None:
            found.append(Due(occasion, day))
    return found
