"""Approving a district's pay: its lines are locked as entries, and a later change is
approved again as correction entries holding the difference."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.i18n import _
from app.domain.models import Election, PayApproval, PayEntry, Station
from app.domain.pay import PayError
from app.domain.pay.labels import PAY_CONFLICT
from app.domain.pay.review import DistrictPay, district_pay

#: The refusal names this many conflicts, then how many more there are.
LISTED_CONFLICTS = 10


async def conflict_text(session: AsyncSession, view: DistrictPay) -> str:
    """The district's unresolved check-ins, one per line, for the refusal."""
    station_ids = {c.station_id for c in view.conflicts}
    stations: dict[int, str] = {
        station_id: name
        for station_id, name in await session.execute(
            select(Station.id, Station.name).where(Station.id.in_(station_ids))
        )
    }
    items = []
    for conflict in view.conflicts[:LISTED_CONFLICTS]:
        person = view.people.get(conflict.person_id)
        items.append(
            "{name} ({station}, {day}): {problem}".format(
                name=person.full_name if person else "–",
                station=stations.get(conflict.station_id, ""),
                day=conflict.day.isoformat(),
                problem=PAY_CONFLICT.get(conflict.problem, conflict.problem),
            )
        )
    more = len(view.conflicts) - LISTED_CONFLICTS
    if more > 0:
        items.append(_("and %(count)s more", count=more))
    return "; ".join(items)


async def approve_district(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    district_key: int,
    now: dt.datetime | None = None,
) -> PayApproval:
    """Lock a district's pay as approved (``district_key`` 0: advance voting).

    Refuses while a check-in is unresolved (the message lists them), while a shift of
    the district is still to be worked, and when nothing changed since the last
    approval. The election row is locked first, so two planners approving at once
    write the lines once.
    """
    await session.execute(select(Election.id).where(Election.id == election_id).with_for_update())
    view = await district_pay(session, election_id, district_key, now=now)
    if view.conflicts:
        raise PayError(
            _(
                "Settle these check-ins before approving: %(conflicts)s",
                conflicts=await conflict_text(session, view),
            ),
            "form",
        )
    if view.estimates:
        raise PayError(
            _("Some shifts of this district are still to be worked; approve after them."),
            "form",
        )
    if not view.pending:
        raise PayError(_("Nothing has changed since the last approval."), "form")
    correction = bool(view.approvals)
    amount = sum((line.amount for line in view.pending), Decimal("0"))
    approval = PayApproval(
        election_id=view.election_id,
        district_id=view.district_id,
        approved_by_label=actor.label,
        lines=len(view.pending),
        amount=amount,
    )
    session.add(approval)
    await session.flush()
    session.add_all(
        PayEntry(
            election_id=view.election_id,
            district_id=view.district_id,
            approval_id=approval.id,
            person_id=line.person_id,
            role_type_id=line.role_type_id,
            kind=line.kind,
            day=line.day,
            quantity=line.quantity,
            rate=line.rate,
            amount=line.amount,
            text=line.text,
            correction=correction,
        )
        for line in view.pending
    )
    await record(
        session,
        actor,
        "pay.district.approved",
        approval,
        data={
            "election": view.election_id,
            "district": view.district_id,
            "lines": len(view.pending),
            "amount": str(amount),
            "correction": correction,
        },
    )
    await session.commit()
    return approval
