"""The coordinators' live dashboard: every station of an election on its day, at a glance.

One read model, built from a handful of batched queries over the whole election (never
one query per station), so the page and every live update cost the same whether the
municipality has ten stations or six hundred. Alerts are not stored: they are worked
out on every read from the clock and the facts (a station not open at its opening time,
fewer than the minimum checked in, someone not arrived 20 minutes into their shift, a
high-severity incident still open), so they raise and clear themselves.

Which shifts a station's numbers are about ("the shifts in focus"): the station's shifts
running now; before the first one starts, the next to start; after the last one ended,
the last one. Only the shifts of the operations day count: the municipality's local day, or
tomorrow once its first shifts' check-in has opened and today's are over (``day.ops_day``).

Here: the reads and the board; beside it ``station_rows`` (a row), ``alerts`` (the
rules that raise them), ``facets`` (filters, their counts, the order and the alert
feed) and ``counters`` (the election's counters, kept live).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import named
from app.core.models import utcnow
from app.domain.elections.elections import get_election
from app.domain.materials.shortages import open_shortages_by_station
from app.domain.models import (
    HOLDING_STATES,
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
    counted_minimum,
)
from app.domain.ops.access import at, local_today, local_zone
from app.domain.ops.alerts import AlertFacts, Norm, station_alerts
from app.domain.ops.counters import LiveCounters, StationShare, Summary, summarize
from app.domain.ops.day import ops_day
from app.domain.ops.facets import (
    FEED_SIZE,
    ORDERS,
    DashboardFilters,
    Facets,
    FeedItem,
    alert_feed,
    facets,
    matches,
    ordered,
)
from app.domain.ops.sent_places import sent_to_shifts
from app.domain.ops.station_rows import RoleCount, ShiftFocus, ShiftLine, StationRow
from app.domain.ops.turnout_figures import station_turnouts
from app.domain.staffing.kept_off import not_kept_off


@dataclass(frozen=True)
class DistrictGroup:
    district: District | None
    rows: list[StationRow]

    @property
    def summary(self) -> Summary:
        """This group's counters (of the rows shown: the page's, the filters')."""
        return summarize(self.rows)


@dataclass(frozen=True)
class Dashboard:
    election: Election
    now: dt.datetime
    today: dt.date
    groups: list[DistrictGroup]
    summary: Summary
    filters: DashboardFilters
    #: How many stations each filter's choice would show: the numbers beside them.
    facets: Facets = field(default_factory=lambda: Facets({}, {}, {}))
    #: The newest alerts of the stations in the district and search chosen (whatever
    #: the state and alert filters), and how many there are in all.
    feed: list[FeedItem] = field(default_factory=list)
    feed_total: int = 0
    #: The districts of the election's stations, by code: the district filter's choices.
    districts: list[District] = field(default_factory=list)

    @property
    def rows(self) -> list[StationRow]:
        return [row for group in self.groups for row in group.rows]

    @property
    def grouped(self) -> bool:
        """Under districts' headings (else problems first, one list)."""
        return self.filters.order == "district"

    def page(self, page: int, per_page: int) -> list[DistrictGroup]:
        """The groups of one page of ``per_page`` rows (a district may run over two;
        problems first: one group)."""
        rows = self.rows[(page - 1) * per_page : page * per_page]
        if not self.grouped:
            return [DistrictGroup(None, rows)] if rows else []
        return _grouped(rows)


async def dashboard(
    session: AsyncSession,
    election_id: int,
    filters: DashboardFilters | None = None,
    *,
    now: dt.datetime | None = None,
) -> Dashboard:
    """Every station of the election, grouped by district, with its people, state,
    incidents, turnout and alerts now; and the whole election's counters.

    The face checks who may see it (``ops.view``); runs in the tenant's scope.
    """
    filters = filters or DashboardFilters()
    election = await get_election(session, election_id)
    zone, now, today = await _local_clock(session, now, election_id)
    rows = await _rows(session, election, zone, now, today)
    return _board(election, now, today, rows, summarize(rows), filters)


async def _local_clock(
    session: AsyncSession, now: dt.datetime | None, election_id: int
) -> tuple[ZoneInfo, dt.datetime, dt.date]:
    """The municipality's zone, now (UTC) and the election's operations day: what a
    board is drawn at."""
    zone = await local_zone(session)
    now = (now or utcnow()).astimezone(dt.UTC)
    return zone, now, await ops_day(session, now, election_id=election_id)


def _board(
    election: Election,
    now: dt.datetime,
    today: dt.date,
    rows: list[StationRow],
    summary: Summary,
    filters: DashboardFilters,
) -> Dashboard:
    if filters.order not in ORDERS:
        filters = replace(filters, order="problems")
    wanted = ordered([row for row in rows if matches(row, filters)], filters.order)
    groups = _grouped(wanted) if filters.order == "district" else [DistrictGroup(None, wanted)]
    if filters.station_ids is not None:  # a live update: its rows, nothing more
        return Dashboard(election, now, today, groups, summary, filters)
    around = replace(filters, state=None, alert=None, alerts_only=False)
    scope = [row for row in rows if matches(row, around)]
    feed = alert_feed(scope)
    return Dashboard(
        election,
        now,
        today,
        groups,
        summary,
        filters,
        facets(rows, filters),
        feed[:FEED_SIZE],
        len(feed),
        list({row.district.id: row.district for row in rows if row.district}.values()),
    )


def _grouped(rows: list[StationRow]) -> list[DistrictGroup]:
    groups: list[DistrictGroup] = []
    for row in rows:
        if groups and _same_district(groups[-1].district, row.district):
            groups[-1].rows.append(row)
        else:
            groups.append(DistrictGroup(row.district, [row]))
    return groups


async def _rows(
    session: AsyncSession,
    election: Election,
    zone: ZoneInfo,
    now: dt.datetime,
    today: dt.date,
    only: frozenset[int] | None = None,
) -> list[StationRow]:
    """The stations' rows now: every station of the election, or those in ``only``."""
    stations = (
        await session.execute(
            _narrowed(
                select(Station, District)
                .outerjoin(District, District.id == Station.district_id)
                .where(Station.election_id == election.id),
                Station.id,
                only,
            ).order_by(District.code, District.name, Station.name, Station.id)
        )
    ).all()
    staffing = await _staffing(session, election, today, only)
    facts = await _station_facts(session, election, today, only)
    turnouts = await station_turnouts(session, election.id, only)
    sent = await sent_to_shifts(
        session,
        _todays_shifts(election, today, only, Shift.id),
    )
    shortages_of = await open_shortages_by_station(session, election.id, only)
    alert_facts = staffing.alert_facts
    rows: list[StationRow] = []
    for station, district in stations:
        status = facts.statuses.get(station.id)
        focus = _focus([_timed(s, zone) for s in staffing.shifts_of[station.id]], now)
        opening = facts.openings.get(station.id)
        turnout = turnouts.get(station.id)
        row = StationRow(
            station=station,
            district=district,
            state=status.state if status else "not_opened",
            state_version=status.version if status else 0,
            state_changed_at=status.changed_at if status else None,
            shifts=focus,
            roles=_role_counts(focus, staffing),
            open_incidents=facts.open_incidents.get(station.id, []),
            last_change=_latest(
                status.changed_at if status else None,
                facts.check_in_changed.get(station.id),
                facts.incident_changed.get(station.id),
                turnout.reported_at if turnout else None,
            ),
            opens_at=at(today, opening.opens_at, zone) if opening else None,
            turnout=turnout,
            sent=sent.get(station.id, []),
            open_shortages=shortages_of.get(station.id, []),
            kept_off=[name for item in focus for name in staffing.kept_off_of[item.shift.id]],
        )
        row.alerts = station_alerts(row, focus, alert_facts, now)
        rows.append(row)
    return rows


def _narrowed(query: Any, station_column: Any, only: frozenset[int] | None) -> Any:
    """``query`` for the stations in ``only``, or for all when None."""
    return query if only is None else query.where(station_column.in_(only))


@dataclass(frozen=True)
class _Staffing:
    """Today's shifts by station, their norms and who holds a place by shift, and each
    person's last check-in on each shift."""

    shifts_of: dict[int, list[ShiftLine]]
    roles: dict[int, RoleType]
    #: Each role's name in the reader's language (once, not once per station).
    role_names: dict[int, str]
    norms_of: dict[int, list[Norm]]
    places_of: dict[int, list[tuple[int, int, str]]]
    last_check_in: dict[tuple[int, int], str]
    #: Per shift: the names of those holding a place who are kept off the election.
    kept_off_of: dict[int, list[str]]

    @property
    def alert_facts(self) -> AlertFacts:
        return AlertFacts(
            self.norms_of,
            self.places_of,
            self.last_check_in,
            frozenset(role.id for role in self.roles.values() if role.counts_toward_minimum),
        )


def _todays_shifts(
    election: Election, today: dt.date, only: frozenset[int] | None, *columns: Any
) -> Any:
    """These columns of the election's shifts today (of the ``only`` stations)."""
    return _narrowed(
        select(*columns)
        .join(Station, Station.id == Shift.station_id)
        .where(Station.election_id == election.id, Shift.day == today),
        Shift.station_id,
        only,
    )


async def _staffing(
    session: AsyncSession, election: Election, today: dt.date, only: frozenset[int] | None
) -> _Staffing:
    """Who is to work at the stations today and who checked in, in a few batched reads.

    Plain rows, not objects (an election of 660 stations has over a thousand shifts,
    thousands of norms and places), each read joined to today's shifts of the election
    rather than given a list of their ids (compiling a thousand ids cost more than the
    reads)."""

    def todays(query: Any, shift_column: Any) -> Any:
        return _narrowed(
            query.join(Shift, Shift.id == shift_column)
            .join(Station, Station.id == Shift.station_id)
            .where(Station.election_id == election.id, Shift.day == today),
            Shift.station_id,
            only,
        )

    shift_columns = (
        Shift.id,
        Shift.station_id,
        Shift.day,
        Shift.name,
        Shift.names,
        Shift.starts_at,
        Shift.ends_at,
    )
    shifts = [
        ShiftLine(*shift)
        for shift in await session.execute(_todays_shifts(election, today, only, *shift_columns))
    ]
    roles = {role.id: role for role in await session.scalars(select(RoleType))}
    norms = [
        Norm(*norm)
        for norm in await session.execute(
            todays(
                select(
                    StaffingNorm.shift_id,
                    StaffingNorm.role_type_id,
                    counted_minimum(),
                    StaffingNorm.target,
                ).join(RoleType, RoleType.id == StaffingNorm.role_type_id),
                StaffingNorm.shift_id,
            )
        )
    ]
    places = (
        await session.execute(
            # Names only: whole Person rows (with their JSON columns) cost most of a
            # render, and every event of an election renders this.
            todays(
                select(
                    Assignment.shift_id,
                    Assignment.person_id,
                    Assignment.role_type_id,
                    Person.first_name,
                    Person.last_name,
                    not_kept_off(),
                ).join(Person, Person.id == Assignment.person_id),
                Assignment.shift_id,
            )
            .where(Assignment.state.in_(HOLDING_STATES))
            .order_by(Person.last_name, Person.first_name)
        )
    ).all()
    latest_ids = todays(
        select(func.max(CheckIn.id)).where(CheckIn.election_id == election.id),
        CheckIn.shift_id,
    ).group_by(CheckIn.shift_id, CheckIn.person_id)
    last_check_in = {
        (shift_id, person_id): kind
        for shift_id, person_id, kind in await session.execute(
            select(CheckIn.shift_id, CheckIn.person_id, CheckIn.kind).where(
                CheckIn.id.in_(latest_ids)
            )
        )
    }

    shifts_of: dict[int, list[ShiftLine]] = defaultdict(list)
    for shift in shifts:
        shifts_of[shift.station_id].append(shift)
    norms_of: dict[int, list[Norm]] = defaultdict(list)
    for norm in norms:
        norms_of[norm.shift_id].append(norm)
    places_of: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    kept_off_of: dict[int, list[str]] = defaultdict(list)
    for shift_id, person_id, role_type_id, first_name, last_name, fills in places:
        # One kept off the election (a candidate found after being placed) holds no
        # place here: the station is short of them, and the row names them (marked).
        if fills:
            places_of[shift_id].append((person_id, role_type_id, f"{first_name} {last_name}"))
        else:
            kept_off_of[shift_id].append(f"{first_name} {last_name}")
    role_names = {role.id: named(role) for role in roles.values()}
    return _Staffing(shifts_of, roles, role_names, norms_of, places_of, last_check_in, kept_off_of)


@dataclass(frozen=True)
class _StationFacts:
    """Each station's state, open incidents and opening today, and when its check-ins
    and incidents last changed."""

    statuses: dict[int, StationStatus]
    check_in_changed: dict[int, dt.datetime]
    open_incidents: dict[int, list[Incident]]
    incident_changed: dict[int, dt.datetime]
    openings: dict[int, StationOpening]


async def _station_facts(
    session: AsyncSession, election: Election, today: dt.date, only: frozenset[int] | None
) -> _StationFacts:
    """The stations' states, incidents and openings, in a few batched reads."""
    check_in_changed = dict(
        (
            await session.execute(
                _narrowed(
                    select(CheckIn.station_id, func.max(CheckIn.checked_at)).where(
                        CheckIn.election_id == election.id
                    ),
                    CheckIn.station_id,
                    only,
                ).group_by(CheckIn.station_id)
            )
        ).all()
    )
    statuses = {
        status.station_id: status
        for status in await session.scalars(
            _narrowed(
                select(StationStatus).where(StationStatus.election_id == election.id),
                StationStatus.station_id,
                only,
            )
        )
    }
    open_incidents: dict[int, list[Incident]] = defaultdict(list)
    for incident in await session.scalars(
        _narrowed(
            select(Incident).where(
                Incident.election_id == election.id, Incident.state != "resolved"
            ),
            Incident.station_id,
            only,
        ).order_by(Incident.created_at, Incident.id)
    ):
        open_incidents[incident.station_id].append(incident)
    incident_changed = dict(
        (
            await session.execute(
                _narrowed(
                    select(Incident.station_id, func.max(Incident.updated_at)).where(
                        Incident.election_id == election.id
                    ),
                    Incident.station_id,
                    only,
                ).group_by(Incident.station_id)
            )
        ).all()
    )
    openings = {
        opening.station_id: opening
        for opening in await session.scalars(
            _narrowed(
                select(StationOpening)
                .join(Station, Station.id == StationOpening.station_id)
                .where(Station.election_id == election.id, StationOpening.day == today),
                StationOpening.station_id,
                only,
            )
        )
    }
    return _StationFacts(statuses, check_in_changed, open_incidents, incident_changed, openings)


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


def _timed(shift: ShiftLine, zone: ZoneInfo) -> ShiftFocus:
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


def _role_counts(focus: list[ShiftFocus], staffing: _Staffing) -> list[RoleCount]:
    norms_of, places_of = staffing.norms_of, staffing.places_of
    last_check_in, roles, role_names = staffing.last_check_in, staffing.roles, staffing.role_names
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
            name=role_names[role_id],
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
    zone, now, today = await _local_clock(session, now, election_id)
    key = (election.tenant_id, election.id)
    only = frozenset(station_ids)
    plan = counters.plan(key, today)
    if plan.whole:
        rows = await _rows(session, election, zone, now, today)
        counters.keep(key, today, {row.station.id: StationShare.of(row) for row in rows})
        mine = [row for row in rows if row.station.id in only]
        summary = summarize(rows)
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


def _same_district(a: District | None, b: District | None) -> bool:
    return (a.id if a else None) == (b.id if b else None)


def _latest(*times: dt.datetime | None) -> dt.datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None
