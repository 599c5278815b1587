"""The coordinators' live dashboard: every station of an election on its day, at a glance.

One read model, built from a handful of batched queries over the whole election (never
one query per station), so the page and every live update cost the same whether the
municipality has ten stations or six hundred. Alerts are not stored: they are worked
out on every read from the clock and the facts (a station not open at its opening time,
fewer than the minimum checked in, someone not arrived 20 minutes into their shift, a
high-severity incident still open), so they raise and clear themselves.

Which shifts a station's numbers are about ("the shifts in focus"): the station's shifts
running now; before the first one starts, the next to start; after the last one ended,
the last one. Only today's shifts (the municipality's local day) count.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _, ngettext
from app.core.models import utcnow
from app.domain.elections.elections import get_election
from app.domain.models import (
    HOLDING_STATES,
    INCIDENT_SEVERITIES,
    STATION_STATES,
    Assignment,
    CheckIn,
    District,
    Election,
    Incident,
    Person,
    RoleType,
    Shift,
    StaffingNorm,
    Station,
    StationOpening,
    StationStatus,
)
from app.domain.ops.access import at, local_today, local_zone

#: How long into a shift someone may still be on their way before it raises an alert.
LATE_ARRIVAL = dt.timedelta(minutes=20)
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
_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(INCIDENT_SEVERITIES)}


@dataclass(frozen=True)
class DashboardFilters:
    district_id: int | None = None
    state: str | None = None
    alerts_only: bool = False
    #: Only these stations' rows (a live update redraws one station); the summary is
    #: always the whole election's.
    station_ids: frozenset[int] | None = None


@dataclass(frozen=True)
class RoleCount:
    """One role on the station's shifts in focus: checked in against the norm."""

    role_type_id: int
    code: str
    name: str
    leads_station: bool
    present: int
    minimum: int
    target: int
    holding: int

    @property
    def status(self) -> str:
        """ "missing" below the minimum, "below" the target, else "full"."""
        if self.present < self.minimum:
            return "missing"
        if self.present < self.target:
            return "below"
        return "full"


@dataclass(frozen=True)
class Alert:
    #: "not_open", "understaffed", "not_arrived" or "high_incident".
    kind: str
    #: "danger" or "warning": how it is drawn.
    level: str
    message: str


@dataclass(frozen=True)
class ShiftFocus:
    shift: Shift
    starts: dt.datetime
    ends: dt.datetime


@dataclass
class StationRow:
    station: Station
    district: District | None
    state: str
    state_version: int
    state_changed_at: dt.datetime | None
    shifts: list[ShiftFocus]
    roles: list[RoleCount]
    open_incidents: list[Incident]
    last_change: dt.datetime | None
    alerts: list[Alert] = field(default_factory=list)
    opens_at: dt.datetime | None = None

    @property
    def present(self) -> int:
        return sum(role.present for role in self.roles)

    @property
    def expected(self) -> int:
        return sum(role.holding for role in self.roles)

    @property
    def top_severity(self) -> str | None:
        if not self.open_incidents:
            return None
        return max((i.severity for i in self.open_incidents), key=_SEVERITY_RANK.__getitem__)

    @property
    def alert_level(self) -> str | None:
        levels = {alert.level for alert in self.alerts}
        return "danger" if "danger" in levels else ("warning" if levels else None)


@dataclass(frozen=True)
class DistrictGroup:
    district: District | None
    rows: list[StationRow]


@dataclass(frozen=True)
class Summary:
    stations: int
    by_state: dict[str, int]
    present: int
    expected: int
    incidents: dict[str, int]
    with_alerts: int


@dataclass(frozen=True)
class Dashboard:
    election: Election
    now: dt.datetime
    today: dt.date
    groups: list[DistrictGroup]
    summary: Summary
    filters: DashboardFilters

    @property
    def rows(self) -> list[StationRow]:
        return [row for group in self.groups for row in group.rows]


async def dashboard(
    session: AsyncSession,
    election_id: int,
    filters: DashboardFilters | None = None,
    *,
    now: dt.datetime | None = None,
) -> Dashboard:
    """Every station of the election, grouped by district, with its people, state,
    incidents and alerts now; and the whole election's counters.

    The face checks who may see it (``ops.view``); runs in the tenant's scope.
    """
    filters = filters or DashboardFilters()
    election = await get_election(session, election_id)
    zone, now, today = await _local_clock(session, now)
    rows = await _rows(session, election, zone, now, today)
    return _board(election, now, today, rows, _summary(rows), filters)


async def _local_clock(
    session: AsyncSession, now: dt.datetime | None
) -> tuple[ZoneInfo, dt.datetime, dt.date]:
    """The municipality's zone, now (UTC) and its local day: what a board is drawn at."""
    zone = await local_zone(session)
    now = (now or utcnow()).astimezone(dt.UTC)
    return zone, now, now.astimezone(zone).date()


def _board(
    election: Election,
    now: dt.datetime,
    today: dt.date,
    rows: list[StationRow],
    summary: Summary,
    filters: DashboardFilters,
) -> Dashboard:
    wanted = [row for row in rows if _matches(row, filters)]
    groups: list[DistrictGroup] = []
    for row in wanted:
        if groups and _same_district(groups[-1].district, row.district):
            groups[-1].rows.append(row)
        else:
            groups.append(DistrictGroup(row.district, [row]))
    return Dashboard(election, now, today, groups, summary, filters)


async def _rows(
    session: AsyncSession,
    election: Election,
    zone: ZoneInfo,
    now: dt.datetime,
    today: dt.date,
    only: frozenset[int] | None = None,
) -> list[StationRow]:
    """The stations' rows now: every station of the election, or those in ``only``."""

    def narrowed(query: Any, station_column: Any) -> Any:
        return query if only is None else query.where(station_column.in_(only))

    stations = (
        await session.execute(
            narrowed(
                select(Station, District)
                .outerjoin(District, District.id == Station.district_id)
                .where(Station.election_id == election.id),
                Station.id,
            ).order_by(District.code, District.name, Station.name, Station.id)
        )
    ).all()
    todays = narrowed(
        select(Shift.id)
        .join(Station, Station.id == Shift.station_id)
        .where(Station.election_id == election.id, Shift.day == today),
        Shift.station_id,
    )
    shifts = list(await session.scalars(select(Shift).where(Shift.id.in_(todays))))
    # The ids as values, not the subquery again: without fresh statistics (a database
    # just filled) PostgreSQL may re-run the subquery per assignment row, for seconds.
    todays_ids = [shift.id for shift in shifts]
    roles = {role.id: role for role in await session.scalars(select(RoleType))}
    norms = list(
        await session.scalars(select(StaffingNorm).where(StaffingNorm.shift_id.in_(todays_ids)))
    )
    places = (
        await session.execute(
            # Names only: whole Person rows (with their JSON columns) cost most of a
            # render, and every event of an election renders this.
            select(
                Assignment.shift_id,
                Assignment.person_id,
                Assignment.role_type_id,
                Person.first_name,
                Person.last_name,
            )
            .join(Person, Person.id == Assignment.person_id)
            .where(Assignment.shift_id.in_(todays_ids), Assignment.state.in_(HOLDING_STATES))
            .order_by(Person.last_name, Person.first_name)
        )
    ).all()
    latest_ids = (
        select(func.max(CheckIn.id))
        .where(CheckIn.shift_id.in_(todays_ids))
        .group_by(CheckIn.shift_id, CheckIn.person_id)
    )
    last_check_in = {
        (shift_id, person_id): kind
        for shift_id, person_id, kind in await session.execute(
            select(CheckIn.shift_id, CheckIn.person_id, CheckIn.kind).where(
                CheckIn.id.in_(latest_ids)
            )
        )
    }
    check_in_changed = dict(
        (
            await session.execute(
                narrowed(
                    select(CheckIn.station_id, func.max(CheckIn.checked_at)).where(
                        CheckIn.election_id == election.id
                    ),
                    CheckIn.station_id,
                ).group_by(CheckIn.station_id)
            )
        ).all()
    )
    statuses = {
        status.station_id: status
        for status in await session.scalars(
            narrowed(
                select(StationStatus).where(StationStatus.election_id == election.id),
                StationStatus.station_id,
            )
        )
    }
    open_incidents: dict[int, list[Incident]] = defaultdict(list)
    for incident in await session.scalars(
        narrowed(
            select(Incident).where(
                Incident.election_id == election.id, Incident.state != "resolved"
            ),
            Incident.station_id,
        ).order_by(Incident.created_at, Incident.id)
    ):
        open_incidents[incident.station_id].append(incident)
    incident_changed = dict(
        (
            await session.execute(
                narrowed(
                    select(Incident.station_id, func.max(Incident.updated_at)).where(
                        Incident.election_id == election.id
                    ),
                    Incident.station_id,
                ).group_by(Incident.station_id)
            )
        ).all()
    )
    openings = {
        opening.station_id: opening
        for opening in await session.scalars(
            narrowed(
                select(StationOpening)
                .join(Station, Station.id == StationOpening.station_id)
                .where(Station.election_id == election.id, StationOpening.day == today),
                StationOpening.station_id,
            )
        )
    }

    shifts_of: dict[int, list[Shift]] = defaultdict(list)
    for shift in shifts:
        shifts_of[shift.station_id].append(shift)
    norms_of: dict[int, list[StaffingNorm]] = defaultdict(list)
    for norm in norms:
        norms_of[norm.shift_id].append(norm)
    places_of: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    for shift_id, person_id, role_type_id, first_name, last_name in places:
        places_of[shift_id].append((person_id, role_type_id, f"{first_name} {last_name}"))

    rows: list[StationRow] = []
    for station, district in stations:
        status = statuses.get(station.id)
        focus = _focus([_timed(s, zone) for s in shifts_of[station.id]], now)
        opening = openings.get(station.id)
        row = StationRow(
            station=station,
            district=district,
            state=status.state if status else "not_opened",
            state_version=status.version if status else 0,
            state_changed_at=status.changed_at if status else None,
            shifts=focus,
            roles=_role_counts(focus, norms_of, places_of, last_check_in, roles),
            open_incidents=open_incidents.get(station.id, []),
            last_change=_latest(
                status.changed_at if status else None,
                check_in_changed.get(station.id),
                incident_changed.get(station.id),
            ),
            opens_at=at(today, opening.opens_at, zone) if opening else None,
        )
        row.alerts = _alerts(row, focus, norms_of, places_of, last_check_in, now)
        rows.append(row)
    return rows


async def election_in_focus(session: AsyncSession, now: dt.datetime | None = None) -> int | None:
    """The election a coordinator most likely means: today's or the next one ahead, or
    else the latest one (None when the municipality has none)."""
    today = await local_today(session, now)
    ahead = await session.scalar(
        select(Election.id)
        .where(Election.election_day >= today)
        .order_by(Election.election_day, Election.id)
        .limit(1)
    )
    if ahead is not None:
        return int(ahead)
    latest = await session.scalar(
        select(Election.id).order_by(Election.election_day.desc(), Election.id.desc()).limit(1)
    )
    return int(latest) if latest is not None else None


def _timed(shift: Shift, zone: ZoneInfo) -> ShiftFocus:
    starts = at(shift.day, shift.starts_at, zone)
    ends = at(shift.day, shift.ends_at, zone)
    if ends <= starts:  # a count that runs past midnight
        ends += dt.timedelta(days=1)
    return ShiftFocus(shift, starts, ends)


def _focus(shifts: list[ShiftFocus], now: dt.datetime) -> list[ShiftFocus]:
    if not shifts:
        return []
    running = [s for s in shifts if s.starts <= now < s.ends]
    if running:
        return sorted(running, key=lambda s: s.starts)
    upcoming = [s for s in shifts if s.starts > now]
    if upcoming:
        first = min(s.starts for s in upcoming)
        return [s for s in upcoming if s.starts == first]
    last = max(s.starts for s in shifts)
    return [s for s in shifts if s.starts == last]


def _role_counts(
    focus: list[ShiftFocus],
    norms_of: dict[int, list[StaffingNorm]],
    places_of: dict[int, list[tuple[int, int, str]]],
    last_check_in: dict[tuple[int, int], str],
    roles: dict[int, RoleType],
) -> list[RoleCount]:
    minimum: dict[int, int] = defaultdict(int)
    target: dict[int, int] = defaultdict(int)
    present: dict[int, int] = defaultdict(int)
    holding: dict[int, int] = defaultdict(int)
    for item in focus:
        for norm in norms_of[item.shift.id]:
            minimum[norm.role_type_id] += norm.minimum
            target[norm.role_type_id] += norm.target
        for person_id, role_type_id, _person in places_of[item.shift.id]:
            holding[role_type_id] += 1
            if last_check_in.get((item.shift.id, person_id)) == "arrived":
                present[role_type_id] += 1
    counts = [
        RoleCount(
            role_type_id=role_id,
            code=roles[role_id].code,
            name=roles[role_id].name,
            leads_station=roles[role_id].leads_station,
            present=present[role_id],
            minimum=minimum[role_id],
            target=target[role_id],
            holding=holding[role_id],
        )
        for role_id in set(minimum) | set(target) | set(holding)
        if role_id in roles and (target[role_id] or minimum[role_id] or holding[role_id])
    ]
    return sorted(counts, key=lambda c: (not c.leads_station, roles[c.role_type_id].sort_order))


def _alerts(
    row: StationRow,
    focus: list[ShiftFocus],
    norms_of: dict[int, list[StaffingNorm]],
    places_of: dict[int, list[tuple[int, int, str]]],
    last_check_in: dict[tuple[int, int], str],
    now: dt.datetime,
) -> list[Alert]:
    alerts: list[Alert] = []
    if row.state == "not_opened" and row.opens_at is not None and now >= row.opens_at:
        alerts.append(
            Alert(
                "not_open",
                "danger",
                _(
                    "Not open: it should have opened at %(time)s.",
                    time=row.opens_at.strftime("%H:%M"),
                ),
            )
        )
    for item in focus:
        if not item.starts <= now < item.ends:
            continue
        minimum = sum(norm.minimum for norm in norms_of[item.shift.id])
        people = places_of[item.shift.id]
        here = sum(last_check_in.get((item.shift.id, pid)) == "arrived" for pid, _r, _p in people)
        if here < minimum:
            alerts.append(
                Alert(
                    "understaffed",
                    "warning",
                    _(
                        "%(shift)s: %(present)s of at least %(minimum)s checked in.",
                        shift=item.shift.name,
                        present=here,
                        minimum=minimum,
                    ),
                )
            )
        if now >= item.starts + LATE_ARRIVAL:
            absent = [name for pid, _r, name in people if (item.shift.id, pid) not in last_check_in]
            if absent:
                alerts.append(
                    Alert(
                        "not_arrived",
                        "warning",
                        _(
                            "Not arrived %(minutes)s minutes into the shift: %(names)s.",
                            minutes=int((now - item.starts).total_seconds() // 60),
                            names=", ".join(absent),
                        ),
                    )
                )
    high = sum(incident.severity == "high" for incident in row.open_incidents)
    if high:
        alerts.append(
            Alert(
                "high_incident",
                "danger",
                ngettext(
                    "%(num)s open incident of high severity.",
                    "%(num)s open incidents of high severity.",
                    high,
                ),
            )
        )
    return alerts


@dataclass(frozen=True)
class _Share:
    """What one station adds to the election's counters."""

    bucket: str
    present: int
    expected: int
    severities: tuple[str, ...]
    alerted: bool

    @classmethod
    def of(cls, row: StationRow) -> _Share:
        return cls(
            bucket=_BUCKET[row.state],
            present=row.present,
            expected=row.expected,
            severities=tuple(incident.severity for incident in row.open_incidents),
            alerted=bool(row.alerts),
        )


def _summary(rows: list[StationRow]) -> Summary:
    return _fold([_Share.of(row) for row in rows])


def _fold(shares: Iterable[_Share]) -> Summary:
    by_state = dict.fromkeys(SUMMARY_STATES, 0)
    incidents = dict.fromkeys(INCIDENT_SEVERITIES, 0)
    stations = present = expected = with_alerts = 0
    for share in shares:
        stations += 1
        by_state[share.bucket] += 1
        for severity in share.severities:
            incidents[severity] = incidents.get(severity, 0) + 1
        present += share.present
        expected += share.expected
        with_alerts += share.alerted
    return Summary(
        stations=stations,
        by_state=by_state,
        present=present,
        expected=expected,
        incidents=incidents,
        with_alerts=with_alerts,
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
    shares: dict[int, _Share]
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

    def keep(self, key: tuple[int, int], day: dt.date, shares: dict[int, _Share]) -> None:
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
            counted.shares[row.station.id] = _Share.of(row)
        return _fold(counted.shares.values())


async def live_update(
    session: AsyncSession,
    election_id: int,
    station_ids: Iterable[int],
    counters: LiveCounters,
    *,
    now: dt.datetime | None = None,
) -> Dashboard:
    """Some stations' rows now (those a run of events touched) and the election's
    counters, for a live fragment; the counters kept in ``counters`` (see
    ``LiveCounters``)."""
    election = await get_election(session, election_id)
    zone, now, today = await _local_clock(session, now)
    key = (election.tenant_id, election.id)
    only = frozenset(station_ids)
    plan = counters.plan(key, today)
    if plan.whole:
        rows = await _rows(session, election, zone, now, today)
        counters.keep(key, today, {row.station.id: _Share.of(row) for row in rows})
        mine = [row for row in rows if row.station.id in only]
        summary = _summary(rows)
    else:
        counted_ids = only | plan.again
        rows = await _rows(session, election, zone, now, today, counted_ids)
        stations = None
        if plan.relist:
            stations = list(
                await session.scalars(
                    select(Station.id)
                    .where(Station.election_id == election.id)
                    .order_by(Station.id)
                )
            )
        summary = counters.update(key, counted_ids, rows, stations)
        mine = [row for row in rows if row.station.id in only]
    return _board(election, now, today, mine, summary, DashboardFilters(station_ids=only))


def _matches(row: StationRow, filters: DashboardFilters) -> bool:
    if filters.station_ids is not None and row.station.id not in filters.station_ids:
        return False
    if filters.district_id is not None and row.station.district_id != filters.district_id:
        return False
    if filters.state is not None and filters.state in STATION_STATES and row.state != filters.state:
        return False
    return not (filters.alerts_only and not row.alerts)


def _same_district(a: District | None, b: District | None) -> bool:
    return (a.id if a else None) == (b.id if b else None)


def _latest(*times: dt.datetime | None) -> dt.datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None
