"""Setting the municipality's working-time rules, with a confirm step: a rule that
makes places already held break it lists those places before it is saved, and is
saved only when the office confirms (the places stay; the board marks them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import DomainError
from app.core.models import Tenant
from app.core.tenancy import require_tenant_id
from app.core.validation import Cleaner
from app.domain.models import Person, WorkingRules
from app.domain.staffing.rules import Broken
from app.domain.staffing.working_time import (
    Booking,
    WorkingTime,
    bookings_around,
    broken_for,
    working_rules_row,
)

#: The most hours a day may be set to, and the longest rest.
MAX_DAY_HOURS = 24
MAX_REST_HOURS = 48
#: Places listed at most on the confirm step (the count says how many in all).
SHOWN_PLACES = 200


class WorkingRulesError(DomainError):
    """A working-time rule that cannot be saved as given."""


@dataclass(frozen=True)
class BreakingPlace:
    """A place held now that the new rules would break, for the confirm step."""

    booking: Booking
    person_name: str
    broken: list[Broken]


@dataclass(frozen=True)
class WorkingRulesChange:
    """What saving the form would do: the new limits and the places they would break.
    ``saved`` is false while places are listed and the office has not confirmed."""

    limits: WorkingTime
    breaking: list[BreakingPlace]
    total_breaking: int
    saved: bool


async def rules_row(session: AsyncSession, actor: Actor) -> WorkingRules:
    """The municipality's row, made when it has none (in the caller's transaction)."""
    row = await working_rules_row(session)
    if row is None:
        row = WorkingRules(updated_by_label=actor.label)
        session.add(row)
        await session.flush()
    return row


def _minutes(cleaner: Cleaner, field: str, maximum: int) -> int | None:
    hours = cleaner.decimal_number(field, 0.5 if field == "max_day_hours" else 0, maximum)
    return None if hours is None else round(hours * 60)


def clean_limits(data: Mapping[str, Any]) -> WorkingTime:
    """The limits from the form, in hours (empty: no limit); refused field by field."""
    cleaner = Cleaner(data)
    limits = WorkingTime(
        _minutes(cleaner, "max_day_hours", MAX_DAY_HOURS),
        _minutes(cleaner, "min_rest_hours", MAX_REST_HOURS),
    )
    if cleaner.errors:
        error = WorkingRulesError(next(iter(cleaner.errors.values())))
        error.errors = dict(cleaner.errors)
        raise error
    return limits


async def _today(session: AsyncSession) -> dt.date:
    tenant = await session.get(Tenant, require_tenant_id())
    assert tenant is not None
    return dt.datetime.now(ZoneInfo(tenant.timezone)).date()


async def places_breaking(session: AsyncSession, limits: WorkingTime) -> list[BreakingPlace]:
    """The places held from today on (any election) that would break ``limits``, each
    with the rules, by day and time."""
    if not limits.any:
        return []
    today = await _today(session)
    held = await bookings_around(session, None, today - dt.timedelta(days=1), dt.date.max)
    names: dict[int, str] = {}
    if held:
        for id_, first, last in await session.execute(
            select(Person.id, Person.first_name, Person.last_name).where(Person.id.in_(list(held)))
        ):
            names[id_] = f"{first} {last}".strip()
    found = []
    for person_id, bookings in held.items():
        for booking in bookings:
            if booking.day < today:
                continue
            others = [b for b in bookings if b.assignment_id != booking.assignment_id]
            broken = broken_for(limits, booking.day, booking.starts_at, booking.ends_at, others)
            if broken:
                found.append(BreakingPlace(booking, names.get(person_id, ""), broken))
    found.sort(
        key=lambda p: (p.booking.day, p.booking.starts_at, p.person_name, p.booking.assignment_id)
    )
    return found


async def save_working_rules(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any], *, confirmed: bool = False
) -> WorkingRulesChange:
    """Save the working-time rules from the form. When they would make places already
    held break them, nothing is saved unless ``confirmed``: the change lists the
    places (the confirm step). Audited with the old and new limits and the count."""
    limits = clean_limits(data)
    breaking = await places_breaking(session, limits)
    row = await working_rules_row(session)
    before = WorkingTime(row.max_day_minutes, row.min_rest_minutes) if row else WorkingTime()
    if limits == before:
        return WorkingRulesChange(limits, breaking[:SHOWN_PLACES], len(breaking), True)
    if breaking and not confirmed:
        return WorkingRulesChange(limits, breaking[:SHOWN_PLACES], len(breaking), False)
    row = await rules_row(session, actor)
    row.max_day_minutes = limits.max_day_minutes
    row.min_rest_minutes = limits.min_rest_minutes
    row.updated_by_label = actor.label
    await record(
        session,
        actor,
        "staffing.working_time.changed",
        row,
        data={
            "max_day_minutes": [before.max_day_minutes, limits.max_day_minutes],
            "min_rest_minutes": [before.min_rest_minutes, limits.min_rest_minutes],
            "places_breaking": len(breaking),
        },
    )
    await session.commit()
    return WorkingRulesChange(limits, breaking[:SHOWN_PLACES], len(breaking), True)
