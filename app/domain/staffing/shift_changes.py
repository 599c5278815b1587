"""Changing a shift that has people on it: its assignments stay, the staffing rules
still hold at the new time, and the people who know of their place are told."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.events import ops_topic, record_events, station_topic
from app.core.i18n import _, named
from app.core.models import utcnow
from app.core.tenancy import require_tenant_id
from app.core.validation import FieldErrors
from app.domain.courses.qualifications import course_needs, unmet
from app.domain.elections.elections import get_election
from app.domain.elections.shifts import write_shift
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    Election,
    Person,
    RoleType,
    Shift,
    Station,
)
from app.domain.staffing import place_notices, rules
from app.domain.staffing.assignments import lock_election

#: The live event a changed shift announces (ids and times only, as every event).
SHIFT_CHANGED = "shift.changed"


async def edit_shift(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    station_id: int,
    shift_id: int,
    data: Mapping[str, Any],
) -> Shift:
    """Change a shift's name, day or times, keeping who is on it.

    Refuses, writing nothing, when a person on the shift would then overlap another
    of their shifts or lack a required course before the new day, naming each. When
    the day or times change, everyone offered or accepted is told by e-mail and SMS
    in their language; the change is audited and announced live.
    """
    election = await get_election(session, election_id)
    await lock_election(session, election.id)
    shift = await session.scalar(
        select(Shift).where(Shift.id == shift_id, Shift.station_id == station_id)
    )
    if shift is None:
        raise NotFound(_("Not found."))
    was = place_notices.When(shift.day, shift.starts_at, shift.ends_at)
    shift = await write_shift(session, actor, election.id, station_id, data, shift_id)
    now = place_notices.When(shift.day, shift.starts_at, shift.ends_at)
    if now == was:
        await session.commit()
        return shift
    holders = (
        await session.execute(
            select(Assignment, Person, RoleType, Station.name)
            .join(Person, Person.id == Assignment.person_id)
            .join(RoleType, RoleType.id == Assignment.role_type_id)
            .join(Station, Station.id == Assignment.station_id)
            .where(Assignment.shift_id == shift.id, Assignment.state.in_(HOLDING_STATES))
            .order_by(Person.last_name, Person.first_name, Assignment.id)
        )
    ).all()
    problems = await _broken_at_new_time(session, election, shift, was, holders)
    if problems:
        # Nothing of the change stays: the shift, its audit entry, nobody told.
        await session.rollback()
        raise FieldErrors({"starts_at": " ".join(problems)})
    told = await _tell(session, holders, was, now)
    await record(
        session,
        actor,
        "staffing.shift.time_changed",
        shift,
        data={
            "station": station_id,
            "was": [was.day.isoformat(), _hhmm(was.starts_at), _hhmm(was.ends_at)],
            "now": [now.day.isoformat(), _hhmm(now.starts_at), _hhmm(now.ends_at)],
            "kept": len(holders),
            "told": told,
        },
    )
    tenant_id = require_tenant_id()
    await record_events(
        session,
        topics=[ops_topic(tenant_id, election.id), station_topic(tenant_id, station_id)],
        type=SHIFT_CHANGED,
        payload={
            "shift": shift.id,
            "station": station_id,
            "day": now.day.isoformat(),
            "starts_at": _hhmm(now.starts_at),
            "ends_at": _hhmm(now.ends_at),
        },
        election_id=election.id,
    )
    await session.commit()
    return shift


def _hhmm(value: dt.time) -> str:
    return value.strftime("%H:%M")


async def _broken_at_new_time(
    session: AsyncSession,
    election: Election,
    shift: Shift,
    was: place_notices.When,
    holders: Sequence[Any],
) -> list[str]:
    """What the hard rules say of each person on the shift at its new time: another
    shift of theirs it would overlap, or a required course no longer before the day."""
    if not holders:
        return []
    people = [person.id for _a, person, _r, _s in holders]
    others = await session.execute(
        select(Assignment.person_id, Shift.day, Shift.starts_at, Shift.ends_at, Station.name)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Station, Station.id == Assignment.station_id)
        .where(
            Assignment.person_id.in_(people),
            Assignment.state.in_(HOLDING_STATES),
            Assignment.shift_id != shift.id,
            Shift.day == shift.day,
        )
    )
    booked: dict[int, list[tuple[dt.date, dt.time, dt.time, str]]] = {}
    for person_id, day, starts, ends, station in others:
        booked.setdefault(person_id, []).append((day, starts, ends, station))
    needs = await course_needs(
        session, election, [(p.id, a.role_type_id) for a, p, _r, _s in holders]
    )
    problems: list[str] = []
    for assignment, person, _role, _station in holders:
        broken = rules.overlap_rule(
            shift.day, shift.starts_at, shift.ends_at, booked.get(person.id, [])
        )
        if broken is None and shift.day < was.day:
            # Only a course the person had in time before, and no longer has.
            person_needs = needs[(person.id, assignment.role_type_id)]
            lost = [n.course_name for n in unmet(person_needs, shift.day)]
            had = not unmet(person_needs, was.day)
            broken = rules.course_rule(lost) if had else None
        if broken is not None:
            problems.append(_("%(name)s: %(reason)s", name=person.full_name, reason=broken.message))
    return problems


async def _tell(
    session: AsyncSession,
    holders: Sequence[Any],
    was: place_notices.When,
    now: place_notices.When,
) -> int:
    """Tell each person offered or accepted on the shift; returns how many."""
    told = [h for h in holders if h[0].state in place_notices.TOLD_STATES]
    if not told:
        return 0
    key = utcnow().strftime("%Y%m%dT%H%M%S%f")
    for assignment, person, role, station in told:
        await place_notices.tell_time_changed(
            session,
            person,
            place_notices.Place(
                assignment.id,
                assignment.state,
                named(role, person.preferred_language),
                station,
            ),
            was,
            now,
            key,
        )
    return len(told)
