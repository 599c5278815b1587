"""A polling station's day: not opened, open (or paused), closed, counting, result
reported; and who of its team is there.

Opening needs a chair or vice chair checked in and at least the current shift's
minimum number of people; a lead or coordinator who opens anyway gives a reason,
which is stored with the change and audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.i18n import _, lazy_gettext, named, ngettext
from app.core.models import utcnow
from app.core.validation import FieldErrors
from app.domain.models import (
    HOLDING_STATES,
    STATION_STATES,
    STATION_TRANSITIONS,
    Assignment,
    Person,
    RoleType,
    Shift,
    StaffingNorm,
    StationStatus,
    StationStatusChange,
    counted_minimum,
)
from app.domain.ops import OpsConflict, OpsError
from app.domain.ops.access import at, local_zone, lock_station, station_to_lead
from app.domain.ops.checkins import EARLY, presence_on
from app.domain.ops.day import day_of
from app.domain.ops.news import announce

STATE_LABELS = {
    "not_opened": lazy_gettext("Not opened"),
    "open": lazy_gettext("Open"),
    "paused": lazy_gettext("Paused"),
    "closed": lazy_gettext("Station closed"),
    "counting": lazy_gettext("Counting"),
    "result_reported": lazy_gettext("Result reported"),
}
MAX_REASON_LENGTH = 1000


@dataclass(frozen=True)
class OpeningCheck:
    """What opening a station needs, against who is checked in on the current shift."""

    shift_id: int | None
    present: int
    minimum: int
    lead_present: bool
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_data(self) -> dict[str, Any]:
        return {
            "shift_id": self.shift_id,
            "present": self.present,
            "minimum": self.minimum,
            "lead_present": self.lead_present,
        }


async def station_state(session: AsyncSession, station_id: int) -> StationStatus | None:
    """The station's current status row (None: it has not opened yet)."""
    return await session.scalar(
        select(StationStatus)
        .where(StationStatus.station_id == station_id)
        .execution_options(populate_existing=True)
    )


async def current_shift(session: AsyncSession, station_id: int, now: dt.datetime) -> Shift | None:
    """The station's shift under way now (its check-in having opened), the earliest-
    starting one when two overlap: the crew that opens the station is the one already at
    work, not the next one whose check-in has opened (from two hours before it starts).
    None when no shift of the station runs now. A shift of tomorrow counts once its
    check-in has opened (from 22:00 for one starting at midnight)."""
    zone = await local_zone(session)
    today = now.astimezone(zone).date()
    shifts = await session.scalars(_shifts_of(station_id, [today, today + dt.timedelta(days=1)]))
    return running_shift(shifts, now, zone)


def _shifts_of(station_id: int, days: Iterable[dt.date]) -> Select[Shift]:
    """The station's shifts on these days, by day and start."""
    return (
        select(Shift)
        .where(Shift.station_id == station_id, Shift.day.in_(sorted(set(days))))
        .order_by(Shift.day, Shift.starts_at, Shift.id)
    )


def running_shift(shifts: Iterable[Shift], now: dt.datetime, zone: ZoneInfo) -> Shift | None:
    """Of ``shifts`` (by day and start), the first under way at ``now``: its check-in
    opened (``EARLY`` before it starts) and it has not ended."""
    for shift in shifts:
        starts = at(shift.day, shift.starts_at, zone) - EARLY
        if starts <= now < at(shift.day, shift.ends_at, zone):
            return shift
    return None


async def opening_check(session: AsyncSession, station_id: int, now: dt.datetime) -> OpeningCheck:
    """Whether the station may open now: a lead checked in, and the shift's minimum
    (counting only those whose role counts toward the legal minimum: not a host)."""
    shift = await current_shift(session, station_id, now)
    if shift is None:
        return _no_shift_runs()
    rosters = await _rosters(session, [shift])
    return _check_of(rosters[shift.id])


def _no_shift_runs() -> OpeningCheck:
    return OpeningCheck(None, 0, 0, False, [_("No shift of this station runs now.")])


def _check_of(roster: ShiftRoster) -> OpeningCheck:
    """What opening needs, against those of the shift's team checked in."""
    lead_present = any(e.status == "arrived" and e.leads_station for e in roster.entries)
    counted, minimum = roster.counted, roster.minimum
    problems = []
    if not lead_present:
        problems.append(_("No chair or vice chair has checked in."))
    if counted < minimum:
        problems.append(
            ngettext(
                "%(present)s of at least %(num)s person have checked in.",
                "%(present)s of at least %(num)s people have checked in.",
                minimum,
                present=counted,
            )
        )
    return OpeningCheck(roster.shift.id, counted, minimum, lead_present, problems)


async def set_station_state(
    session: AsyncSession,
    actor: Actor,
    station_id: int,
    state: str,
    override_reason: str = "",
    *,
    expected_state: str | None = None,
    now: dt.datetime | None = None,
) -> StationStatus:
    """Move a station to ``state``: open, paused, closed, counting, result reported.

    Only the station's lead or a coordinator may. A transition the day does not allow
    is refused; so is opening without a lead and the minimum checked in, unless an
    ``override_reason`` is given (stored and audited). With ``expected_state`` (what
    the user's screen showed) a change someone else made meanwhile is refused.
    """
    if state not in STATION_STATES:
        raise FieldErrors({"state": _("Choose one of the options.")})
    reason = override_reason.strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise FieldErrors(
            {"override_reason": _("At most %(count)s characters.", count=MAX_REASON_LENGTH)}
        )
    station = await station_to_lead(session, actor, station_id)
    station_id, election_id = station.id, station.election_id
    now = now or utcnow()
    await lock_station(session, station_id)
    status = await station_state(session, station_id)
    current = status.state if status else "not_opened"
    _refuse_transition(current, state, expected_state)
    checks, used_reason = await _opening_checks(session, station_id, state, reason, now)
    if status is None:
        status = StationStatus(election_id=election_id, station_id=station_id, version=0)
        session.add(status)
    status.state = state
    status.version += 1
    status.override_reason = used_reason
    status.changed_by_label = actor.label
    status.changed_at = now
    session.add(
        StationStatusChange(
            election_id=election_id,
            station_id=station_id,
            from_state=current,
            to_state=state,
            override_reason=used_reason,
            checks=checks,
            changed_by_label=actor.label,
            changed_by_user_id=actor.user_id,
            created_at=now,
        )
    )
    await session.flush()
    await record(
        session,
        actor,
        "ops.station.overridden" if used_reason else "ops.station.state_changed",
        station,
        data={"from": current, "to": state, "override_reason": used_reason, **checks},
    )
    await announce(
        session,
        election_id,
        station_id,
        "station.state_changed",
        {
            "station_id": station_id,
            "from": current,
            "state": state,
            "version": status.version,
            "override": bool(used_reason),
        },
    )
    await session.commit()
    return status


def _refuse_transition(current: str, state: str, expected_state: str | None) -> None:
    """Refuse a change from ``current`` when someone changed the state since the user
    looked (``expected_state``), or when the day does not allow it."""
    if expected_state is not None and expected_state != current:
        raise OpsConflict(
            _(
                "The station's state changed meanwhile to %(state)s. Look again and decide.",
                state=STATE_LABELS[current],
            ),
            "state",
        )
    if state not in STATION_TRANSITIONS[current]:
        raise OpsError(
            _(
                "A station cannot go from %(current)s to %(state)s.",
                current=STATE_LABELS[current],
                state=STATE_LABELS[state],
            ),
            "state",
        )


async def _opening_checks(
    session: AsyncSession, station_id: int, state: str, reason: str, now: dt.datetime
) -> tuple[dict[str, Any], str]:
    """What opening checked (nothing for another state) and the override reason used:
    opening without a lead and the minimum checked in is refused without a reason."""
    checks: dict[str, Any] = {}
    used_reason = ""
    if state == "open":
        check = await opening_check(session, station_id, now)
        checks = check.as_data()
        if not check.passed:
            if not reason:
                raise OpsError(
                    " ".join([*check.problems, _("Give a reason to open anyway.")]),
                    "override_reason",
                )
            used_reason = reason
    return checks, used_reason


# --- the team on the day -----------------------------------------------------------------


@dataclass(frozen=True)
class RosterEntry:
    person_id: int
    name: str
    role: str
    leads_station: bool
    #: "arrived" (there now), "left", or "missing" (not checked in yet).
    status: str
    #: Whether their role counts toward the legal minimum (a host's does not).
    counts: bool
    arrived_at: dt.datetime | None
    left_at: dt.datetime | None
    #: Sent by a coordinator on the day (``reassign``), and when they confirmed it.
    sent_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None

    @property
    def sending(self) -> str | None:
        """ "sent" until the person sent confirms, then "confirmed"; None when not sent."""
        if self.sent_at is None:
            return None
        return "sent" if self.confirmed_at is None else "confirmed"


@dataclass(frozen=True)
class ShiftRoster:
    shift: Shift
    minimum: int
    entries: list[RosterEntry]

    @property
    def present(self) -> int:
        return sum(entry.status == "arrived" for entry in self.entries)

    @property
    def counted(self) -> int:
        """Those here whose role counts toward the legal minimum (``minimum``)."""
        return sum(entry.status == "arrived" and entry.counts for entry in self.entries)

    @property
    def missing(self) -> list[RosterEntry]:
        return [entry for entry in self.entries if entry.status == "missing"]


async def station_roster(session: AsyncSession, station_id: int, day: dt.date) -> list[ShiftRoster]:
    """Who of the station's team has arrived, left or is missing, shift by shift that day.

    A read for the chair's and the coordinators' views; the face checks who may see it
    (``access.station_to_lead``). Leads first, then by role and name.
    """
    shifts = list(await session.scalars(_shifts_of(station_id, [day])))
    rosters = await _rosters(session, shifts)
    return [rosters[shift.id] for shift in _by_start(shifts)]


@dataclass(frozen=True)
class StationTeam:
    """A station's team on a day and what keeps it from opening now."""

    day: dt.date
    rosters: list[ShiftRoster]
    check: OpeningCheck


async def station_team(
    session: AsyncSession, station_id: int, now: dt.datetime, day: dt.date | None = None
) -> StationTeam:
    """``station_roster`` of ``day`` (the station's operations day when None,
    ``day.ops_day``) and ``opening_check`` at ``now``, the same as each gives, from one
    read of the station's shifts of today, tomorrow and ``day``, and one of their
    minimums, places and check-ins (each of the two reads them all again)."""
    zone = await local_zone(session)
    local = now.astimezone(zone)
    today = local.date()
    near = (today, today + dt.timedelta(days=1))
    shifts = list(await session.scalars(_shifts_of(station_id, [*near, *([day] if day else [])])))
    if day is None:
        day = day_of(local, zone, _bounds(s for s in shifts if s.day in near))
    current = running_shift((s for s in shifts if s.day in near), now, zone)
    drawn = _by_start(s for s in shifts if s.day == day)
    extra = [current] if current is not None and current not in drawn else []
    rosters = await _rosters(session, [*drawn, *extra])
    return StationTeam(
        day,
        [rosters[shift.id] for shift in drawn],
        _check_of(rosters[current.id]) if current is not None else _no_shift_runs(),
    )


def _by_start(shifts: Iterable[Shift]) -> list[Shift]:
    return sorted(shifts, key=lambda shift: (shift.starts_at, shift.id))


def _bounds(shifts: Iterable[Shift]) -> dict[dt.date, tuple[dt.time, dt.time]]:
    """The earliest start and the latest end of the shifts of each day."""
    bounds: dict[dt.date, tuple[dt.time, dt.time]] = {}
    for shift in shifts:
        first, last = bounds.get(shift.day, (shift.starts_at, shift.ends_at))
        bounds[shift.day] = (min(first, shift.starts_at), max(last, shift.ends_at))
    return bounds


async def _rosters(session: AsyncSession, shifts: list[Shift]) -> dict[int, ShiftRoster]:
    """Each shift's team, by shift id: its minimum, its places, who checked in."""
    shift_ids = [shift.id for shift in shifts]
    if not shift_ids:
        return {}
    minimums = dict(
        (
            await session.execute(
                select(StaffingNorm.shift_id, func.sum(counted_minimum()))
                .join(RoleType, RoleType.id == StaffingNorm.role_type_id)
                .where(StaffingNorm.shift_id.in_(shift_ids))
                .group_by(StaffingNorm.shift_id)
            )
        ).all()
    )
    # Names, not whole Person rows (with their JSON columns): every live drawing of a
    # station reads its team.
    rows = (
        await session.execute(
            select(
                Assignment.shift_id,
                Assignment.sent_at,
                Assignment.confirmed_at,
                Person.id,
                Person.first_name,
                Person.last_name,
                RoleType,
            )
            .join(Person, Person.id == Assignment.person_id)
            .join(RoleType, RoleType.id == Assignment.role_type_id)
            .where(Assignment.shift_id.in_(shift_ids), Assignment.state.in_(HOLDING_STATES))
            .order_by(
                RoleType.leads_station.desc(),
                RoleType.sort_order,
                Person.last_name,
                Person.first_name,
                Person.id,
            )
        )
    ).all()
    presence = await presence_on(session, shift_ids)
    entries: dict[int, list[RosterEntry]] = {shift_id: [] for shift_id in shift_ids}
    for shift_id, sent_at, confirmed_at, person_id, first_name, last_name, role in rows:
        seen = presence.get((shift_id, person_id))
        entries[shift_id].append(
            RosterEntry(
                person_id=person_id,
                name=f"{first_name} {last_name}",  # Person.full_name
                role=named(role),
                leads_station=role.leads_station,
                status=seen.kind if seen and seen.kind else "missing",
                counts=role.counts_toward_minimum,
                arrived_at=seen.arrived_at if seen else None,
                left_at=seen.left_at if seen else None,
                sent_at=sent_at,
                confirmed_at=confirmed_at,
            )
        )
    return {
        shift.id: ShiftRoster(shift, int(minimums.get(shift.id) or 0), entries[shift.id])
        for shift in shifts
    }
