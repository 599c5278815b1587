"""What the coordinators' dashboard shows of its rows: the filters (district, state,
alert, a station's name or its district's number) with how many stations each choice
would show, the order (problems first, or by district) and the alert feed.

Pure functions over rows already read (``dashboard``): the facets cost nothing more
than a pass over the election's stations.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from app.core.i18n import lazy_gettext
from app.domain.models import STATION_STATES
from app.domain.ops.alerts import ALERT_KINDS
from app.domain.ops.station_rows import Alert, StationRow

#: The alert filter's choices: any alert, one kind, or any open incident at all.
ALERT_FILTERS = ("any", *ALERT_KINDS, "incident")
ALERT_LABELS = {
    "any": lazy_gettext("Any alert"),
    "not_open": lazy_gettext("Not open at opening time"),
    "understaffed": lazy_gettext("Below minimum"),
    "not_arrived": lazy_gettext("No-shows"),
    "high_incident": lazy_gettext("High-severity incident"),
    "short": lazy_gettext("Short of people for a coming shift"),
    "shortage": lazy_gettext("Materials reported short"),
    "incident": lazy_gettext("Any open incident"),
}
#: "problems": stations in trouble first (danger, then warnings, then open incidents),
#: else by district; "district": by district, under their districts' headings.
ORDERS = ("problems", "district")
ORDER_LABELS = {
    "problems": lazy_gettext("Problems first"),
    "district": lazy_gettext("By district"),
}
#: The alert feed's length at most (the newest).
FEED_SIZE = 40


@dataclass(frozen=True)
class DashboardFilters:
    district_id: int | None = None
    state: str | None = None
    #: One of ``ALERT_FILTERS`` (None: every station).
    alert: str | None = None
    #: The former "only stations with alerts" (``?alerts=1``): the same as alert "any".
    alerts_only: bool = False
    #: A part of a station's name, or of its district's number or name; any case.
    station_query: str = ""
    #: Only these stations' rows (a live update redraws one station); the summary is
    #: always the whole election's.
    station_ids: frozenset[int] | None = None
    order: str = "problems"

    @property
    def alert_choice(self) -> str | None:
        if self.alert in ALERT_FILTERS:
            return self.alert
        return "any" if self.alerts_only else None


@dataclass(frozen=True)
class FeedItem:
    """One alert in the feed, with the station it is about."""

    row: StationRow
    alert: Alert


@dataclass(frozen=True)
class Facets:
    """How many stations each filter's choice would show, the other filters as chosen:
    by state (and "all"), by alert choice, and by district (None: without district)."""

    states: dict[str, int]
    alerts: dict[str, int]
    districts: dict[int | None, int]


def matches(row: StationRow, filters: DashboardFilters, *, but: str | None = None) -> bool:
    """Whether the filters keep the row; ``but`` names one filter to leave out
    ("district", "state" or "alert"), to count that filter's choices."""
    if filters.station_ids is not None and row.station.id not in filters.station_ids:
        return False
    if (
        but != "district"
        and filters.district_id is not None
        and row.station.district_id != filters.district_id
    ):
        return False
    if but != "state" and filters.state in STATION_STATES and row.state != filters.state:
        return False
    if but != "alert" and filters.alert_choice and not has_problem(row, filters.alert_choice):
        return False
    return _found(row, filters.station_query)


def has_problem(row: StationRow, choice: str) -> bool:
    if choice == "any":
        return bool(row.alerts)
    if choice == "incident":
        return bool(row.open_incidents)
    return any(alert.kind == choice for alert in row.alerts)


def _found(row: StationRow, query: str) -> bool:
    words = query.lower().split()
    if not words:
        return True
    district = row.district
    known = " ".join(
        (row.station.name, district.code, district.name) if district else (row.station.name,)
    ).lower()
    return all(word in known for word in words)


def facets(rows: list[StationRow], filters: DashboardFilters) -> Facets:
    around_state = [row for row in rows if matches(row, filters, but="state")]
    states = dict(Counter(row.state for row in around_state))
    states["all"] = len(around_state)
    around_alert = [row for row in rows if matches(row, filters, but="alert")]
    alerts = {
        choice: sum(1 for row in around_alert if has_problem(row, choice))
        for choice in ALERT_FILTERS
    }
    alerts["all"] = len(around_alert)
    districts = Counter(
        row.station.district_id for row in rows if matches(row, filters, but="district")
    )
    return Facets(states, alerts, dict(districts))


def problem_rank(row: StationRow) -> int:
    """0: a danger alert; 1: a warning; 2: an open incident without alert; 3: fine."""
    level = row.alert_level
    if level == "danger":
        return 0
    if level == "warning":
        return 1
    return 2 if row.open_incidents else 3


def ordered(rows: list[StationRow], order: str) -> list[StationRow]:
    """The rows in the dashboard's order (they come by district and name)."""
    if order == "district":
        return rows
    return sorted(rows, key=problem_rank)


def alert_feed(rows: list[StationRow]) -> list[FeedItem]:
    """Every alert of these stations, newest first (the dangers first at the same time;
    a shortage ahead, which has no time yet, last)."""
    items = [FeedItem(row, alert) for row in rows for alert in row.alerts]
    items.sort(key=lambda item: item.alert.level != "danger")
    items.sort(key=lambda item: item.alert.since or _NEVER, reverse=True)
    return items


_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)
