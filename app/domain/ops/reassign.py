"""Sending someone to a station on election day: a reserve, or a clerk moved from
another station, straight into a place that is theirs, shown as "sent" until they
confirm it on their phone (``sent_places.confirm_sent``).

It goes through the staffing rules (``write_assignment``) under the staffing lock, so two
coordinators filling the last place at once are served one after the other: the first
gets the place, the second a conflict that says the place was filled meanwhile, and
nobody is ever booked twice. On the day a coordinator may send someone past a soft rule
(availability, district wishes) or the training rule by giving a reason, which the audit
log keeps; the other hard rules (age, another place at the same time, a full shift)
hold. The station's leads get a push (``notify.reassigned``); the person sent and the
one replaced an SMS and a push (``reserve_notices``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _, named
from app.core.models import utcnow
from app.core.validation import FieldErrors
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    CheckIn,
    Person,
    Reserve,
    RoleType,
    Shift,
    Station,
)
from app.domain.ops import OpsConflict, OpsError, notify, reserve_notices
from app.domain.ops.access import get_station, is_coordinator, refuse
from app.domain.ops.news import announce
from app.domain.ops.stations import MAX_REASON_LENGTH
from app.domain.staffing.assignments import StaffingError, lock_election, write_assignment
from app.domain.staffing.rules import Broken

#: Hard rules a coordinator may break on election day with a reason (a reserve without
#: the course is better than a station that cannot open); the soft rules too.
OVERRIDABLE_ON_THE_DAY = frozenset({"course"})


def overridable_on_the_day(broken: Broken) -> bool:
    """Whether a coordinator may send someone past ``broken`` by giving a reason."""
    return not broken.hard or broken.rule in OVERRIDABLE_ON_THE_DAY


async def reassign(
    session: AsyncSession,
    actor: Actor,
    *,
    shift_id: int,
    role_type_id: int,
    person_id: int,
    move_assignment_id: int | None = None,
    replace_assignment_id: int | None = None,
    override_reason: str = "",
) -> Assignment:
    """Put a person in a role on a station's shift, now: the place is theirs (accepted)
    and marked sent until they confirm it.

    ``move_assignment_id``: the person's place elsewhere, given up in the same
    transaction (a clerk moved from another station). ``replace_assignment_id``: the
    place of someone who did not come, freed for this person. Availability, district
    wishes and the role's course may be broken with an ``override_reason`` (audited
    with the rules broken); without one it is refused at that field. The other hard
    rules (a full shift, overlapping places, age) hold. Only a coordinator may. A place
    someone else filled meanwhile raises OpsConflict; nothing is written on a refusal.
    """
    reason = override_reason.strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise FieldErrors(
            {"override_reason": _("At most %(count)s characters.", count=MAX_REASON_LENGTH)}
        )
    shift = await session.scalar(select(Shift).where(Shift.id == shift_id))
    if shift is None:
        raise NotFound(_("Not found."))
    station = await get_station(session, shift.station_id)
    station_id, election_id = station.id, station.election_id
    if not await is_coordinator(session, actor):
        await refuse(session, actor, station_id)
    # The staffing lock first: everything below sees what another coordinator wrote.
    await lock_election(session, election_id)
    affected = {station_id}
    replaced = None
    if replace_assignment_id is not None:
        replaced = await _holding(session, replace_assignment_id)
        if (
            replaced is None
            or replaced.shift_id != shift_id
            or replaced.role_type_id != role_type_id
        ):
            await session.rollback()
            raise OpsConflict(
                _("That place changed meanwhile. Look again and decide."), "replace_assignment_id"
            )
        await _give_up(session, actor, replaced, "replaced")
    moved = None
    if move_assignment_id is not None:
        moved = await _holding(session, move_assignment_id)
        if moved is None or moved.person_id != person_id or moved.election_id != election_id:
            await session.rollback()
            raise OpsConflict(
                _("The person's place changed meanwhile. Look again and decide."), "person_id"
            )
        affected.add(moved.station_id)
        await _give_up(session, actor, moved, "moved")
    await session.flush()
    assignment = await _write_place(session, actor, shift_id, role_type_id, person_id, reason)
    now = utcnow()
    assignment.state = "accepted"
    assignment.responded_at = now
    assignment.sent_at = now
    await session.flush()
    overrides = list(assignment.overrides)
    data = {
        "assignment_id": assignment.id,
        "person_id": person_id,
        "shift_id": shift_id,
        "role_type_id": role_type_id,
        "moved_from": moved.station_id if moved else None,
        "replaced_assignment_id": replaced.id if replaced else None,
    }
    # Who and when are the audit entry's own; which rules and why are its data.
    await record(
        session,
        actor,
        "ops.reassign.overridden" if overrides else "ops.reassigned",
        assignment,
        data={**data, "overrides": overrides, "override_reason": reason if overrides else ""},
    )
    # The station's leads hear of it (and of the absence, when someone is replaced);
    # the person sent and the one replaced are told themselves, by SMS and push.
    await notify.reassigned(session, actor, assignment, replaced)
    await reserve_notices.reserve_sent(session, assignment, replaced)
    for affected_id in sorted(affected):
        await announce(
            session,
            election_id,
            affected_id,
            "staffing.reassigned",
            {**data, "station_id": affected_id, "to_station_id": station_id},
        )
    await session.commit()
    return assignment


async def _write_place(
    session: AsyncSession,
    actor: Actor,
    shift_id: int,
    role_type_id: int,
    person_id: int,
    reason: str,
) -> Assignment:
    """The place, through the staffing rules; a refusal rolls back what the caller wrote
    and says where: the place filled meanwhile, the reason missing, or a hard rule."""
    try:
        assignment = await write_assignment(
            session,
            actor,
            shift_id,
            role_type_id,
            person_id,
            override=bool(reason),
            also_overridable=OVERRIDABLE_ON_THE_DAY,
            override_reason=reason,
        )
    except StaffingError as error:
        await session.rollback()
        if any(broken.rule == "norm" for broken in error.broken):
            raise OpsConflict(
                " ".join([_("The place was filled meanwhile."), error.message]), "person_id"
            ) from None
        if not reason and all(overridable_on_the_day(broken) for broken in error.broken):
            raise FieldErrors(
                {
                    "override_reason": " ".join(
                        [error.message, _("Give a reason to send them anyway.")]
                    )
                }
            ) from None
        raise OpsError(error.message, "person_id") from None
    return assignment


async def _holding(session: AsyncSession, assignment_id: int) -> Assignment | None:
    return await session.scalar(
        select(Assignment)
        .where(Assignment.id == assignment_id, Assignment.state.in_(HOLDING_STATES))
        .execution_options(populate_existing=True)
    )


async def _give_up(session: AsyncSession, actor: Actor, assignment: Assignment, why: str) -> None:
    previous = assignment.state
    assignment.state = "withdrawn"
    await record(
        session,
        actor,
        "staffing.assignment.withdrawn",
        assignment,
        data={"was": previous, "why": why},
    )


@dataclass(frozen=True)
class Candidate:
    """Someone a coordinator could send to a station."""

    person_id: int
    name: str
    #: "reserve", or "clerk" (holding a place at another station that day).
    kind: str
    #: The clerk's current place, given up when they are moved.
    assignment_id: int | None = None
    where: str = ""


async def reassign_candidates(
    session: AsyncSession, station_id: int, day: dt.date
) -> list[Candidate]:
    """The election's reserves free that day, then the clerks of the station's district's
    other stations that day (moving one leaves a gap there: the coordinator weighs it)."""
    station = await get_station(session, station_id)
    busy = (
        select(Assignment.person_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(Shift.day == day, Assignment.state.in_(HOLDING_STATES))
    )
    reserves = await session.scalars(
        select(Person)
        .join(Reserve, Reserve.person_id == Person.id)
        .where(Reserve.election_id == station.election_id, Person.id.not_in(busy))
        .order_by(Person.last_name, Person.first_name)
    )
    found = [Candidate(person.id, person.full_name, "reserve") for person in reserves]
    if station.district_id is None:
        return found
    clerks = await session.execute(
        select(Person, Assignment.id, Station.name, RoleType)
        .join(Assignment, Assignment.person_id == Person.id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Station, Station.id == Assignment.station_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .where(
            Station.district_id == station.district_id,
            Station.id != station.id,
            Shift.day == day,
            Assignment.state.in_(HOLDING_STATES),
        )
        .order_by(Station.name, Person.last_name, Person.first_name)
    )
    found.extend(
        Candidate(person.id, person.full_name, "clerk", assignment_id, f"{where}, {named(role)}")
        for person, assignment_id, where, role in clerks
    )
    return found


@dataclass(frozen=True)
class AbsentPlace:
    """A place on a shift whose holder has not checked in: one a reserve may take over."""

    assignment_id: int
    shift_id: int
    role_type_id: int
    name: str
    label: str


async def absent_places(session: AsyncSession, shift_ids: list[int]) -> list[AbsentPlace]:
    """The places on the shifts whose holders have not checked in at all."""
    if not shift_ids:
        return []
    checked_in = select(CheckIn.id).where(
        CheckIn.shift_id == Assignment.shift_id, CheckIn.person_id == Assignment.person_id
    )
    rows = await session.execute(
        select(Assignment, Person, Shift, RoleType)
        .join(Person, Person.id == Assignment.person_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .where(
            Assignment.shift_id.in_(shift_ids),
            Assignment.state.in_(HOLDING_STATES),
            ~checked_in.exists(),
        )
        .order_by(Shift.starts_at, RoleType.sort_order, Person.last_name, Person.first_name)
    )
    return [
        AbsentPlace(
            assignment.id,
            assignment.shift_id,
            assignment.role_type_id,
            person.full_name,
            f"{person.full_name} ({named(shift)}, {named(role)})",
        )
        for assignment, person, shift, role in rows
    ]
