"""People sent to a station on election day: "sent" until they confirm on their phone
that they are on their way, then "confirmed".

The confirmation is the person's own (nobody else may give it) and an event on the
live path, so the coordinators' row of the station and the phones of its team change
without a reload; the station's leads also get a push.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _, named
from app.core.models import utcnow
from app.domain.models import HOLDING_STATES, Assignment, Person, RoleType, Shift
from app.domain.ops import notify
from app.domain.ops.news import announce


@dataclass(frozen=True)
class SentPerson:
    """Someone sent to a station's shift today, and whether they confirmed."""

    assignment_id: int
    shift_id: int
    station_id: int
    person_id: int
    name: str
    role: str
    sent_at: dt.datetime
    confirmed_at: dt.datetime | None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


async def sent_to_shifts(
    session: AsyncSession, shift_ids: Sequence[int] | Select[tuple[int]]
) -> dict[int, list[SentPerson]]:
    """By station, the people sent to these shifts who still hold the place, in the
    order they were sent. ``shift_ids`` may be a query of them (the dashboard's day at
    660 stations has over a thousand shifts: a list of their ids cost more to send and
    plan than the read)."""
    if not isinstance(shift_ids, Select):
        if not shift_ids:
            return {}
        shift_ids = list(shift_ids)
    rows = await session.execute(
        select(Assignment, Person.first_name, Person.last_name, RoleType)
        .join(Person, Person.id == Assignment.person_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .where(
            Assignment.shift_id.in_(shift_ids),
            Assignment.state.in_(HOLDING_STATES),
            Assignment.sent_at.is_not(None),
        )
        .order_by(Assignment.sent_at, Assignment.id)
    )
    found: dict[int, list[SentPerson]] = {}
    for assignment, first_name, last_name, role in rows:
        assert assignment.sent_at is not None
        found.setdefault(assignment.station_id, []).append(
            SentPerson(
                assignment.id,
                assignment.shift_id,
                assignment.station_id,
                assignment.person_id,
                f"{first_name} {last_name}",
                named(role),
                assignment.sent_at,
                assignment.confirmed_at,
            )
        )
    return found


async def confirm_sent(session: AsyncSession, actor: Actor, assignment_id: int) -> Assignment:
    """The person sent confirms on their phone that they are on their way.

    Only the person themselves may (anyone else: NotFound, as if there were no such
    place); confirming twice keeps the first time and tells nobody again.
    """
    assignment = await session.scalar(
        select(Assignment)
        .join(Person, Person.id == Assignment.person_id)
        .where(
            Assignment.id == assignment_id,
            Assignment.state.in_(HOLDING_STATES),
            Assignment.sent_at.is_not(None),
            Person.user_id == actor.user_id,
            Person.user_id.is_not(None),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if assignment is None or actor.user_id is None:
        raise NotFound(_("Not found."))
    if assignment.confirmed_at is not None:
        # Nothing to write; ending the transaction (not rolling back) keeps the row loaded.
        await session.commit()
        return assignment
    assignment.confirmed_at = utcnow()
    await session.flush()
    await record(
        session,
        actor,
        "ops.sent.confirmed",
        assignment,
        data={"shift_id": assignment.shift_id, "station_id": assignment.station_id},
    )
    day = await session.scalar(select(Shift.day).where(Shift.id == assignment.shift_id))
    assert day is not None
    await notify.sent_confirmed(session, actor, assignment, day)
    await announce(
        session,
        assignment.election_id,
        assignment.station_id,
        "staffing.sent_confirmed",
        {
            "assignment_id": assignment.id,
            "station_id": assignment.station_id,
            "shift_id": assignment.shift_id,
        },
    )
    await session.commit()
    return assignment
