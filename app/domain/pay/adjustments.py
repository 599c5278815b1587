"""The office's hand on pay: a manual adjustment with its reason, and the settled hours
of a place whose check-ins cannot say what was worked. Both are audited; where the
district was approved already they show there as corrections to approve."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.validation import Cleaner
from app.domain.elections.elections import get_election
from app.domain.models import Assignment, CheckIn, PayAdjustment, PaySettlement, Person, Shift
from app.domain.pay import PayError
from app.domain.pay.rules import CENT, MAX_AMOUNT


async def _person_in_election(session: AsyncSession, election_id: int, person_id: int) -> Person:
    """The person, who must hold an accepted place in the election to be paid (one who
    only checked in is told so; anyone else is not found)."""
    person = await session.scalar(select(Person).where(Person.id == person_id))
    placed = await session.scalar(
        select(Assignment.id)
        .where(
            Assignment.election_id == election_id,
            Assignment.person_id == person_id,
            Assignment.state == "accepted",
        )
        .limit(1)
    )
    checked_in = await session.scalar(
        select(CheckIn.id)
        .where(CheckIn.election_id == election_id, CheckIn.person_id == person_id)
        .limit(1)
    )
    if person is None or (placed is None and checked_in is None):
        raise NotFound(_("Not found."))
    if placed is None:
        raise PayError(
            _("Only someone with an accepted place in the election can be paid: place them first."),
            "amount",
        )
    return person


def _signed_amount(cleaner: Cleaner, field: str) -> Decimal | None:
    raw = cleaner.raw(field).replace(" ", "").replace("\u00a0", "").replace(",", ".")
    raw = raw.replace("\u2212", "-")
    if not raw:
        cleaner.fail(field, _("This field is required."))
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        cleaner.fail(field, _("Enter a number."))
        return None
    if value == 0 or abs(value) > MAX_AMOUNT:
        cleaner.fail(
            field,
            _(
                "Enter an amount other than zero, at most %(max)s either way.",
                max=MAX_AMOUNT,
            ),
        )
        return None
    return value.quantize(CENT)


async def add_adjustment(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    person_id: int,
    data: Mapping[str, Any],
) -> PayAdjustment:
    """Add to (or, negative, take from) a person's pay, with a reason: required."""
    election = await get_election(session, election_id)
    person = await _person_in_election(session, election.id, person_id)
    cleaner = Cleaner(data)
    amount = _signed_amount(cleaner, "amount")
    reason = cleaner.text("reason", 300, required=True)
    cleaner.done()
    assert amount is not None
    adjustment = PayAdjustment(
        election_id=election.id,
        person_id=person.id,
        amount=amount,
        reason=reason,
        created_by_label=actor.label,
    )
    session.add(adjustment)
    await session.flush()
    await record(
        session,
        actor,
        "pay.adjustment.added",
        adjustment,
        data={
            "election": election.id,
            "person": person.id,
            "amount": str(amount),
            "reason": reason,
        },
    )
    await session.commit()
    return adjustment


async def settle_hours(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    shift_id: int,
    person_id: int,
    data: Mapping[str, Any],
) -> PaySettlement:
    """Say what a person worked on a shift where the check-ins cannot: from and until
    (local times; an end before the start runs past midnight), or not worked at all
    (``worked`` unset). Replaces an earlier settlement of the same place."""
    election = await get_election(session, election_id)
    shift = await session.scalar(select(Shift).where(Shift.id == shift_id))
    person = await session.scalar(select(Person).where(Person.id == person_id))
    involved = await session.scalar(
        select(CheckIn.id)
        .where(
            CheckIn.election_id == election.id,
            CheckIn.shift_id == shift_id,
            CheckIn.person_id == person_id,
        )
        .union(
            select(Assignment.id).where(
                Assignment.election_id == election.id,
                Assignment.shift_id == shift_id,
                Assignment.person_id == person_id,
                Assignment.state == "accepted",
            )
        )
        .limit(1)
    )
    if shift is None or person is None or involved is None:
        raise NotFound(_("Not found."))
    cleaner = Cleaner(data)
    worked = cleaner.boolean("worked")
    worked_from = cleaner.time("worked_from", required=worked) if worked else None
    worked_until = cleaner.time("worked_until", required=worked) if worked else None
    reason = cleaner.text("reason", 300, required=True)
    if worked and worked_from is not None and worked_from == worked_until:
        cleaner.fail("worked_until", _("The end must differ from the start."))
    cleaner.done()
    settlement = await session.scalar(
        select(PaySettlement).where(
            PaySettlement.shift_id == shift.id, PaySettlement.person_id == person.id
        )
    )
    if settlement is None:
        settlement = PaySettlement(election_id=election.id, shift_id=shift.id, person_id=person.id)
        session.add(settlement)
    settlement.worked_from, settlement.worked_until = worked_from, worked_until
    settlement.reason, settlement.created_by_label = reason, actor.label
    await session.flush()
    await record(
        session,
        actor,
        "pay.hours.settled",
        settlement,
        data={
            "election": election.id,
            "shift": shift.id,
            "person": person.id,
            "from": worked_from.isoformat("minutes") if worked_from else None,
            "until": worked_until.isoformat("minutes") if worked_until else None,
            "reason": reason,
        },
    )
    await session.commit()
    return settlement
