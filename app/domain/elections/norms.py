"""Staffing norms: how many people of each role a shift needs at least, and wants."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import Cleaner
from app.domain.elections.stations import get_station
from app.domain.models import RoleType, Shift, StaffingNorm
from app.domain.staffing.rules import role_may_work, work_kinds_for


async def set_norms(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    station_id: int,
    shift_id: int,
    counts: Mapping[str, Any],
) -> Shift:
    """Set minimum and target per role for one shift. ``counts`` holds
    ``min_<role code>`` and ``target_<role code>``; a role with 0/0 is removed."""
    station = await get_station(session, station_id, election_id)
    shift = next((s for s in station.shifts if s.id == shift_id), None)
    if shift is None:
        raise NotFound(_("Not found."))
    # A retired role keeps the norms it has (they may be lowered or removed), no new ones.
    kept = {norm.role_type_id for norm in shift.norms}
    role_types = [
        role
        for role in await session.scalars(select(RoleType).order_by(RoleType.sort_order))
        if not role.retired or role.id in kept
    ]
    shift_kinds = work_kinds_for(station.kind, shift.ends_at)
    cleaner = Cleaner(counts)
    wanted: dict[int, tuple[int, int]] = {}
    for role in role_types:
        minimum = cleaner.integer(f"min_{role.code}", 0, 100)
        target = cleaner.integer(f"target_{role.code}", 0, 100, default=minimum)
        if target < minimum:
            cleaner.fail(f"target_{role.code}", _("The target cannot be below the minimum."))
        if minimum and not role.counts_toward_minimum:
            # Shown at the target: the minimum has no field for such a role.
            cleaner.fail(f"target_{role.code}", not_counted_message())
        if target and not role_may_work(role.work_kinds, shift_kinds):
            cleaner.fail(
                f"target_{role.code}",
                _("This role does not work at this kind of station or shift."),
            )
        wanted[role.id] = (minimum, target)
    cleaner.done()
    apply_norms(shift, wanted)
    await session.flush()
    await record(
        session,
        actor,
        "elections.shift.norms_set",
        shift,
        data={
            "station": station.name,
            "norms": {r.code: list(wanted[r.id]) for r in role_types if wanted[r.id] != (0, 0)},
        },
    )
    await session.commit()
    return shift


def not_counted_message() -> str:
    """Why a role outside the legal minimum (a host) takes no minimum: its minimum would
    be shown and saved but never counted."""
    return _("This role is not counted toward the legal minimum: give it a target only.")


def apply_norms(shift: Shift, wanted: Mapping[int, tuple[int, int]]) -> None:
    """Make the shift's norms equal ``wanted`` (role type id -> (minimum, target))."""
    existing = {norm.role_type_id: norm for norm in shift.norms}
    for role_id, (minimum, target) in wanted.items():
        norm = existing.get(role_id)
        if minimum == 0 and target == 0:
            if norm is not None:
                shift.norms.remove(norm)
        elif norm is None:
            shift.norms.append(StaffingNorm(role_type_id=role_id, minimum=minimum, target=target))
        else:
            norm.minimum, norm.target = minimum, target
