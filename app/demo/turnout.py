"""Demo turnout: the counts chairs would have reported on the demo's election day, so
a newcomer sees turnout on the live dashboard and in its export.

Written as rows (a service call per station and time would write an audit entry and two
live events each, thousands at Stockholm scale, for counts nobody reported). Each
polling station's count follows a usual Swedish election day (about 15 % by 11:00, 38 %
by 14:00, 60 % by 17:00 and 78 % by 20:00 of its district's eligible voters, a little
above or below); an advance voting station reports the votes it received that day. A
few stations are late with the latest report, as on a real day.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant, utcnow
from app.core.tenancy import tenant_scope
from app.demo.rows import insert_in_batches
from app.domain.models import TURNOUT_SLOTS, District, Election, Station, TurnoutReport

#: The usual share of eligible voters who had voted by each reporting time.
USUAL_SHARES = {"11:00": 0.15, "14:00": 0.38, "17:00": 0.60, "20:00": 0.78}
#: Votes an advance voting station receives on election day by each reporting time.
ADVANCE_VOTES = {"11:00": 120, "14:00": 290, "17:00": 450, "20:00": 560}
#: The share of stations that have not yet sent the latest report.
LATE_SHARE = 0.08


def slots_passed(now: dt.time) -> tuple[str, ...]:
    """The reporting times already past at ``now`` (local time) on election day."""
    return tuple(slot for slot in TURNOUT_SLOTS if dt.time.fromisoformat(slot) <= now)


async def fill_turnout(
    session: AsyncSession,
    tenant_id: int,
    election_id: int,
    day: dt.date,
    zone: ZoneInfo,
    slots: Sequence[str] = TURNOUT_SLOTS,
    now: dt.datetime | None = None,
) -> int:
    """Turnout at every station of the election for ``slots`` of ``day``, each sent a
    few minutes after its time (in the caller's transaction and tenant scope); how many
    stations reported the latest of them."""
    if not slots:
        return 0
    stations = (
        await session.execute(
            select(Station.id, Station.kind, District.eligible_voters)
            .outerjoin(District, District.id == Station.district_id)
            .where(Station.election_id == election_id)
            .order_by(Station.id)
        )
    ).all()
    now = now or utcnow()
    rng = random.Random(election_id)  # noqa: S311 - demo numbers, not secrets
    rows = []
    reported = 0
    for station_id, kind, eligible in stations:
        # A station votes a little more or less than usual all day long.
        lean = rng.uniform(0.85, 1.15)
        late = rng.random() < LATE_SHARE
        shown = list(slots[:-1] if late else slots)
        reported += not late
        for slot in shown:
            sent = min(
                now,
                dt.datetime.combine(day, dt.time.fromisoformat(slot), zone)
                + dt.timedelta(minutes=rng.randrange(1, 15)),
            )
            if kind == "polling" and eligible:
                voters = min(eligible, round(eligible * USUAL_SHARES[slot] * lean))
            else:
                voters = round(ADVANCE_VOTES[slot] * lean)
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "election_id": election_id,
                    "station_id": station_id,
                    "slot": slot,
                    "voters": voters,
                    "reported_by_label": "demo",
                    "created_at": sent.astimezone(dt.UTC),
                    "updated_at": sent.astimezone(dt.UTC),
                }
            )
    await insert_in_batches(session, TurnoutReport, rows)
    return reported


async def fill_held_turnout(session: AsyncSession, tenant: Tenant) -> None:
    """Every reporting time's turnout for the demo's elections already held."""
    zone = ZoneInfo(tenant.timezone)
    today = utcnow().astimezone(zone).date()
    with tenant_scope(tenant.id):
        held = (
            await session.execute(
                select(Election.id, Election.election_day).where(Election.election_day < today)
            )
        ).all()
        for election_id, day in held:
            await fill_turnout(session, tenant.id, election_id, day, zone)
        await session.commit()


async def fill_todays_turnout(
    session: AsyncSession, tenant: Tenant, election: Election, now: dt.datetime | None = None
) -> tuple[str, ...]:
    """When the election's day is today and it has no turnout yet (an earlier try's was
    cleared): the reporting times already past, as chairs would have sent them. Which
    times it filled (in the caller's transaction and tenant scope)."""
    zone = ZoneInfo(tenant.timezone)
    local = (now or utcnow()).astimezone(zone)
    if election.election_day != local.date():
        return ()
    reported = await session.scalar(
        select(TurnoutReport.id).where(TurnoutReport.election_id == election.id).limit(1)
    )
    slots = slots_passed(local.time().replace(tzinfo=None))
    if reported is not None or not slots:
        return ()
    await fill_turnout(session, tenant.id, election.id, local.date(), zone, slots, now=now)
    return slots
