"""After the day: the incident log with each station's state history, for the report to
the election authority, everyone's check-in times, for pay, and each station's turnout.

Rows here, every time already in the municipality's local zone; the face chooses
headings and writes them with the report writers of ``app.core.documents.tables``.
No national id number is read: pay systems key people by the register's person id.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import named
from app.core.models import AuditEntry, User, utcnow
from app.domain.elections.elections import get_election
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    CheckIn,
    District,
    Election,
    Incident,
    IncidentNote,
    Person,
    RoleType,
    Shift,
    Station,
    StationStatusChange,
)
from app.domain.ops.access import at, local_zone
from app.domain.ops.turnout_figures import (
    StationTurnout,
    TurnoutTotals,
    station_eligible,
    station_turnouts,
    total_turnout,
)

#: A phone's clock this close to the server's is taken as agreeing with it.
DEVICE_TIME_TOLERANCE = dt.timedelta(seconds=60)

#: ``PresenceLine.status``: never came; came and left; came and is still there (the
#: shift runs); came but did not check out before the shift ended.
PRESENCE_STATES = ("not_arrived", "left", "present", "not_left")


def _district(district: District | None) -> str:
    return f"{district.code} {district.name}" if district else ""


def _station_order(station: Station, district: District | None) -> tuple[object, ...]:
    # Polling stations district by district, then advance voting, as the staffing reports.
    return (station.kind != "polling", district.code if district else "", station.name, station.id)


async def _user_names(session: AsyncSession, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows if name}


# --- the incident log --------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentNoteLine:
    written_at: dt.datetime
    author: str
    text: str


@dataclass(frozen=True)
class IncidentLine:
    """One incident with its handling: who did what when (local times)."""

    incident_id: int
    station_id: int
    station: str
    district: str  # "code name"; empty for an advance voting station
    reported_at: dt.datetime
    reported_by: str
    category: str
    severity: str
    text: str
    state: str
    acknowledged_at: dt.datetime | None
    acknowledged_by: str
    assigned_at: dt.datetime | None
    assigned_by: str
    assigned_to: str
    resolved_at: dt.datetime | None
    resolved_by: str
    notes: list[IncidentNoteLine]


@dataclass(frozen=True)
class StationStateLine:
    """One change of a station's state: opened, paused, closed... and by whom, with the
    reason given for opening without the checks passing."""

    station_id: int
    station: str
    district: str
    changed_at: dt.datetime
    from_state: str
    to_state: str
    changed_by: str
    override_reason: str


@dataclass(frozen=True)
class IncidentLog:
    election: Election
    zone: ZoneInfo
    incidents: list[IncidentLine]
    station_history: list[StationStateLine]


#: The audit codes that say who acknowledged, assigned and resolved an incident.
_HANDLING_CODES = (
    "ops.incident.acknowledged",
    "ops.incident.assigned",
    "ops.incident.resolved",
)


async def incident_log(session: AsyncSession, election_id: int) -> IncidentLog:
    """Every incident of the election in the order reported, with who reported,
    acknowledged, assigned and resolved it and every note; and every station's changes
    of state, station by station. Runs in the tenant's scope; the face checks rights."""
    election = await get_election(session, election_id)
    zone = await local_zone(session)
    incidents = (
        await session.execute(
            select(Incident, Station, District)
            .join(Station, Station.id == Incident.station_id)
            .outerjoin(District, District.id == Station.district_id)
            .where(Incident.election_id == election.id)
            .order_by(Incident.created_at, Incident.id)
        )
    ).all()
    ids = [incident.id for incident, _station, _in_district in incidents]
    notes, handled = await _notes_and_handling(session, ids)

    changes = list(
        await session.execute(
            select(StationStatusChange, Station, District)
            .join(Station, Station.id == StationStatusChange.station_id)
            .outerjoin(District, District.id == Station.district_id)
            .where(StationStatusChange.election_id == election.id)
        )
    )

    user_ids = {
        user_id
        for incident, _s, _d in incidents
        for user_id in (incident.reported_by_user_id, incident.assigned_to_user_id)
        if user_id is not None
    }
    user_ids |= {n.author_user_id for found in notes.values() for n in found if n.author_user_id}
    user_ids |= {e.actor_user_id for e in handled.values() if e.actor_user_id is not None}
    user_ids |= {c.changed_by_user_id for c, _s, _d in changes if c.changed_by_user_id}
    names = await _user_names(session, user_ids)

    lines = _incident_lines(incidents, notes, handled, names, zone)
    changes.sort(key=lambda row: (*_station_order(row[1], row[2]), row[0].created_at, row[0].id))
    history = _state_history(changes, names, zone)
    return IncidentLog(election, zone, lines, history)


async def _notes_and_handling(
    session: AsyncSession, ids: list[int]
) -> tuple[dict[int, list[IncidentNote]], dict[tuple[int, str], AuditEntry]]:
    """Every note of the incidents ``ids``, and the audit entry of each one's
    acknowledging, assigning and resolving, read 5,000 incidents at a time."""
    notes: dict[int, list[IncidentNote]] = defaultdict(list)
    # Whoever did it last: an incident moved to a second coordinator names the second.
    handled: dict[tuple[int, str], AuditEntry] = {}
    for start in range(0, len(ids), 5_000):
        chunk = ids[start : start + 5_000]
        for note in await session.scalars(
            select(IncidentNote)
            .where(IncidentNote.incident_id.in_(chunk))
            .order_by(IncidentNote.created_at, IncidentNote.id)
        ):
            notes[note.incident_id].append(note)
        for entry in await session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.object_type == "Incident",
                AuditEntry.object_id.in_([str(i) for i in chunk]),
                AuditEntry.code.in_(_HANDLING_CODES),
            )
            .order_by(AuditEntry.id)
        ):
            handled[(int(entry.object_id or 0), entry.code)] = entry
    return notes, handled


def _name_of(names: dict[int, str], user_id: int | None, label: str) -> str:
    """The user's name, or the label kept when they acted (someone since removed)."""
    return names.get(user_id, label) if user_id is not None else label


def _incident_lines(
    incidents: Sequence[Row[Incident, Station, District]],
    notes: dict[int, list[IncidentNote]],
    handled: dict[tuple[int, str], AuditEntry],
    names: dict[int, str],
    zone: ZoneInfo,
) -> list[IncidentLine]:
    """One line per incident, with who handled it and its notes, in local time."""

    def by(incident_id: int, code: str) -> str:
        entry = handled.get((incident_id, code))
        return _name_of(names, entry.actor_user_id, entry.actor_label) if entry else ""

    def local(moment: dt.datetime | None) -> dt.datetime | None:
        return moment.astimezone(zone) if moment is not None else None

    return [
        IncidentLine(
            incident_id=incident.id,
            station_id=station.id,
            station=station.name,
            district=_district(district),
            reported_at=incident.created_at.astimezone(zone),
            reported_by=_name_of(names, incident.reported_by_user_id, incident.reported_by_label),
            category=incident.category,
            severity=incident.severity,
            text=incident.text,
            state=incident.state,
            acknowledged_at=local(incident.acknowledged_at),
            acknowledged_by=by(incident.id, "ops.incident.acknowledged"),
            assigned_at=local(incident.assigned_at),
            assigned_by=by(incident.id, "ops.incident.assigned"),
            assigned_to=(
                names.get(incident.assigned_to_user_id, "")
                if incident.assigned_to_user_id is not None
                else ""
            ),
            resolved_at=local(incident.resolved_at),
            resolved_by=by(incident.id, "ops.incident.resolved"),
            notes=[
                IncidentNoteLine(
                    note.created_at.astimezone(zone),
                    _name_of(names, note.author_user_id, note.author_label),
                    note.text,
                )
                for note in notes.get(incident.id, [])
            ],
        )
        for incident, station, district in incidents
    ]


def _state_history(
    changes: list[Row[StationStatusChange, Station, District]],
    names: dict[int, str],
    zone: ZoneInfo,
) -> list[StationStateLine]:
    """Every station's changes of state as lines, in the order of ``changes``."""
    return [
        StationStateLine(
            station_id=station.id,
            station=station.name,
            district=_district(district),
            changed_at=change.created_at.astimezone(zone),
            from_state=change.from_state,
            to_state=change.to_state,
            changed_by=_name_of(names, change.changed_by_user_id, change.changed_by_label),
            override_reason=change.override_reason,
        )
        for change, station, district in changes
    ]


# --- check-in times per person -----------------------------------------------------------


@dataclass(frozen=True)
class PresenceLine:
    """A person's day on one shift: when they came and went by the server's clock (local
    time), how long they were there, and what their phone said when it disagreed."""

    person_id: int
    name: str
    station_id: int
    station: str
    district: str
    role: str
    shift: str
    day: dt.date
    starts_at: dt.time
    ends_at: dt.time
    #: The first arrival and the last departure.
    arrived_at: dt.datetime | None
    left_at: dt.datetime | None
    #: The phone's time of those two check-ins, only where it differs from the server's.
    arrived_device: dt.datetime | None
    left_device: dt.datetime | None
    #: Hours between each arrival and the departure after it, to the hundredth; None
    #: when the person never came or has no departure after their last arrival.
    hours: Decimal | None
    status: str


@dataclass(frozen=True)
class CheckinTimes:
    election: Election
    zone: ZoneInfo
    lines: list[PresenceLine]


async def checkin_times(
    session: AsyncSession, election_id: int, *, now: dt.datetime | None = None
) -> CheckinTimes:
    """Everyone holding a place on a shift of the election that has begun, and everyone
    who checked in on one (a place given up later still was worked), station by station,
    shift by shift, role by role, then by name. Someone who never came has a line too,
    marked not arrived. Shifts yet to begin are left out."""
    election = await get_election(session, election_id)
    zone = await local_zone(session)
    now = (now or utcnow()).astimezone(dt.UTC)
    shift_rows = (
        await session.execute(
            select(Shift, Station, District)
            .join(Station, Station.id == Shift.station_id)
            .outerjoin(District, District.id == Station.district_id)
            .where(Station.election_id == election.id)
        )
    ).all()
    shifts = {shift.id: (shift, station, district) for shift, station, district in shift_rows}
    check_ins: dict[tuple[int, int], list[CheckIn]] = defaultdict(list)
    for check_in in await session.scalars(
        select(CheckIn).where(CheckIn.election_id == election.id).order_by(CheckIn.id)
    ):
        check_ins[(check_in.shift_id, check_in.person_id)].append(check_in)

    started = {
        shift_id
        for shift_id, (shift, _station, _in_district) in shifts.items()
        if at(shift.day, shift.starts_at, zone) <= now
    }
    places: dict[tuple[int, int], int] = {}  # (shift, person) -> role type
    for shift_id, person_id, role_type_id in await session.execute(
        select(Assignment.shift_id, Assignment.person_id, Assignment.role_type_id).where(
            Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES)
        )
    ):
        if shift_id in started:
            places[(shift_id, person_id)] = role_type_id
    # A place given up after checking in (moved elsewhere): the role it was in.
    given_up = {
        rows[0].assignment_id: key
        for key, rows in check_ins.items()
        if key not in places and rows[0].assignment_id is not None
    }
    if given_up:
        for assignment_id, role_type_id in await session.execute(
            select(Assignment.id, Assignment.role_type_id).where(Assignment.id.in_(list(given_up)))
        ):
            places[given_up[assignment_id]] = role_type_id
    keys = set(places) | {key for key in check_ins if key[0] in shifts}
    roles = {role.id: role for role in await session.scalars(select(RoleType))}
    # Names only: the national id number is never loaded for these files.
    people: dict[int, tuple[str, str]] = {}
    person_ids = sorted({person_id for _shift, person_id in keys})
    for start in range(0, len(person_ids), 5_000):
        chunk = person_ids[start : start + 5_000]
        for person_id, first, last in await session.execute(
            select(Person.id, Person.first_name, Person.last_name).where(Person.id.in_(chunk))
        ):
            people[person_id] = (first, last)

    found: list[tuple[tuple[object, ...], PresenceLine]] = []
    for shift_id, person_id in keys:
        shift, station, district = shifts[shift_id]
        first, last = people[person_id]
        role = roles.get(places.get((shift_id, person_id), -1))
        line = _presence(
            person_id,
            f"{first} {last}",
            shift,
            station,
            district,
            named(role),
            check_ins.get((shift_id, person_id), []),
            zone,
            now,
        )
        order = (
            *_station_order(station, district),
            shift.day,
            shift.starts_at,
            shift.id,
            role.sort_order if role else 1_000_000,
            last,
            first,
            person_id,
        )
        found.append((order, line))
    found.sort(key=lambda pair: pair[0])
    return CheckinTimes(election, zone, [line for _order, line in found])


def _presence(
    person_id: int,
    name: str,
    shift: Shift,
    station: Station,
    district: District | None,
    role: str,
    check_ins: list[CheckIn],
    zone: ZoneInfo,
    now: dt.datetime,
) -> PresenceLine:
    first_arrival = next((c for c in check_ins if c.kind == "arrived"), None)
    last = check_ins[-1] if check_ins else None
    departure = last if last is not None and last.kind == "left" else None
    seconds = 0.0
    since: dt.datetime | None = None
    for check_in in check_ins:
        if check_in.kind == "arrived" and since is None:
            since = check_in.checked_at
        elif check_in.kind == "left" and since is not None:
            seconds += (check_in.checked_at - since).total_seconds()
            since = None
    ends = at(shift.day, shift.ends_at, zone)
    if ends <= at(shift.day, shift.starts_at, zone):  # a count that runs past midnight
        ends += dt.timedelta(days=1)
    if first_arrival is None:
        status = "not_arrived"
    elif departure is not None:
        status = "left"
    else:
        status = "present" if now < ends else "not_left"
    hours = None
    if first_arrival is not None and departure is not None:
        hours = (Decimal(round(seconds)) / 3600).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return PresenceLine(
        person_id=person_id,
        name=name,
        station_id=station.id,
        station=station.name,
        district=_district(district),
        role=role,
        shift=named(shift),
        day=shift.day,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        arrived_at=first_arrival.checked_at.astimezone(zone) if first_arrival else None,
        left_at=departure.checked_at.astimezone(zone) if departure else None,
        arrived_device=_device_time(first_arrival, zone),
        left_device=_device_time(departure, zone),
        hours=hours,
        status=status,
    )


def _device_time(check_in: CheckIn | None, zone: ZoneInfo) -> dt.datetime | None:
    """The phone's time of a check-in, when it is known and differs from the server's."""
    if check_in is None or check_in.device_time is None:
        return None
    if abs(check_in.device_time - check_in.checked_at) < DEVICE_TIME_TOLERANCE:
        return None
    return check_in.device_time.astimezone(zone)


# --- turnout ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TurnoutLine:
    """One station's turnout: its counts by reporting time and the last report (local)."""

    station_id: int
    station: str
    district: str
    #: The station's eligible voters (0: not known for the station alone).
    eligible: int
    turnout: StationTurnout
    reported_at: dt.datetime | None
    #: Who sent the last report (their name, or the label of one since removed).
    reported_by: str


@dataclass(frozen=True)
class TurnoutSheet:
    election: Election
    zone: ZoneInfo
    lines: list[TurnoutLine]
    totals: TurnoutTotals


async def turnout_sheet(session: AsyncSession, election_id: int) -> TurnoutSheet:
    """Every station of the election with the turnout its chair reported (a station that
    reported nothing too, with empty counts), polling stations district by district then
    advance voting, and the election's totals. Runs in the tenant's scope."""
    election = await get_election(session, election_id)
    zone = await local_zone(session)
    stations = sorted(
        (
            await session.execute(
                select(Station, District)
                .outerjoin(District, District.id == Station.district_id)
                .where(Station.election_id == election.id)
            )
        ).all(),
        key=lambda row: _station_order(row[0], row[1]),
    )
    turnouts = await station_turnouts(session, election.id)
    eligible = await station_eligible(session, election.id)
    names = await _user_names(
        session, {t.reported_by_user_id for t in turnouts.values() if t.reported_by_user_id}
    )
    lines = []
    for station, district in stations:
        turnout = turnouts.get(station.id, StationTurnout(eligible=eligible.get(station.id, 0)))
        reported_at = turnout.reported_at.astimezone(zone) if turnout.reported_at else None
        lines.append(
            TurnoutLine(
                station.id,
                station.name,
                _district(district),
                eligible.get(station.id, 0),
                turnout,
                reported_at,
                _name_of(names, turnout.reported_by_user_id, turnout.reported_by),
            )
        )
    totals = total_turnout(turnouts.values(), len(stations))
    return TurnoutSheet(election, zone, lines, totals)
