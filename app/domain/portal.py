"""What a poll clerk sees of their own: their places, their co-workers, their offers.

A clerk reaches data only through their own person record (``people.user_id``); every
lookup below starts there, so another clerk's assignment or station is simply not found.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.mail import queue_email
from app.core.models import Tenant
from app.domain.models import (
    Assignment,
    Building,
    Election,
    Person,
    RoleType,
    Room,
    Shift,
    Station,
)
from app.domain.staffing.offers import Answer, answer_assignment
from app.domain.webparts import site_settings

#: Co-workers a clerk sees: those who have said yes or have been asked.
VISIBLE_STATES = ("offered", "accepted")


async def person_of_user(session: AsyncSession, user_id: int) -> Person | None:
    """The clerk's own person record in this municipality, if the office linked one."""
    return await session.scalar(select(Person).where(Person.user_id == user_id))


@dataclass(frozen=True)
class CoWorker:
    name: str
    role: str
    #: Only the chair's and vice chair's numbers are shown to the team.
    phone: str | None


@dataclass
class MyPlace:
    assignment: Assignment
    election: Election
    station: Station
    shift: Shift
    role: RoleType
    room: Room | None
    building: Building | None
    coworkers: list[CoWorker] = field(default_factory=list)

    @property
    def map_url(self) -> str | None:
        """A map of the building: by its coordinates, else by its address."""
        building = self.building
        if building is None:
            return None
        if building.latitude is not None and building.longitude is not None:
            return (
                "https://www.openstreetmap.org/?mlat="
                f"{building.latitude}&mlon={building.longitude}#map=17/"
                f"{building.latitude}/{building.longitude}"
            )
        from urllib.parse import quote

        address = f"{building.street_address}, {building.postal_code} {building.city}"
        return f"https://www.openstreetmap.org/search?query={quote(address)}"

    @property
    def is_past(self) -> bool:
        return self.shift.day < dt.date.today()


async def my_places(session: AsyncSession, person: Person) -> list[MyPlace]:
    """The person's places (offered, accepted, and past ones), soonest first, each with
    the co-workers of the same station and shift."""
    rows = await session.execute(
        select(Assignment, Election, Station, Shift, RoleType)
        .join(Election, Election.id == Assignment.election_id)
        .join(Station, Station.id == Assignment.station_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .where(Assignment.person_id == person.id, Assignment.state.in_(VISIBLE_STATES))
        .options(selectinload(Station.room).selectinload(Room.building))
        .order_by(Shift.day, Shift.starts_at, Assignment.id)
    )
    places = [
        MyPlace(a, e, st, sh, r, st.room, st.room.building if st.room else None)
        for a, e, st, sh, r in rows
    ]
    shift_ids = [place.shift.id for place in places]
    if shift_ids:
        others = await session.execute(
            select(Assignment.shift_id, Person, RoleType)
            .join(Person, Person.id == Assignment.person_id)
            .join(RoleType, RoleType.id == Assignment.role_type_id)
            .where(
                Assignment.shift_id.in_(shift_ids),
                Assignment.state.in_(VISIBLE_STATES),
                Assignment.person_id != person.id,
            )
            .order_by(RoleType.sort_order, Person.last_name, Person.first_name)
        )
        by_shift: dict[int, list[CoWorker]] = {}
        for shift_id, other, role in others:
            by_shift.setdefault(shift_id, []).append(
                CoWorker(other.full_name, role.name, other.mobile if role.leads_station else None)
            )
        for place in places:
            place.coworkers = by_shift.get(place.shift.id, [])
    return places


async def answer_my_offer(
    session: AsyncSession,
    tenant: Tenant,
    person: Person,
    assignment_id: int,
    accept: bool,
    reason: str = "",
    late_days: int = 14,
) -> Answer:
    """The clerk accepts or declines one of their own offers (404 for anyone else's).

    A decline within ``late_days`` of the shift is mailed to the office at once (when the
    municipality has an office address), so someone else can be found in time.
    """
    row = (
        await session.execute(
            select(Assignment, Shift, Station)
            .join(Shift, Shift.id == Assignment.shift_id)
            .join(Station, Station.id == Assignment.station_id)
            .where(Assignment.id == assignment_id, Assignment.person_id == person.id)
        )
    ).first()
    if row is None:
        raise NotFound(_("Not found."))
    assignment, shift, station = row
    late = not accept and (shift.day - dt.date.today()).days <= late_days
    office = (await site_settings(session)).office_email if late else None
    if office and assignment.state == "offered":
        queue_email(
            session,
            to=office,
            template="staffing_late_decline",
            locale=tenant.locale,
            idempotency_key=f"late-decline:{assignment.id}",
            tenant_id=tenant.id,
            name=person.full_name,
            station=station.name,
            day=shift.day.isoformat(),
            starts_at=shift.starts_at.strftime("%H:%M"),
            reason=reason.strip()[:1000],
        )
    return await answer_assignment(
        session, assignment, accept, reason, Actor(label=person.email or person.full_name)
    )
