"""Optimiser runs: propose a staffing for an election, then apply all, some or none of it.

A run stores its proposal (``AutostaffRun.items``) for the planner to review. Applying
writes the chosen items as proposed assignments, after checking each again against
the database as it is then: someone may have been assigned by hand in between.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from babel import Locale
from babel.numbers import format_decimal
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _, get_locale
from app.core.models.base import utcnow
from app.domain.autostaff.costs import CostTable, Pick, distance_metres
from app.domain.autostaff.loading import load_problem
from app.domain.autostaff.problem import Problem
from app.domain.autostaff.solver import DEFAULT_NEAREST, Solution, solve
from app.domain.courses.qualifications import course_needs, unmet
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    AutostaffRun,
    Availability,
    District,
    DistrictPreference,
    Election,
    Person,
    Shift,
    StaffingNorm,
    Station,
)
from app.domain.staffing import rules
from app.domain.staffing.assignments import StaffingError, lock_election

_CHUNK = 5_000


def language_label(code: str) -> str:
    """A language's name in the reader's language ("arabiska" in Swedish)."""
    return str(Locale.parse(get_locale()).languages.get(code, code))


def pick_reasons(problem: Problem, pick: Pick) -> list[str]:
    """Why this person suits this place, in short phrases a planner reads."""
    candidate = problem.candidate(pick.person_id)
    station = problem.station(problem.shift(pick.shift_id).station_id)
    reasons = []
    metres = distance_metres(candidate, station)
    if metres is not None:
        distance = format_decimal(metres / 1000, format="0.0", locale=get_locale())
        reasons.append(_("Lives %(distance)s km away", distance=distance))
    if station.district_id is not None and station.district_id in candidate.wishes:
        reasons.append(_("Wished this district"))
    if candidate.id in station.last_team:
        reasons.append(_("Worked here last election"))
    spoken = [code for code in station.languages if code in candidate.languages]
    if spoken:
        reasons.append(_("Speaks %(language)s, needed here", language=language_label(spoken[0])))
    if candidate.experienced:
        reasons.append(_("Experienced"))
    return reasons


def _solve(problem: Problem, nearest: int | None) -> Solution:
    return solve(problem, nearest, CostTable(problem))


async def create_run(
    session: AsyncSession, actor: Actor, election_id: int, *, nearest: int | None = DEFAULT_NEAREST
) -> AutostaffRun:
    """Propose people for every open place of an election and store the proposal.

    The solve runs in a worker thread, so the event loop keeps serving requests; the
    run waits (status "pending") until a planner applies or discards it.
    """
    started = time.perf_counter()
    problem = await load_problem(session, election_id)
    # End the read transaction: the solve needs no connection.
    await session.commit()
    solution = await asyncio.to_thread(_solve, problem, nearest)
    evaluation = solution.evaluation
    items: list[dict[str, Any]] = [
        {
            "shift_id": pick.shift_id,
            "role_type_id": pick.role_type_id,
            "person_id": pick.person_id,
            "cost": cost,
            "reasons": pick_reasons(problem, pick),
        }
        for pick, cost in zip(solution.picks, evaluation.pick_costs, strict=True)
    ]
    run = AutostaffRun(
        election_id=problem.election_id,
        status="pending",
        items=items,
        costs={**evaluation.breakdown, **evaluation.counts},
        seconds=round(time.perf_counter() - started, 3),
        created_by_label=actor.label,
    )
    session.add(run)
    await session.flush()
    await record(
        session,
        actor,
        "staffing.autostaff.proposed",
        run,
        data={"election": problem.election_id, **evaluation.counts},
    )
    await session.commit()
    return run


async def get_run(session: AsyncSession, run_id: int, lock: bool = False) -> AutostaffRun:
    statement = select(AutostaffRun).where(AutostaffRun.id == run_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    run = await session.scalar(statement)
    if run is None:
        raise NotFound(_("Not found."))
    return run


async def list_runs(session: AsyncSession, election_id: int) -> list[AutostaffRun]:
    """An election's runs, newest first."""
    return list(
        await session.scalars(
            select(AutostaffRun)
            .where(AutostaffRun.election_id == election_id)
            .order_by(AutostaffRun.created_at.desc(), AutostaffRun.id.desc())
        )
    )


def _chunks(values: Sequence[int]) -> list[Sequence[int]]:
    return [values[start : start + _CHUNK] for start in range(0, len(values), _CHUNK)]


async def apply_run(
    session: AsyncSession, actor: Actor, run_id: int, item_indexes: list[int] | None = None
) -> tuple[int, list[tuple[int, str]]]:
    """Write the chosen items of a pending run (``None``: all) as proposed assignments.

    Each item is checked again, in bulk, against the database as it is now: the shift
    still exists and has a free place for the role, the person is still active, 18 on
    election day, holds no place that day (one shift a day, as the optimiser planned;
    this also rules out overlaps and duplicates), still has the courses the role
    requires (met before the shift's day) and is still available. Items that
    no longer fit are skipped with the reason; the rest are written in one
    transaction. Returns (written, [(item index, reason)]).
    """
    run = await get_run(session, run_id, lock=True)
    if run.status != "pending":
        raise StaffingError(_("This proposal was already applied or discarded."))
    await lock_election(session, run.election_id)
    items = run.items
    done = {index for index, item in enumerate(items) if item.get("applied")}
    if item_indexes is None:
        chosen = [index for index in range(len(items)) if index not in done]
    else:
        if any(not 0 <= index < len(items) for index in item_indexes):
            raise StaffingError(_("The proposal has no such item."))
        chosen = sorted(set(item_indexes) - done)
    election = await session.scalar(select(Election).where(Election.id == run.election_id))
    assert election is not None

    shift_ids = sorted({items[i]["shift_id"] for i in chosen})
    person_ids = sorted({items[i]["person_id"] for i in chosen})
    # Lock the people, then the shifts (PostgreSQL), in the order ``assign_person`` locks
    # them, so a planner assigning by hand meanwhile waits for us instead of slipping a
    # second place that day or the last place of a shift in between check and insert.
    people: dict[int, Any] = {}
    for chunk in _chunks(person_ids):
        rows = await session.execute(
            select(Person.id, Person.status, Person.birth_date)
            .where(Person.id.in_(chunk))
            .order_by(Person.id)
            .with_for_update()
        )
        people.update({row.id: row for row in rows})
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
    targets = {
        (shift_id, role_id): target
        for shift_id, role_id, target in await session.execute(
            select(StaffingNorm.shift_id, StaffingNorm.role_type_id, StaffingNorm.target)
            .join(Shift, Shift.id == StaffingNorm.shift_id)
            .join(Station, Station.id == Shift.station_id)
            .where(Station.election_id == election.id)
        )
    }
    filled = {
        (shift_id, role_id): count
        for shift_id, role_id, count in await session.execute(
            select(Assignment.shift_id, Assignment.role_type_id, func.count(Assignment.id))
            .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
            .group_by(Assignment.shift_id, Assignment.role_type_id)
        )
    }
    days = sorted({row.day for row in shifts.values()})
    booked: dict[tuple[int, Any], str] = {}
    available: dict[tuple[int, Any], set[str]] = {}
    if days:
        for person_id, day, station_name in await session.execute(
            select(Assignment.person_id, Shift.day, Station.name)
            .join(Shift, Shift.id == Assignment.shift_id)
            .join(Station, Station.id == Assignment.station_id)
            .where(Assignment.state.in_(HOLDING_STATES), Shift.day.in_(days))
            .order_by(Assignment.id)
        ):
            booked.setdefault((person_id, day), station_name)
        for person_id, day, kind in await session.execute(
            select(Availability.person_id, Availability.day, Availability.work_kind).where(
                Availability.election_id == election.id, Availability.day.in_(days)
            )
        ):
            available.setdefault((person_id, day), set()).add(kind)
    wishes: dict[int, set[int]] = {}
    for person_id, district_id in await session.execute(
        select(DistrictPreference.person_id, DistrictPreference.district_id)
        .join(District, District.id == DistrictPreference.district_id)
        .where(District.election_id == election.id)
    ):
        wishes.setdefault(person_id, set()).add(district_id)

    # A course booking may have been cancelled since the run: the course rule again.
    needs = await course_needs(
        session, election, {(items[i]["person_id"], items[i]["role_type_id"]) for i in chosen}
    )

    rows_to_write: list[dict[str, Any]] = []
    skipped: list[tuple[int, str]] = []
    overridden = 0

    def refusal(item: dict[str, Any], shift: Any, person: Any) -> str | None:
        """Why an item no longer fits, or None."""
        if shift is None:
            return _("The shift no longer exists.")
        if person is None:
            return _("The person no longer exists.")
        if person.status != "active":
            return _("Only active people can be assigned.")
        broken = rules.age_rule(person.birth_date, election.election_day)
        if broken is not None:
            return broken.message
        if (person.id, shift.day) in booked:
            return _(
                "Already has a place that day at %(station)s.",
                station=booked[(person.id, shift.day)],
            )
        broken = rules.course_rule(
            [n.course_name for n in unmet(needs[(person.id, item["role_type_id"])], shift.day)]
        )
        if broken is not None:
            return broken.message
        key = (shift.id, item["role_type_id"])
        broken = rules.capacity_rule(filled.get(key, 0), targets.get(key, 0), key in targets)
        if broken is None:
            broken = rules.availability_rule(
                available.get((person.id, shift.day), set()),
                rules.work_kinds_for(shift.kind, shift.ends_at),
            )
        return broken.message if broken is not None else None

    for index in chosen:
        item = items[index]
        shift = shifts.get(item["shift_id"])
        person = people.get(item["person_id"])
        reason = refusal(item, shift, person)
        if reason is not None:
            skipped.append((index, reason))
            continue
        assert shift is not None and person is not None
        overrides = (
            ["district_preference"]
            if rules.district_rule(wishes.get(person.id, set()), shift.district_id)
            else []
        )
        overridden += bool(overrides)
        booked[(person.id, shift.day)] = ""
        key = (shift.id, item["role_type_id"])
        filled[key] = filled.get(key, 0) + 1
        rows_to_write.append(
            {
                "tenant_id": run.tenant_id,
                "election_id": election.id,
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
    try:
        for start in range(0, len(rows_to_write), 2_000):
            await session.execute(insert(Assignment), rows_to_write[start : start + 2_000])
    except IntegrityError:
        await session.rollback()
        raise StaffingError(
            _("Someone changed this election's staffing at the same time; try again.")
        ) from None
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
            "written": len(rows_to_write),
            "skipped": len(skipped),
            # Proposing someone outside their wished districts is the planner's
            # accepted override of a soft rule, recorded on each assignment too.
            "overrides": overridden,
        },
    )
    await session.commit()
    return len(rows_to_write), skipped


async def discard_run(session: AsyncSession, actor: Actor, run_id: int) -> AutostaffRun:
    """Drop a pending proposal without writing anything."""
    run = await get_run(session, run_id, lock=True)
    if run.status != "pending":
        raise StaffingError(_("This proposal was already applied or discarded."))
    run.status = "discarded"
    run.decided_at = utcnow()
    await record(session, actor, "staffing.autostaff.discarded", run)
    await session.commit()
    return run
