"""Putting people on shifts: the checked, audited and race-safe use cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import DomainError, NotFound
from app.core.i18n import _, named
from app.domain.courses.qualifications import course_needs, unmet
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    Availability,
    District,
    DistrictPreference,
    Election,
    Person,
    Reserve,
    RoleType,
    Shift,
    StaffingNorm,
    Station,
)
from app.domain.staffing import place_notices, rules
from app.domain.staffing.kept_off import fills_its_place, kept_off
from app.domain.staffing.rules import Broken
from app.domain.staffing.working_time import WORKING_TIME_RULES, broken_working_time

#: The longest reason a planner gives for overriding a rule.
MAX_OVERRIDE_REASON = 300


class StaffingError(DomainError):
    """An assignment breaks rules. ``broken`` lists them; ``overridable`` is true when
    only soft rules are broken, so a planner may confirm it anyway."""

    def __init__(self, broken: Sequence[Broken] | str) -> None:
        if isinstance(broken, str):
            broken = [Broken("conflict", True, broken)]
        self.broken = list(broken)
        self.overridable = all(not b.hard for b in self.broken)
        #: A working-time rule is broken: an override must give a reason.
        self.needs_reason = any(b.rule in WORKING_TIME_RULES for b in self.broken)
        super().__init__(" ".join(b.message for b in self.broken), "person_id")


@dataclass(frozen=True)
class SlotContext:
    """Everything the rules need to know about one place: a role on a shift."""

    shift: Shift
    station: Station
    election: Election
    role: RoleType
    norm: StaffingNorm | None
    filled: int

    @property
    def work_kinds(self) -> tuple[str, ...]:
        return rules.work_kinds_for(self.station.kind, self.shift.ends_at)


async def lock_election(session: AsyncSession, election_id: int) -> None:
    """Take the election's staffing lock until the transaction ends.

    Every change to who holds a place starts here, so two planners (or a planner and
    the optimiser, or a clerk answering) are served one after the other and each
    checks the rules against what the other wrote. It is a write to the election's
    row: a row lock on PostgreSQL, and on SQLite (which has no row locks) the start
    of the write transaction, which serialises writers the same way.
    """
    await session.execute(
        update(Election)
        .where(Election.id == election_id)
        .values(status=Election.status)
        .execution_options(synchronize_session=False)
    )


async def slot_context(
    session: AsyncSession, shift_id: int, role_type_id: int, lock: bool = False
) -> SlotContext:
    """The shift, its station, election, the role and its norm, and how many hold a place.

    With ``lock`` the shift row is locked until commit (PostgreSQL), so two planners
    filling the last place of a shift are served one after the other.
    """
    statement = select(Shift).where(Shift.id == shift_id)
    if lock:
        statement = statement.with_for_update()
    shift = await session.scalar(statement)
    role = await session.scalar(select(RoleType).where(RoleType.id == role_type_id))
    if shift is None or role is None:
        raise NotFound(_("Not found."))
    station = await session.scalar(select(Station).where(Station.id == shift.station_id))
    assert station is not None
    election = await session.scalar(select(Election).where(Election.id == station.election_id))
    assert election is not None
    norm = await session.scalar(
        select(StaffingNorm).where(
            StaffingNorm.shift_id == shift.id, StaffingNorm.role_type_id == role.id
        )
    )
    filled = await session.scalar(
        select(func.count(Assignment.id)).where(
            Assignment.shift_id == shift.id,
            Assignment.role_type_id == role.id,
            fills_its_place(),
        )
    )
    return SlotContext(shift, station, election, role, norm, filled or 0)


async def bookings_on(
    session: AsyncSession,
    person_ids: Sequence[int],
    day: dt.date,
    excluding: Collection[int] = (),
) -> dict[int, list[tuple[dt.date, dt.time, dt.time, str]]]:
    """Each person's places that day (any election): (day, starts, ends, station name);
    without the assignments in ``excluding`` (places about to be given up)."""
    query = (
        select(Assignment.person_id, Shift.day, Shift.starts_at, Shift.ends_at, Station.name)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Station, Station.id == Assignment.station_id)
        .where(
            Assignment.person_id.in_(person_ids),
            Assignment.state.in_(HOLDING_STATES),
            Shift.day == day,
        )
    )
    if excluding:
        query = query.where(Assignment.id.not_in(list(excluding)))
    rows = await session.execute(query)
    booked: dict[int, list[tuple[dt.date, dt.time, dt.time, str]]] = {}
    for person_id, day_, starts, ends, station in rows:
        booked.setdefault(person_id, []).append((day_, starts, ends, station))
    return booked


async def availability_on(
    session: AsyncSession, person_ids: Sequence[int], election_id: int, day: dt.date
) -> dict[int, set[str]]:
    rows = await session.execute(
        select(Availability.person_id, Availability.work_kind).where(
            Availability.person_id.in_(person_ids),
            Availability.election_id == election_id,
            Availability.day == day,
        )
    )
    kinds: dict[int, set[str]] = {}
    for person_id, kind in rows:
        kinds.setdefault(person_id, set()).add(kind)
    return kinds


async def wishes_of(
    session: AsyncSession, person_ids: Sequence[int], election_id: int
) -> dict[int, set[int]]:
    rows = await session.execute(
        select(DistrictPreference.person_id, DistrictPreference.district_id)
        .join(District, District.id == DistrictPreference.district_id)
        .where(DistrictPreference.person_id.in_(person_ids), District.election_id == election_id)
    )
    wished: dict[int, set[int]] = {}
    for person_id, district_id in rows:
        wished.setdefault(person_id, set()).add(district_id)
    return wished


async def broken_rules(
    session: AsyncSession,
    slot: SlotContext,
    people: Sequence[Person],
    excluding: Collection[int] = (),
) -> dict[int, list[Broken]]:
    """For each person, the rules putting them in ``slot`` would break (hard ones first);
    ``excluding``: their places not to count as overlapping (given up for this one)."""
    ids = [person.id for person in people]
    booked = await bookings_on(session, ids, slot.shift.day, excluding)
    available = await availability_on(session, ids, slot.election.id, slot.shift.day)
    wished = await wishes_of(session, ids, slot.election.id)
    needs = await course_needs(session, slot.election, [(pid, slot.role.id) for pid in ids])
    working = await broken_working_time(
        session, ids, slot.shift.day, slot.shift.starts_at, slot.shift.ends_at, excluding
    )
    barred = await kept_off(session, ids, slot.election.id)
    capacity = rules.capacity_rule(
        slot.filled, slot.norm.target if slot.norm else 0, slot.norm is not None
    )
    result: dict[int, list[Broken]] = {}
    for person in people:
        found = [
            capacity,
            rules.age_rule(person.birth_date, slot.election.election_day),
            rules.overlap_rule(
                slot.shift.day, slot.shift.starts_at, slot.shift.ends_at, booked.get(person.id, [])
            ),
            rules.course_rule(
                [n.course_name for n in unmet(needs[(person.id, slot.role.id)], slot.shift.day)]
            ),
            rules.role_work_rule(slot.role.work_kinds, slot.work_kinds),
            rules.availability_rule(available.get(person.id, set()), slot.work_kinds),
            rules.district_rule(wished.get(person.id, set()), slot.station.district_id),
            *working.get(person.id, []),
            rules.kept_off_rule(barred.get(person.id, [])),
            rules.register_rule(person.died_on, person.moved_out_on),
        ]
        if person.status != "active":
            found.append(Broken("status", True, _("Only active people can be assigned.")))
        result[person.id] = sorted((b for b in found if b is not None), key=lambda b: not b.hard)
    return result


async def assign_person(
    session: AsyncSession,
    actor: Actor,
    shift_id: int,
    role_type_id: int,
    person_id: int,
    *,
    override: bool = False,
    source: str = "manual",
    reasons: Sequence[str] = (),
    override_reason: str = "",
) -> Assignment:
    """Put a person in a role on a shift, as a proposal.

    Refuses a hard rule (overlap, age, course, a full shift) always, and a soft one
    (availability, district wishes, working time) unless ``override``; an override is
    audited, and one of a working-time rule needs an ``override_reason``. The
    person and the shift are locked while checking, and a unique index refuses the
    same person twice on one shift, so concurrent planners never double-book.
    """
    assignment = await write_assignment(
        session,
        actor,
        shift_id,
        role_type_id,
        person_id,
        override=override,
        source=source,
        reasons=reasons,
        override_reason=override_reason,
    )
    await session.commit()
    return assignment


async def write_assignment(
    session: AsyncSession,
    actor: Actor,
    shift_id: int,
    role_type_id: int,
    person_id: int,
    *,
    override: bool = False,
    source: str = "manual",
    reasons: Sequence[str] = (),
    also_overridable: Collection[str] = (),
    override_reason: str = "",
) -> Assignment:
    """``assign_person`` without the commit, for a use case that places people as one
    step of a larger change and commits once itself (the last team, a reassignment).

    ``also_overridable`` names hard rules this use case may override like soft ones
    (the course rule, for a coordinator sending a reserve on election day).
    A refusal writes nothing: the rules are checked first, and the row goes in under
    a savepoint, so a double booking caught by the unique index takes back only that
    row, never what the caller wrote before.
    """
    election_id = await session.scalar(
        select(Station.election_id)
        .join(Shift, Shift.station_id == Station.id)
        .where(Shift.id == shift_id)
    )
    if election_id is None:
        raise NotFound(_("Not found."))
    await lock_election(session, election_id)
    person = await session.scalar(
        select(Person)
        .where(Person.id == person_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if person is None:
        raise NotFound(_("Not found."))
    slot = await slot_context(session, shift_id, role_type_id, lock=True)
    broken = (await broken_rules(session, slot, [person]))[person.id]
    if any(b.hard and b.rule not in also_overridable for b in broken) or (broken and not override):
        # Nothing was written; the locks go when the caller's transaction ends.
        raise StaffingError(broken)
    override_reason = override_reason.strip()[:MAX_OVERRIDE_REASON]
    if not override_reason and any(b.rule in WORKING_TIME_RULES for b in broken):
        raise StaffingError(broken)
    assignment = Assignment(
        election_id=slot.election.id,
        station_id=slot.station.id,
        shift_id=slot.shift.id,
        role_type_id=slot.role.id,
        person_id=person.id,
        state="proposed",
        source=source,
        overrides=[b.rule for b in broken],
        reasons=list(reasons),
        created_by_label=actor.label,
    )
    name = person.full_name
    try:
        async with session.begin_nested():
            session.add(assignment)
            await session.flush()
    except IntegrityError:
        raise StaffingError(_("%(name)s is already on this shift.", name=name)) from None
    await record(
        session,
        actor,
        "staffing.assignment.created",
        assignment,
        data={
            "person": person.id,
            "shift": slot.shift.id,
            "role": slot.role.code,
            "source": source,
            "overrides": [b.rule for b in broken],
            **({"override_reason": override_reason} if override_reason else {}),
        },
    )
    return assignment


async def get_assignment(session: AsyncSession, assignment_id: int) -> Assignment:
    assignment = await session.scalar(select(Assignment).where(Assignment.id == assignment_id))
    if assignment is None:
        raise NotFound(_("Not found."))
    return assignment


async def withdraw_assignment(
    session: AsyncSession, actor: Actor, assignment_id: int
) -> Assignment:
    """Take someone off a shift; the place is free again. An accepted or offered
    assignment is kept as withdrawn, and the person is told by e-mail and SMS; a
    proposal (which they never heard of) simply goes, untold."""
    assignment = await get_assignment(session, assignment_id)
    await lock_election(session, assignment.election_id)
    await session.refresh(assignment)
    if assignment.state not in HOLDING_STATES:
        raise StaffingError(_("This assignment no longer holds a place."))
    previous = assignment.state
    assignment.state = "withdrawn"
    told = previous in place_notices.TOLD_STATES
    if told:
        await _tell_withdrawn(session, assignment)
    await record(
        session,
        actor,
        "staffing.assignment.withdrawn",
        assignment,
        data={"was": previous, "told": told},
    )
    await session.commit()
    return assignment


async def _tell_withdrawn(session: AsyncSession, assignment: Assignment) -> None:
    summary = await place_notices.place_summary(session, assignment.id)
    await place_notices.tell_withdrawn(session, summary.person, summary.place)


# --- reserves and teams -------------------------------------------------------------------


async def add_reserve(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    person_id: int,
    district_id: int | None = None,
    note: str = "",
) -> Reserve:
    """Put a person in the election's reserve pool (for one district's area, or any)."""
    person = await session.scalar(select(Person).where(Person.id == person_id))
    election = await session.scalar(select(Election).where(Election.id == election_id))
    if person is None or election is None:
        raise NotFound(_("Not found."))
    if district_id is not None:
        district = await session.scalar(
            select(District).where(District.id == district_id, District.election_id == election.id)
        )
        if district is None:
            raise NotFound(_("Not found."))
    broken = rules.age_rule(person.birth_date, election.election_day)
    if broken is not None:
        raise StaffingError([broken])
    if await session.scalar(
        select(Reserve.id).where(Reserve.election_id == election.id, Reserve.person_id == person.id)
    ):
        raise StaffingError(_("%(name)s is already a reserve.", name=person.full_name))
    reserve = Reserve(
        election_id=election.id, person_id=person.id, district_id=district_id, note=note[:300]
    )
    session.add(reserve)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise StaffingError(_("This person is already a reserve.")) from None
    await record(session, actor, "staffing.reserve.added", reserve, data={"person": person.id})
    await session.commit()
    return reserve


async def reserve_pool(
    session: AsyncSession, election_id: int
) -> list[tuple[Reserve, Person, District | None]]:
    """The reserves of an election with their people and areas, by name."""
    rows = await session.execute(
        select(Reserve, Person, District)
        .join(Person, Person.id == Reserve.person_id)
        .outerjoin(District, District.id == Reserve.district_id)
        .where(Reserve.election_id == election_id)
        .order_by(Person.last_name, Person.first_name, Reserve.id)
    )
    return [(reserve, person, district) for reserve, person, district in rows]


async def remove_reserve(
    session: AsyncSession, actor: Actor, election_id: int, reserve_id: int
) -> None:
    reserve = await session.scalar(
        select(Reserve).where(Reserve.id == reserve_id, Reserve.election_id == election_id)
    )
    if reserve is None:
        raise NotFound(_("Not found."))
    await record(
        session, actor, "staffing.reserve.removed", reserve, data={"person": reserve.person_id}
    )
    await session.delete(reserve)
    await session.commit()


@dataclass(frozen=True)
class TeamResult:
    proposed: int
    skipped: list[tuple[str, str]]  # (person name, reason)


async def propose_last_team(session: AsyncSession, actor: Actor, station_id: int) -> TeamResult:
    """Propose the people who worked this station in the election it was rolled over
    from, in the same roles on the shifts of the same name. Anyone who breaks a hard
    rule now (or a soft one: they must be available again) is skipped, with why."""
    station = await session.scalar(select(Station).where(Station.id == station_id))
    if station is None:
        raise NotFound(_("Not found."))
    election = await session.scalar(select(Election).where(Election.id == station.election_id))
    assert election is not None
    if election.rolled_over_from_id is None:
        raise StaffingError(_("This election was not rolled over from an earlier one."))
    previous = await session.scalar(
        select(Station).where(
            Station.election_id == election.rolled_over_from_id, Station.name == station.name
        )
    )
    if previous is None:
        raise StaffingError(_("The earlier election had no station with this name."))
    previous_day = await session.scalar(
        select(Election.election_day).where(Election.id == election.rolled_over_from_id)
    )
    assert previous_day is not None
    rows = await session.execute(
        select(Assignment, Shift.name, Shift.day, Person)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Person, Person.id == Assignment.person_id)
        .where(Assignment.station_id == previous.id, Assignment.state == "accepted")
        .order_by(Shift.day, Shift.starts_at, Assignment.id)
    )
    # A shift is "the same" when it has the same name the same number of days before
    # election day (advance stations have one shift of a name per day).
    shifts = {
        (shift.name, (election.election_day - shift.day).days): shift.id
        for shift in await session.scalars(select(Shift).where(Shift.station_id == station.id))
    }
    team = [
        (old.role_type_id, (shift_name, (previous_day - day).days), person.id, person.full_name)
        for old, shift_name, day, person in rows.all()
    ]
    proposed = 0
    skipped: list[tuple[str, str]] = []
    for role_type_id, shift_key, person_id, name in team:
        shift_id = shifts.get(shift_key)
        if shift_id is None:
            skipped.append((name, _("No shift of that name now.")))
            continue
        try:
            # A refused member writes nothing (see write_assignment): the others stand.
            await write_assignment(
                session,
                actor,
                shift_id,
                role_type_id,
                person_id,
                source="team",
                reasons=[_("Worked this station last election.")],
            )
        except StaffingError as error:
            skipped.append((name, error.message))
        else:
            proposed += 1
    await session.commit()
    return TeamResult(proposed, skipped)


@dataclass(frozen=True)
class PersonPlace:
    assignment: Assignment
    election: str
    station: str
    shift: Shift
    role: str


async def places_of_person(session: AsyncSession, person_id: int) -> list[PersonPlace]:
    """A person's assignments in every election, newest shift first."""
    rows = await session.execute(
        select(Assignment, Election.name, Station.name, Shift, RoleType)
        .join(Election, Election.id == Assignment.election_id)
        .join(Station, Station.id == Assignment.station_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .where(Assignment.person_id == person_id)
        .order_by(Shift.day.desc(), Shift.starts_at, Assignment.id)
    )
    return [
        PersonPlace(a, election, station, shift, named(role))
        for a, election, station, shift, role in rows
    ]
