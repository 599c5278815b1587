"""Re-running a proposal after people declined or were withdrawn: the planner's button.

A run's accepted items are assignments; when one of them is declined (or withdrawn)
its place opens again. ``rerun_after_declines`` loads the election as it is now (every
other assignment holds its place, its person's day and its share of the spread and
the shift's experienced person and chair), and ``incremental.rerun`` fills only the
freed places again, exactly, without the people who declined them. The result is a
new pending run holding only those places, each with who declined it and who is
proposed instead (``costs["changes"]``), for the planner to review and accept as any
proposal; nobody else's place is touched. The declines a re-run answered are noted on
the old run (``costs["rerun_done"]``), so each is re-run once; discarding the re-run
gives them back (``runs.discard_run``), so a re-run that found nobody can be made again.

Only the freed places' shifts and the people free on their days are loaded
(``load_problem(only_shifts=...)``): the rest of the election plays no part.

**Proposals still pending hold their people.** A proposal the planner has not accepted
(or not all of it: accepting district by district leaves the rest pending) may still
be accepted. A re-run that proposed one of its people for the same day would book them
twice, or leave one of the two places open when the second is accepted. So the
unaccepted rows of every pending proposal of the election count as places held
(``incremental.held_by_pending``); how many people that kept out is stored
(``costs["held_by_pending"]``, with the proposals holding them, ``costs["held_by_runs"]``)
and said on the new proposal, with the way to free them: discard those proposals.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.i18n import _, named
from app.domain.autostaff import problem as model
from app.domain.autostaff.costs import Pick
from app.domain.autostaff.incremental import held_by_pending, rerun
from app.domain.autostaff.loading import load_problem
from app.domain.autostaff.runs import get_run, note_reruns_done, pick_reasons
from app.domain.autostaff.unfilled import unfilled_places
from app.domain.models import Assignment, AutostaffRun, Person, RoleType, Shift, Station
from app.domain.staffing.assignments import StaffingError

#: The states of an assignment whose place is free again.
FREED_STATES = ("declined", "withdrawn")


async def declined_since(session: AsyncSession, run: AutostaffRun) -> list[tuple[int, Pick]]:
    """The run's accepted items whose assignment has since been declined or withdrawn
    and not re-run yet: (assignment id, the pick), in assignment order."""
    applied = {
        (item["shift_id"], item["role_type_id"], item["person_id"])
        for item in run.items
        if item.get("applied")
    }
    if not applied:
        return []
    done = set(run.costs.get("rerun_done") or [])
    # The election's declines since the run are few: read them, keep the run's.
    rows = await session.execute(
        select(Assignment.id, Assignment.shift_id, Assignment.role_type_id, Assignment.person_id)
        .where(
            Assignment.election_id == run.election_id,
            Assignment.state.in_(FREED_STATES),
            Assignment.created_at >= run.created_at,
        )
        .order_by(Assignment.id)
    )
    return [
        (row.id, Pick(row.shift_id, row.role_type_id, row.person_id))
        for row in rows
        if row.id not in done and (row.shift_id, row.role_type_id, row.person_id) in applied
    ]


async def runs_with_declines(
    session: AsyncSession, election_id: int, newest: int = 3
) -> list[tuple[AutostaffRun, int]]:
    """Of the election's ``newest`` runs, those with places declined since they were
    accepted and not re-run yet, with how many: for the board to offer the re-run."""
    runs = await session.scalars(
        select(AutostaffRun)
        .where(AutostaffRun.election_id == election_id)
        .order_by(AutostaffRun.id.desc())
        .limit(newest)
    )
    found = []
    for run in runs.all():
        declined = await declined_since(session, run)
        if declined:
            found.append((run, len(declined)))
    return found


async def rerun_after_declines(session: AsyncSession, actor: Actor, run_id: int) -> AutostaffRun:
    """A new pending run filling only the places of ``run`` declined or withdrawn since
    it was accepted; everyone else keeps their place. Refused when there is none."""
    started = time.perf_counter()
    run = await get_run(session, run_id)
    declined = await declined_since(session, run)
    if not declined:
        raise StaffingError(
            _(
                "Nobody has declined a place of this proposal since it was accepted: "
                "nothing to re-run."
            )
        )
    include_reserves = bool(run.costs.get("reserves_included"))
    freed = [pick for _id, pick in declined]
    problem = await load_problem(
        session,
        run.election_id,
        include_reserves=include_reserves,
        only_shifts={pick.shift_id for pick in freed},
    )
    pending, runs_of = await pending_places(
        session, run.election_id, {candidate.id for candidate in problem.candidates}
    )
    problem, held_back = held_by_pending(problem, pending)
    # End the read transaction: the solve needs no connection.
    await session.commit()
    released = {pick.person_id for pick in freed}
    again = await asyncio.to_thread(rerun, problem, freed, released)
    changes = _changes(freed, again.changed)
    # Priced on the freed places only: the run's counts are about what it changes.
    solution = again.result.solution
    items: list[dict[str, Any]] = [
        {
            "shift_id": pick.shift_id,
            "role_type_id": pick.role_type_id,
            "person_id": pick.person_id,
            "cost": cost,
            "reasons": pick_reasons(problem, pick),
        }
        for pick, cost in zip(solution.picks, solution.evaluation.pick_costs, strict=True)
    ]
    new = AutostaffRun(
        election_id=run.election_id,
        status="pending",
        items=items,
        costs={
            **solution.evaluation.breakdown,
            **solution.evaluation.counts,
            "reserves_included": int(include_reserves),
            "reserves_kept_back": problem.reserves_kept_back,
            **again.result.facts(),
            "unfilled": [list(row) for row in unfilled_places(again.problem, again.changed)],
            "rerun_of": run.id,
            # The declines it answers: discarding it gives them back to the old run.
            "rerun_declines": [id_ for id_, _pick in declined],
            "changes": changes,
            "held_by_pending": len(held_back),
            "held_by_runs": sorted({id_ for person in held_back for id_ in runs_of[person]}),
        },
        seconds=round(time.perf_counter() - started, 3),
        created_by_label=actor.label,
    )
    session.add(new)
    # Lock the old run only now, for the note of what was re-run (the solve held nothing).
    await note_reruns_done(session, run_id, added={id_ for id_, _pick in declined})
    session.expire(run, ["costs"])
    await session.flush()
    await record(
        session,
        actor,
        "staffing.autostaff.rerun",
        new,
        data={
            "election": run.election_id,
            "rerun_of": run.id,
            "freed": len(freed),
            "filled": len(again.changed),
            **again.result.facts(),
        },
    )
    await session.commit()
    return new


async def pending_places(
    session: AsyncSession, election_id: int, person_ids: set[int]
) -> tuple[dict[int, list[model.Shift]], dict[int, set[int]]]:
    """Per person of ``person_ids``, the shifts the election's pending proposals give
    them in rows not accepted yet (their days and times only), and those proposals."""
    runs = await session.scalars(
        select(AutostaffRun).where(
            AutostaffRun.election_id == election_id, AutostaffRun.status == "pending"
        )
    )
    picked: set[tuple[int, int]] = set()
    runs_of: dict[int, set[int]] = {}
    for run in runs.all():
        for item in run.items:
            if not item.get("applied") and item["person_id"] in person_ids:
                picked.add((item["person_id"], item["shift_id"]))
                runs_of.setdefault(item["person_id"], set()).add(run.id)
    if not picked:
        return {}, runs_of
    shifts = {
        row.id: model.Shift(row.id, row.station_id, row.day, row.starts_at, row.ends_at, ())
        for row in await session.execute(
            select(Shift.id, Shift.station_id, Shift.day, Shift.starts_at, Shift.ends_at).where(
                Shift.id.in_(sorted({shift_id for _person, shift_id in picked}))
            )
        )
    }
    pending: dict[int, list[model.Shift]] = {}
    for person_id, shift_id in sorted(picked):
        if shift_id in shifts:
            pending.setdefault(person_id, []).append(shifts[shift_id])
    return pending, runs_of


def _changes(freed: list[Pick], filled: list[Pick]) -> list[list[int]]:
    """Per freed place: [shift, role, who declined, who is proposed instead or 0]."""
    instead: dict[tuple[int, int], list[int]] = {}
    for pick in sorted(filled, key=lambda p: p.person_id):
        instead.setdefault((pick.shift_id, pick.role_type_id), []).append(pick.person_id)
    rows = []
    for pick in sorted(freed, key=lambda p: (p.shift_id, p.role_type_id, p.person_id)):
        others = instead.get((pick.shift_id, pick.role_type_id), [])
        rows.append(
            [pick.shift_id, pick.role_type_id, pick.person_id, others.pop(0) if others else 0]
        )
    return rows


@dataclass(frozen=True)
class Change:
    """One freed place as the planner reads it."""

    station: str
    day: dt.date
    shift: str
    role: str
    declined: str
    #: Who is proposed instead ("" when the place stays open).
    instead: str


async def change_rows(session: AsyncSession, run: AutostaffRun) -> list[Change]:
    """A re-run's freed places with names, in shift order."""
    rows = run.costs.get("changes") or []
    if not rows:
        return []
    shifts = {
        row.id: row
        for row in await session.execute(
            select(
                Shift.id, Shift.day, Shift.name, Shift.names, Shift.starts_at, Shift.ends_at,
                Station.name.label("station"),
            )
            .join(Station, Station.id == Shift.station_id)
            .where(Shift.id.in_({row[0] for row in rows}))
        )
    }  # fmt: skip
    person_ids = {row[2] for row in rows} | {row[3] for row in rows if row[3]}
    people = {
        person_id: f"{first} {last}"
        for person_id, first, last in await session.execute(
            select(Person.id, Person.first_name, Person.last_name).where(Person.id.in_(person_ids))
        )
    }
    roles = {r.id: named(r) for r in await session.scalars(select(RoleType))}
    found = [
        Change(
            station=shift.station,
            day=shift.day,
            shift=f"{named(shift)} {shift.starts_at:%H:%M}–{shift.ends_at:%H:%M}",
            role=roles.get(role_id, ""),
            declined=people.get(declined, ""),
            instead=people.get(instead, "") if instead else "",
        )
        for shift_id, role_id, declined, instead in rows
        if (shift := shifts.get(shift_id)) is not None
    ]
    found.sort(key=lambda c: (c.day, c.station, c.shift, c.role, c.declined))
    return found
