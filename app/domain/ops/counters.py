"""The election's counters on the dashboard (stations per state, people there against
expected, open incidents, stations with alerts, turnout), and the live counters that count a few
stations again at each drawing instead of the whole election."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.domain.models import INCIDENT_SEVERITIES
from app.domain.ops.station_rows import StationRow
from app.domain.ops.turnout_figures import StationTurnout, TurnoutTotals, total_turnout

#: The summary's state buckets: a station counting or done counts as closed.
SUMMARY_STATES = ("open", "not_opened", "paused", "closed")
_BUCKET = {
    "not_opened": "not_opened",
    "open": "open",
    "paused": "paused",
    "closed": "closed",
    "counting": "closed",
    "result_reported": "closed",
}


@dataclass(frozen=True)
class Summary:
    stations: int
    by_state: dict[str, int]
    present: int
    expected: int
    incidents: dict[str, int]
    with_alerts: int
    turnout: TurnoutTotals


@dataclass(frozen=True)
class StationShare:
    """What one station adds to the election's counters."""

    bucket: str
    present: int
    expected: int
    severities: tuple[str, ...]
    alerted: bool
    turnout: StationTurnout | None = None

    @classmethod
    def of(cls, row: StationRow) -> StationShare:
        return cls(
            bucket=_BUCKET[row.state],
            present=row.present,
            expected=row.expected,
            severities=tuple(incident.severity for incident in row.open_incidents),
            alerted=bool(row.alerts),
            turnout=row.turnout,
        )


def summarize(rows: list[StationRow]) -> Summary:
    """The counters of these stations' rows (the whole election's, on a board)."""
    return _fold([StationShare.of(row) for row in rows])


def _fold(shares: Iterable[StationShare]) -> Summary:
    by_state = dict.fromkeys(SUMMARY_STATES, 0)
    incidents = dict.fromkeys(INCIDENT_SEVERITIES, 0)
    stations = present = expected = with_alerts = 0
    turnouts: list[StationTurnout] = []
    for share in shares:
        stations += 1
        by_state[share.bucket] += 1
        for severity in share.severities:
            incidents[severity] = incidents.get(severity, 0) + 1
        present += share.present
        expected += share.expected
        with_alerts += share.alerted
        if share.turnout is not None:
            turnouts.append(share.turnout)
    return Summary(
        stations=stations,
        by_state=by_state,
        present=present,
        expected=expected,
        incidents=incidents,
        with_alerts=with_alerts,
        turnout=total_turnout(turnouts, stations),
    )


#: How long the live counters may lag a change this process did not render, or the
#: alerts the clock alone brings: each drawing counts again, oldest first, as many
#: stations as fall due at the pace of the whole election in this time ...
RECOUNT_SECONDS = 10.0
#: ... but never more than this many at once. After a quiet spell the whole election
#: is due, and counting 500 stations in one drawing stopped the process for 200 ms
#: (bench --only realtime); the counters catch up over the next drawings instead.
MAX_RECOUNTED = 50
#: Counters no drawing asked for this long are forgotten (no dashboard watches).
FORGET_SECONDS = 3600.0


@dataclass
class _Counted:
    day: dt.date
    at: float
    shares: dict[int, StationShare]
    #: Every station of the election in the order they are counted again, where the
    #: next one starts, and how many are due (a fraction carries over).
    order: list[int]
    cursor: int = 0
    owed: float = 0.0


@dataclass(frozen=True)
class CountingPlan:
    """What a live drawing counts: the whole election, or these stations again beside
    those its events touched (and, at the start of each round, the list of stations,
    which may have changed)."""

    whole: bool
    again: frozenset[int] = frozenset()
    relist: bool = False


class LiveCounters:
    """The election's counters as the live fragments keep them, per process.

    Every election-day event names one station; its fragment needs that station's row
    and the whole election's counters. Counting the whole election for every event
    costs tens of milliseconds at 500 stations, on the one task that renders them all;
    so the counters are counted whole once, then each drawing counts its events'
    stations again, and a few more in turn (``plan``), so that every station is
    counted again within about ``RECOUNT_SECONDS`` and no drawing counts many: the
    counters lag a change this process did not render, or the clock's alerts, by about
    that long. Rows are always drawn fresh. Holds only numbers, no names.
    """

    def __init__(
        self,
        recount_seconds: float = RECOUNT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_recounted: int = MAX_RECOUNTED,
    ) -> None:
        self.recount_seconds = recount_seconds
        self.clock = clock
        self.max_recounted = max_recounted
        self._counted: dict[tuple[int, int], _Counted] = {}

    def plan(self, key: tuple[int, int], day: dt.date) -> CountingPlan:
        """What the next drawing of ``key`` (tenant, election) on ``day`` counts."""
        counted = self._counted.get(key)
        now = self.clock()
        if counted is None or counted.day != day or now - counted.at > FORGET_SECONDS:
            return CountingPlan(whole=True)
        stations = len(counted.order)
        elapsed = max(0.0, now - counted.at)
        counted.owed = min(stations, counted.owed + stations * elapsed / self.recount_seconds)
        counted.at = now
        due = min(int(counted.owed), self.max_recounted)
        counted.owed -= due
        again: set[int] = set()
        relist = False
        for _turn in range(due):
            if counted.cursor >= stations:
                counted.cursor = 0
                relist = True
            again.add(counted.order[counted.cursor])
            counted.cursor += 1
        return CountingPlan(whole=False, again=frozenset(again), relist=relist)

    def keep(self, key: tuple[int, int], day: dt.date, shares: dict[int, StationShare]) -> None:
        """Keep a whole count (``shares`` by station id)."""
        now = self.clock()
        for old in [k for k, c in self._counted.items() if now - c.at > FORGET_SECONDS]:
            del self._counted[old]
        self._counted[key] = _Counted(day, now, shares, order=list(shares))

    def update(
        self,
        key: tuple[int, int],
        counted_ids: Iterable[int],
        rows: list[StationRow],
        stations: list[int] | None = None,
    ) -> Summary:
        """Replace the shares of the stations counted again (``rows``: those of
        ``counted_ids`` that still exist), take a new list of ``stations`` when the plan
        asked for it, and give the election's counters."""
        counted = self._counted[key]
        if stations is not None:
            counted.order = stations
            counted.cursor = min(counted.cursor, len(stations))
            for gone in set(counted.shares) - set(stations):
                del counted.shares[gone]
        for station_id in counted_ids:
            counted.shares.pop(station_id, None)
        for row in rows:
            counted.shares[row.station.id] = StationShare.of(row)
        return _fold(counted.shares.values())
