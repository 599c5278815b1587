"""Pay per role and district, for the statistics page and the office's budget."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.pay.compute import compute_pay


@dataclass(frozen=True)
class PayTotal:
    """What one role costs in one district (``district_id`` None: advance voting)."""

    role_type_id: int
    district_id: int | None
    amount: Decimal
    #: People with a pay line of this role here (a person in two districts counts in both).
    people: int


async def pay_by_role_and_district(
    session: AsyncSession, election_id: int, now: dt.datetime | None = None
) -> list[PayTotal]:
    """Pay per role and district: computed from check-ins where shifts were worked, the
    estimate from the rules for shifts still to come. No-shows cost nothing; training,
    travel and adjustments count in the person's first district and role.

    Sorted by district (advance voting last) and role id. Raises ``NotFound`` for an
    election of another municipality.
    """
    pay = await compute_pay(session, election_id, now=now)
    amounts: dict[tuple[int, int | None], Decimal] = {}
    people: dict[tuple[int, int | None], set[int]] = {}
    for line in pay.lines:
        if line.role_type_id is None:
            continue
        key = (line.role_type_id, line.district_id)
        amounts[key] = amounts.get(key, Decimal("0")) + line.amount
        people.setdefault(key, set()).add(line.person_id)
    totals = [
        PayTotal(role_type_id, district_id, amount, len(people[(role_type_id, district_id)]))
        for (role_type_id, district_id), amount in amounts.items()
    ]
    totals.sort(key=lambda t: (t.district_id is None, t.district_id or 0, t.role_type_id))
    return totals
