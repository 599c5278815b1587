"""Optimiser runs: propose a staffing for an election, then apply all, some or none of it.

A run stores its proposal (``AutostaffRun.items``) for the planner to review, each item
with the reasons the person suits the place. Applying it is in ``applying``; here are
creating, reading and discarding a run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Set as AbstractSet
from typing import Any

from babel import Locale
from babel.numbers import format_decimal
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _, format_locale, get_locale
from app.core.models.base import utcnow
from app.domain.autostaff.costs import CostTable, Pick, distance_metres
from app.domain.autostaff.exact import DEFAULT_TIME_LIMIT, Result, optimise
from app.domain.autostaff.loading import load_problem
from app.domain.autostaff.problem import Problem
from app.domain.autostaff.solver import DEFAULT_NEAREST
from app.domain.autostaff.unfilled import unfilled_places
from app.domain.models import AutostaffRun
from app.domain.staffing.assignments import StaffingError
from app.domain.staffing.nearness import AREA_DIGITS, REGION_DIGITS, shared_postcode_digits


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
        distance = format_decimal(metres / 1000, format="0.0", locale=format_locale())
        reasons.append(_("Lives %(distance)s km away", distance=distance))
    else:
        reasons.append(_("Distance unknown"))
        shared = shared_postcode_digits(candidate.postal_code, station.postal_code)
        if shared >= AREA_DIGITS:
            reasons.append(_("Same postcode area as the station"))
        elif shared >= REGION_DIGITS:
            reasons.append(_("Same postcode region as the station"))
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


def _solve(problem: Problem, nearest: int | None, time_limit: float) -> Result:
    """The cost table and the solve, both in the worker thread."""
    return optimise(problem, nearest, CostTable(problem), time_limit)


async def create_run(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    *,
    nearest: int | None = DEFAULT_NEAREST,
    include_reserves: bool = False,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> AutostaffRun:
    """Propose people for every open place of an election and store the proposal.

    The election's reserves are kept out of regular places unless ``include_reserves``
    (the planner's explicit choice); the choice and how many reserves were kept back
    are stored with the run (``costs``) and in its audit entry. The solve runs in a
    worker thread, so the event loop keeps serving requests; the run waits (status
    "pending") until a planner applies or discards it. The proposal is the exact
    model's (``exact``): optimal, or the best found in ``time_limit`` seconds with the
    gap to a proven bound, both stored with the run (``costs``), as is each place left
    open with the rule that left it empty (``unfilled``).
    """
    started = time.perf_counter()
    problem = await load_problem(session, election_id, include_reserves=include_reserves)
    # End the read transaction: the solve needs no connection.
    await session.commit()
    result = await asyncio.to_thread(_solve, problem, nearest, time_limit)
    solution = result.solution
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
        costs={
            **evaluation.breakdown,
            **evaluation.counts,
            **_reserve_facts(problem, include_reserves),
            **result.facts(),
            "unfilled": [list(row) for row in unfilled_places(problem, solution.picks)],
            "places_too_long": problem.places_too_long,
        },
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
        data={
            "election": problem.election_id,
            **evaluation.counts,
            **_reserve_facts(problem, include_reserves),
            **result.facts(),
        },
    )
    await session.commit()
    return run


def _reserve_facts(problem: Problem, include_reserves: bool) -> dict[str, int]:
    """Whether the run may use the election's reserves, and how many it kept back."""
    return {
        "reserves_included": int(include_reserves),
        "reserves_kept_back": problem.reserves_kept_back,
    }


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


async def discard_run(session: AsyncSession, actor: Actor, run_id: int) -> AutostaffRun:
    """Drop a pending proposal without writing anything. A re-run after declines gives
    its declines back to the run it re-ran, so the planner can re-run them again (after
    freeing the people another pending proposal held, say)."""
    run = await get_run(session, run_id, lock=True)
    if run.status != "pending":
        raise StaffingError(_("This proposal was already applied or discarded."))
    run.status = "discarded"
    run.decided_at = utcnow()
    if run.costs.get("rerun_of"):
        await note_reruns_done(
            session, run.costs["rerun_of"], removed=set(run.costs.get("rerun_declines") or [])
        )
    await record(session, actor, "staffing.autostaff.discarded", run)
    await session.commit()
    return run


async def note_reruns_done(
    session: AsyncSession,
    run_id: int,
    added: AbstractSet[int] = frozenset(),
    removed: AbstractSet[int] = frozenset(),
) -> None:
    """Rewrite the note of which declines of ``run_id`` were re-run (``rerun_done``,
    assignment ids): ``added`` by a re-run, ``removed`` when that re-run is discarded.
    The run is locked and its costs only are read and written: its items (a whole
    election's proposal) are not read again."""
    costs = await session.scalar(
        select(AutostaffRun.costs).where(AutostaffRun.id == run_id).with_for_update()
    )
    if costs is None:
        return
    done = sorted((set(costs.get("rerun_done") or []) | added) - removed)
    await session.execute(
        update(AutostaffRun)
        .where(AutostaffRun.id == run_id)
        .values(costs={**costs, "rerun_done": done})
        .execution_options(synchronize_session=False)
    )
