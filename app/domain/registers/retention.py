"""How long the register keeps people: the inactive are erased after the municipality's
period, and erased people's pay data after the pay-record period. Run by the retention
job (``app.jobs.retention``) per municipality; the settings page shows a dry run."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.domain.models import (
    HOLDING_STATES,
    Application,
    Assignment,
    CourseBooking,
    CourseSession,
    Election,
    Person,
    Reserve,
)
from app.domain.recruitment.review import add_months
from app.domain.registers.erasure import ErasureError, plan_erasure, write_erasure
from app.domain.site.webparts import site_settings

#: People erased per municipality and run, in one transaction: the first run after the
#: period is set may find thousands, each erasure scrubs several tables, and on SQLite
#: the transaction holds the database's one write lock. The job runs every hour.
MAX_ERASED_PER_RUN = 25


async def _last_activity(session: AsyncSession) -> dict[int, dt.date]:
    """Each person's last sign of life: a place (or reserve) in an election, a course
    attended or booked, an application, or being registered."""
    last: dict[int, dt.date] = {}

    def seen(person_id: int, day: dt.date | dt.datetime | None) -> None:
        if day is None:
            return
        if isinstance(day, dt.datetime):
            day = day.date()
        if person_id not in last or last[person_id] < day:
            last[person_id] = day

    statements = (
        select(Person.id, Person.created_at).where(Person.erased_at.is_(None)),
        select(Assignment.person_id, func.max(Election.election_day))
        .join(Election, Election.id == Assignment.election_id)
        .where(Assignment.state.in_(HOLDING_STATES))
        .group_by(Assignment.person_id),
        select(Reserve.person_id, func.max(Election.election_day))
        .join(Election, Election.id == Reserve.election_id)
        .group_by(Reserve.person_id),
        select(CourseBooking.person_id, func.max(CourseSession.day))
        .join(CourseSession, CourseSession.id == CourseBooking.session_id)
        .where(CourseBooking.state.in_(("booked", "waiting", "attended")))
        .group_by(CourseBooking.person_id),
        select(Application.person_id, func.max(Application.submitted_at))
        .where(Application.person_id.is_not(None))
        .group_by(Application.person_id),
    )
    people = {row[0] for row in (await session.execute(statements[0]))}
    for statement in statements:
        for person_id, day in await session.execute(statement):
            if person_id in people:
                seen(person_id, day)
    return last


async def inactive_people(session: AsyncSession, today: dt.date) -> list[int]:
    """The people the next run would erase: none when the municipality keeps everyone."""
    months = (await site_settings(session)).inactive_retention_months
    if not months:
        return []
    cutoff = add_months(today, -months)
    return sorted(pid for pid, day in (await _last_activity(session)).items() if day < cutoff)


async def erase_inactive(
    session: AsyncSession, actor: Actor, today: dt.date, limit: int = MAX_ERASED_PER_RUN
) -> int:
    """Erase those inactive for longer than the municipality's period (at most
    ``limit``, the next run takes the rest), in one transaction and one audit entry
    with the count. Someone with a place in an election not yet over is left (their
    last activity cannot be that old, unless an election's day was moved)."""
    months = (await site_settings(session)).inactive_retention_months
    erased = 0
    for person_id in (await inactive_people(session, today))[:limit]:
        plan = await plan_erasure(session, person_id, today)
        try:
            await write_erasure(session, actor, plan, "retention", today)
        except ErasureError:
            continue
        erased += 1
    if erased:
        await record(
            session,
            actor,
            "people.inactive.erased",
            data={"reason": "retention", "count": erased, "months": months},
        )
    await session.commit()
    return erased


async def erase_expired_pay_data(session: AsyncSession, actor: Actor, today: dt.date) -> int:
    """Erase the id numbers and bank accounts kept for pay records once their period
    has ended; one audit entry with the count."""
    result = await session.execute(
        update(Person)
        .where(Person.erased_at.is_not(None), Person.pay_data_kept_until < today)
        .values(
            national_id=None,
            national_id_country=None,
            bank_account_encrypted=None,
            pay_data_kept_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        await record(
            session,
            actor,
            "people.pay_data.erased",
            data={"reason": "retention", "count": count},
        )
    await session.commit()
    return count
