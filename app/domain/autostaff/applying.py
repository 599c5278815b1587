"""Applying a run: writing the chosen items of a proposal as proposed assignments.

Each item is checked again, in bulk, against the database as it is now (someone may
have been assigned by hand since the run): the shift still exists and has a free place
for the role, the person is still active, 18 on election day, holds no place that day
(one shift a day, as the optimiser planned; this also rules out overlaps and
duplicates), still has the courses the role requires (met before the shift's day) and
is still available, and is not a reserve of the election (unless the run included the
reserves: someone made a reserve since the run stays one). Items that no longer fit
are skipped with the reason; the rest are written in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.i18n import _
from app.core.models.base import utcnow
from app.domain.autostaff.loading import district_wishes
from app.domain.autostaff.runs import get_run
from app.domain.courses.qualifications import CourseNeed, course_needs, unmet
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    AutostaffRun,
    Availability,
    Election,
    Person,
    RoleType,
    Shift,
    StaffingNorm,
    Station,
)
from app.domain.staffing import rules
from app.domain.staffing.assignments import StaffingError, lock_election
from app.domain.staffing.kept_off import fills_its_place, kept_off_people
from app.domain.staffing.reserves import reserve_people

#: Ids per ``IN (...)`` query.
CHUNK = 5_000
#: Assignment rows per insert.
INSERT_BATCH = 2_000


@dataclass
class StaffingNow:
    """The election's staffing as it is now, for checking items again; updated as each
    item is taken, so two items cannot share a place or a person's day."""

    election: Election
    people: dict[int, Any]
    shifts: dict[int, Any]
    targets: dict[tuple[int, int], int]
    filled: dict[tuple[int, int], int]
    #: (person, day) -> the station where they hold a place that day.
    booked: dict[tuple[int, Any], str]
    available: dict[tuple[int, Any], set[str]]
    wishes: dict[int, set[int]]
    needs: dict[tuple[int, int], list[CourseNeed]]
    #: The election's reserves, when the run kept them back.
    reserves: set[int] = field(default_factory=set)
    #: Candidates in the election and people the municipality excluded.
    barred: set[int] = field(default_factory=set)
    #: Per role type, the kinds of work it may do (where the office lets it work).
    role_kinds: dict[int, list[str]] = field(default_factory=dict)

    def refusal(self, item: dict[str, Any], shift: Any, person: Any) -> str | None:
        """Why an item no longer fits, or None."""
        if shift is None:
            return _("The shift no longer exists.")
        if person is None:
            return _("The person no longer exists.")
        if person.status != "active":
            return _("Only active people can be assigned.")
        if person.id in self.barred:
            return _("A candidate in this election, or excluded by the municipality.")
        if person.id in self.reserves:
            return _("A reserve in this election; the proposal keeps reserves back.")
        broken = rules.age_rule(person.birth_date, self.election.election_day)
        if broken is not None:
            return broken.message
        if (person.id, shift.day) in self.booked:
            return _(
                "Already has a place that day at %(station)s.",
                station=self.booked[(person.id, shift.day)],
            )
        broken = rules.course_rule(
            [n.course_name for n in unmet(self.needs[(person.id, item["role_type_id"])], shift.day)]
        )
        if broken is not None:
            return broken.message
        key = (shift.id, item["role_type_id"])
        broken = rules.capacity_rule(
            self.filled.get(key, 0), self.targets.get(key, 0), key in self.targets
        )
        if broken is None and item["role_type_id"] in self.role_kinds:
            broken = rules.role_work_rule(
                self.role_kinds[item["role_type_id"]],
                rules.work_kinds_for(shift.kind, shift.ends_at),
            )
        if broken is None:
            broken = rules.availability_rule(
                self.available.get((person.id, shift.day), set()),
                rules.work_kinds_for(shift.kind, shift.ends_at),
            )
        return broken.message if broken is not None else None

    def take(self, item: dict[str, Any], shift: Any, person: Any) -> None:
        """Count the item's place as held and the person's day as booked."""
        self.booked[(person.id, shift.day)] = ""
        key = (shift.id, item["role_type_id"])
        self.filled[key] = self.filled.get(key, 0) + 1


async def apply_run(
    session: AsyncSession, actor: Actor, run_id: int, item_indexes: list[int] | None = None
) -> tuple[int, list[tuple[int, str]]]:
    """Write the chosen items of a pending run (``None``: all) as proposed assignments.

    Each item is checked again against the database as it is now (see the module's
    docstring); items that no longer fit are skipped with the reason, the rest written
    in one transaction. Returns (written, [(item index, reason)]).
    """
    run = await get_run(session, run_id, lock=True)
    if run.status != "pending":
        raise StaffingError(_("This proposal was already applied or discarded."))
    await lock_election(session, run.election_id)
    items = run.items
    done = {index for index, item in enumerate(items) if item.get("applied")}
    chosen = _chosen_items(items, done, item_indexes)
    election = await session.scalar(select(Election).where(Election.id == run.election_id))
    assert election is not None
    now = await _staffing_now(session, election, [items[i] for i in chosen])
    if not run.costs.get("reserves_included"):
        now.reserves = await reserve_people(session, election.id)
    rows, skipped, overridden = _assignment_rows(run, actor, now, chosen)
    await _insert_assignments(session, rows)
    # Items written or looked at are marked, so the rest can still be accepted later
    # (district by district); the run closes when nothing is left.
    handled = done | set(chosen)
    run.items = [
        {**item, "applied": True} if index in handled else item for index, item in enumerate(items)
    ]
    if len(handled) == len(items):
        run.status = "applied"
        run.decided_at = utcnow()
    await record(
        session,
        actor,
        "staffing.autostaff.applied",
        run,
        data={
            "election": election.id,
            "chosen": len(chosen),
            "written": len(rows),
            "skipped": len(skipped),
            # Proposing someone outside their wished districts is the planner's
            # accepted override of a soft rule, recorded on each assignment too.
            "overrides": overridden,
        },
    )
    await session.commit()
    return len(rows), skipped


def _chosen_items(
    items: list[dict[str, Any]], done: set[int], item_indexes: list[int] | None
) -> list[int]:
    """The indexes to apply, in order: those asked for (``None``: all), less those done."""
    if item_indexes is None:
        return [index for index in range(len(items)) if index not in done]
    if any(not 0 <= index < len(items) for index in item_indexes):
        raise StaffingError(_("The proposal has no such item."))
    return sorted(set(item_indexes) - done)


async def _staffing_now(
    session: AsyncSession, election: Election, items: list[dict[str, Any]]
) -> StaffingNow:
    """Read (and lock) what the items are checked against."""
    # Lock the people, then the shifts (PostgreSQL), in the order ``assign_person`` locks
    # them, so a planner assigning by hand meanwhile waits for us instead of slipping a
    # second place that day or the last place of a shift in between check and insert.
    people = await _lock_people(session, sorted({item["person_id"] for item in items}))
    shifts = await _lock_shifts(session, election, sorted({item["shift_id"] for item in items}))
    targets = await _targets(session, election)
    filled = await _filled(session, election)
    days = sorted({row.day for row in shifts.values()})
    booked = await _booked(session, days)
    available = await _available(session, election, days)
    wishes = await district_wishes(session, election)
    # A course booking may have been cancelled since the run: the course rule again.
    needs = await course_needs(
        session, election, {(item["person_id"], item["role_type_id"]) for item in items}
    )
    now = StaffingNow(election, people, shifts, targets, filled, booked, available, wishes, needs)
    now.barred = await kept_off_people(session, election.id)
    now.role_kinds = dict(
        (role_id, list(kinds))
        for role_id, kinds in await session.execute(select(RoleType.id, RoleType.work_kinds))
    )
    return now


def _chunks(values: Sequence[int]) -> list[Sequence[int]]:
    return [values[start : start + CHUNK] for start in range(0, len(values), CHUNK)]


async def _lock_people(session: AsyncSession, person_ids: list[int]) -> dict[int, Any]:
    """The people's status and birth date, their rows locked."""
    people: dict[int, Any] = {}
    for chunk in _chunks(person_ids):
        rows = await session.execute(
            select(Person.id, Person.status, Person.birth_date)
            .where(Person.id.in_(chunk))
            .order_by(Person.id)
            .with_for_update()
        )
        people.update({row.id: row for row in rows})
    return people


async def _lock_shifts(
    session: AsyncSession, election: Election, shift_ids: list[int]
) -> dict[int, Any]:
    """The shifts (still in this election) with their station's kind and district, their
    rows locked."""
    shifts: dict[int, Any] = {}
    for chunk in _chunks(shift_ids):
        rows = await session.execute(
            select(
                Shift.id,
                Shift.station_id,
                Shift.day,
                Shift.starts_at,
                Shift.ends_at,
                Station.kind,
                Station.district_id,
            )
            .join(Station, Station.id == Shift.station_id)
            .where(Shift.id.in_(chunk), Station.election_id == election.id)
            .order_by(Shift.id)
            .with_for_update(of=Shift)
        )
        shifts.update({row.id: row for row in rows})
    return shifts


async def _targets(session: AsyncSession, election: Election) -> dict[tuple[int, int], int]:
    """Each norm's target, per (shift, role)."""
    return {
        (shift_id, role_id): target
        for shift_id, role_id, target in await session.execute(
            select(StaffingNorm.shift_id, StaffingNorm.role_type_id, StaffingNorm.target)
            .join(Shift, Shift.id == StaffingNorm.shift_id)
            .join(Station, Station.id == Shift.station_id)
            .where(Station.election_id == election.id)
        )
    }


async def _filled(session: AsyncSession, election: Election) -> dict[tuple[int, int], int]:
    """The places held now, per (shift, role)."""
    return {
        (shift_id, role_id): count
        for shift_id, role_id, count in await session.execute(
            select(Assignment.shift_id, Assignment.role_type_id, func.count(Assignment.id))
            .where(Assignment.election_id == election.id, fills_its_place())
            .group_by(Assignment.shift_id, Assignment.role_type_id)
        )
    }


async def _booked(session: AsyncSession, days: list[Any]) -> dict[tuple[int, Any], str]:
    """(person, day) -> the station of the first place they hold that day, in any
    election."""
    booked: dict[tuple[int, Any], str] = {}
    if not days:
        return booked
    for person_id, day, station_name in await session.execute(
        select(Assignment.person_id, Shift.day, Station.name)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Station, Station.id == Assignment.station_id)
        .where(Assignment.state.in_(HOLDING_STATES), Shift.day.in_(days))
        .order_by(Assignment.id)
    ):
        booked.setdefault((person_id, day), station_name)
    return booked


async def _available(
    session: AsyncSession, election: Election, days: list[Any]
) -> dict[tuple[int, Any], set[str]]:
    """(person, day) -> the kinds of work they said they can do."""
    available: dict[tuple[int, Any], set[str]] = {}
    if not days:
        return available
    for person_id, day, kind in await session.execute(
        select(Availability.person_id, Availability.day, Availability.work_kind).where(
            Availability.election_id == election.id, Availability.day.in_(days)
        )
    ):
        available.setdefault((person_id, day), set()).add(kind)
    return available


def _assignment_rows(
    run: AutostaffRun, actor: Actor, now: StaffingNow, chosen: list[int]
) -> tuple[list[dict[str, Any]], list[tuple[int, str]], int]:
    """The assignment rows of the items that still fit, the skipped items with their
    reason, and how many rows override a district wish."""
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[int, str]] = []
    overridden = 0
    for index in chosen:
        item = run.items[index]
        shift = now.shifts.get(item["shift_id"])
        person = now.people.get(item["person_id"])
        reason = now.refusal(item, shift, person)
        if reason is not None:
            skipped.append((index, reason))
            continue
        assert shift is not None and person is not None
        overrides = (
            ["district_preference"]
            if rules.district_rule(now.wishes.get(person.id, set()), shift.district_id)
            else []
        )
        overridden += bool(overrides)
        now.take(item, shift, person)
        rows.append(
            {
                "tenant_id": run.tenant_id,
                "election_id": now.election.id,
                "station_id": shift.station_id,
                "shift_id": shift.id,
                "role_type_id": item["role_type_id"],
                "person_id": person.id,
                "state": "proposed",
                "source": "optimiser",
                "overrides": overrides,
                "reasons": list(item.get("reasons", [])),
                "created_by_label": actor.label,
            }
        )
    return rows, skipped, overridden


async def _insert_assignments(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert the rows in batches; a unique index broken by a concurrent change rolls
    back and asks the planner to try again."""
    try:
        for start in range(0, len(rows), INSERT_BATCH):
            await session.execute(insert(Assignment), rows[start : start + INSERT_BATCH])
    except IntegrityError:
        await session.rollback()
        raise StaffingError(
            _("Someone changed this election's staffing at the same time; try again.")
        ) from None
