"""Splitting worked time into the hourly variants: weekday, weekday evening, weekend.

The evening starts at the rule's ``evening_from`` on Monday to Friday and lasts until
midnight; Saturday and Sunday are weekend all day (an election day is a Sunday in
Sweden and Denmark), whatever the time. Time is split on the local wall clock.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

#: The three variants, as pay line kinds.
WEEKDAY, EVENING, WEEKEND = "hours_weekday", "hours_evening", "hours_weekend"


def split_seconds(
    start: dt.datetime, end: dt.datetime, evening_from: dt.time, zone: ZoneInfo
) -> dict[str, int]:
    """Seconds of ``[start, end)`` per variant, read on the local clock."""
    seconds = {WEEKDAY: 0, EVENING: 0, WEEKEND: 0}
    cursor = start.astimezone(zone)
    stop = end.astimezone(zone)
    while cursor < stop:
        midnight = dt.datetime.combine(cursor.date() + dt.timedelta(days=1), dt.time.min, zone)
        if cursor.weekday() >= 5:
            boundary, kind = midnight, WEEKEND
        else:
            evening = dt.datetime.combine(cursor.date(), evening_from, zone)
            if cursor < evening:
                boundary, kind = evening, WEEKDAY
            else:
                boundary, kind = midnight, EVENING
        upto = min(boundary, stop)
        seconds[kind] += int((upto - cursor).total_seconds())
        cursor = upto
    return seconds
