"""The demo clerk's own data, so the portal shows something real when they sign in: a
person linked to the clerk account, chair of a polling station with a team, and an
offer for an advance voting day waiting for an answer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import User
from app.core.tenancy import tenant_scope
from app.domain.models import (
    Assignment,
    Availability,
    Person,
    RoleType,
    Shift,
    StaffingNorm,
    Station,
)
from app.domain.registers.people import create_person
from app.domain.staffing.assignments import StaffingError, assign_person


async def fill_portal_demo(
    session: AsyncSession, tenant_id: int, election_id: int, clerk_email: str
) -> None:
    actor = Actor.system("demo")
    user = await session.scalar(select(User).where(User.email == clerk_email))
    assert user is not None
    with tenant_scope(tenant_id):
        person = await create_person(
            session,
            actor,
            {
                "first_name": "Robin",
                "last_name": "Röstmottagare",
                "national_id": "19800229-0016",
                "email": clerk_email,
                "mobile": "+46701112233",
                "city": "Demostad",
            },
        )
        person.user_id = user.id
        roles = {r.code: r.id for r in await session.scalars(select(RoleType))}
        station = await session.scalar(
            select(Station)
            .where(Station.election_id == election_id, Station.kind == "polling")
            .order_by(Station.name)
            .limit(1)
        )
        advance = await session.scalar(
            select(Station)
            .where(Station.election_id == election_id, Station.kind == "advance")
            .order_by(Station.name)
            .limit(1)
        )
        assert station is not None and advance is not None
        early = await session.scalar(
            select(Shift).where(Shift.station_id == station.id).order_by(Shift.starts_at).limit(1)
        )
        advance_shift = await session.scalar(
            select(Shift).where(Shift.station_id == advance.id).order_by(Shift.day).limit(1)
        )
        assert early is not None and advance_shift is not None
        for shift in (early, advance_shift):
            session.add(
                Availability(
                    person_id=person.id,
                    election_id=election_id,
                    day=shift.day,
                    work_kind="advance" if shift is advance_shift else "election_day",
                )
            )
        await session.commit()
        chair = await assign_person(session, actor, early.id, roles["chair"], person.id)
        chair.state = "accepted"
        offer = await assign_person(
            session, actor, advance_shift.id, roles["clerk"], person.id, override=True
        )
        offer.state = "offered"
        # A team around the chair: the nearest available clerks, accepted.
        taken = set(
            await session.scalars(
                select(Assignment.person_id).where(Assignment.shift_id == early.id)
            )
        )
        target = await session.scalar(
            select(StaffingNorm.target).where(
                StaffingNorm.shift_id == early.id, StaffingNorm.role_type_id == roles["clerk"]
            )
        )
        candidates = await session.scalars(
            select(Person.id)
            .join(Availability, Availability.person_id == Person.id)
            .where(
                Availability.election_id == election_id,
                Availability.day == early.day,
                Availability.work_kind == "election_day",
                Person.status == "active",
                Person.id.not_in(taken),
            )
            .order_by(Person.id)
            .limit(20)
        )
        added = 0
        for candidate in list(candidates):
            if added >= min(3, target or 0):
                break
            try:
                member = await assign_person(
                    session, actor, early.id, roles["clerk"], candidate, override=True
                )
            except StaffingError:
                continue  # anyone who does not fit is skipped
            member.state = "accepted"
            await session.commit()
            added += 1
        await session.commit()
