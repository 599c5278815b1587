"""What a poll clerk sees of their own: their places, their co-workers, their offers.

A clerk reaches data only through their own person record (``people.user_id``); every
lookup below starts there, so another clerk's assignment or station is simply not found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sqlalchemy import delete, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.accounts.passwords import invite_user
from app.core.accounts.users import AccountsError
from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _, named
from app.core.models import Tenant, User
from app.core.settings import SUPPORTED_LOCALES, Settings
from app.core.validation import FieldErrors
from app.domain.messaging.fields import merge_fields
from app.domain.messaging.queue import queue_message
from app.domain.models import (
    Assignment,
    Availability,
    Building,
    District,
    DistrictPreference,
    Election,
    Person,
    RoleType,
    Room,
    Shift,
    Station,
)
from app.domain.ops.access import local_today
from app.domain.recruitment.application_form import OpenElection, clean_choices, open_elections
from app.domain.registers.protection import shown_name
from app.domain.site.webparts import site_settings
from app.domain.staffing.offers import Answer, answer_assignment
from app.domain.staffing.queries import assignments_of_person

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
    #: The municipality's day when the place was read (not the server's: election days
    #: are local days).
    today: dt.date
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
        address = f"{building.street_address}, {building.postal_code} {building.city}"
        return f"https://www.openstreetmap.org/search?query={quote(address)}"

    @property
    def is_past(self) -> bool:
        return self.shift.day < self.today


async def my_places(session: AsyncSession, person: Person) -> list[MyPlace]:
    """The person's places (offered, accepted, and past ones), soonest first, each with
    the co-workers of the same station and shift."""
    rows = await session.execute(
        assignments_of_person(person.id)
        .where(Assignment.state.in_(VISIBLE_STATES))
        .options(selectinload(Station.room).selectinload(Room.building))
    )
    today = await local_today(session)
    places = [
        MyPlace(a, e, st, sh, r, st.room, st.room.building if st.room else None, today)
        for a, e, st, sh, r in rows
    ]
    shift_ids = [place.shift.id for place in places]
    if shift_ids:
        others = await session.execute(
            select(Assignment.shift_id, Person, RoleType, Assignment.state)
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
        for shift_id, other, role, state in others:
            # The lead's number once they have accepted; nobody else's.
            phone = other.mobile if role.leads_station and state == "accepted" else None
            # A protected co-worker's name is not for the team (registers.protection).
            name = shown_name(other, may_see=False)
            by_shift.setdefault(shift_id, []).append(CoWorker(name, named(role), phone))
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
    actor: Actor | None = None,
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
    assignment, shift, _station = row
    late = not accept and (shift.day - await local_today(session)).days <= late_days
    office = (await site_settings(session)).office_email if late else None
    if office and assignment.state == "offered":
        await queue_message(
            session,
            key="staffing_late_decline",
            channel="email",
            to=office,
            locale=tenant.locale,
            idempotency_key=f"late-decline:{assignment.id}",
            fields=await merge_fields(
                session,
                person=person,
                assignment=assignment,
                locale=tenant.locale,
                extra={"decline.reason": reason.strip()[:1000]},
            ),
        )
    return await answer_assignment(
        session,
        assignment,
        accept,
        reason,
        actor or Actor(label=person.email or person.full_name),
    )


async def invite_to_portal(
    session: AsyncSession, actor: Actor, settings: Settings, tenant: Tenant, person_id: int
) -> User:
    """Give a person their clerk account and link it to their record.

    Only a new address gets an account (a clerk's, with an invitation link to choose a
    password); an address that already has an account anywhere is refused, and the
    operator links it by hand, so nobody gains an account by typing its address into
    a person's record or an application.
    """
    person = await session.scalar(select(Person).where(Person.id == person_id))
    if person is None:
        raise NotFound(_("Not found."))
    if not person.email:
        raise AccountsError(_("Add an email address first."), "email")
    if person.user_id is not None:
        raise AccountsError(_("This person already has a portal account."), "email")
    if await session.scalar(select(User.id).where(User.email == person.email)):
        # Never link an account that exists already: the register's email (which an
        # applicant or a planner may have typed) would hand that account's owner's
        # portal, or more, to whoever controls this person's record.
        raise AccountsError(
            _("This address already has a Stemma account. Ask your operator to link it."),
            "email",
        )
    user = await invite_user(
        session,
        actor,
        settings,
        tenant,
        person.email,
        person.full_name,
        "clerk",
        person.preferred_language,
    )
    person = await session.scalar(select(Person).where(Person.id == person_id))
    assert person is not None
    person.user_id = user.id
    if user.locale is None and person.preferred_language in SUPPORTED_LOCALES:
        # The portal speaks the language the person asked to be written to in, as the
        # invitation did.
        user.locale = person.preferred_language
    await record(session, actor, "portal.account.linked", person, data={"user": user.id})
    await session.commit()
    return user


async def invite_each_to_portal(
    session: AsyncSession, actor: Actor, settings: Settings, tenant: Tenant, person_ids: list[int]
) -> int:
    """Invite each person to the portal, each invitation its own unit of work (people
    approved together are invited one by one: one refusal does not undo the others).

    Someone who cannot be invited (already linked, no email, an account elsewhere) is
    skipped; their page says why. Returns how many were invited.
    """
    invited = 0
    for person_id in person_ids:
        try:
            await invite_to_portal(session, actor, settings, tenant, person_id)
        except AccountsError:
            # A refusal may have rolled back, expiring the tenant the next one reads.
            if inspect(tenant).expired_attributes:
                await session.refresh(tenant)
            continue
        invited += 1
    return invited


@dataclass
class MyAvailability:
    option: OpenElection
    kinds: list[str]
    days: list[dt.date]
    district_ids: list[int]


async def my_availability(session: AsyncSession, person: Person) -> list[MyAvailability]:
    """For each election still ahead, what the person has said they can work."""
    result = []
    for option in await open_elections(session, await local_today(session)):
        rows = list(
            await session.execute(
                select(Availability.day, Availability.work_kind).where(
                    Availability.person_id == person.id,
                    Availability.election_id == option.id,
                )
            )
        )
        wished = await session.scalars(
            select(DistrictPreference.district_id)
            .join(District, District.id == DistrictPreference.district_id)
            .where(DistrictPreference.person_id == person.id, District.election_id == option.id)
        )
        result.append(
            MyAvailability(
                option,
                sorted({kind for _day, kind in rows}),
                sorted({day for day, _kind in rows}),
                sorted(wished),
            )
        )
    return result


async def update_my_availability(
    session: AsyncSession, person: Person, data: Mapping[str, Any], actor: Actor | None = None
) -> None:
    """Replace what the person can work in one election (days, kinds of work, district
    wishes), checked like an application; planners see it at once."""
    offered = await open_elections(session, await local_today(session))
    errors: dict[str, str] = {}
    choices = clean_choices([data], offered, errors)
    if errors or not choices:
        raise FieldErrors(errors or {"elections": _("This election no longer takes changes.")})
    choice = choices[0]
    option = next(o for o in offered if o.id == choice.election_id)
    await session.execute(
        delete(Availability).where(
            Availability.person_id == person.id, Availability.election_id == option.id
        )
    )
    session.add_all(
        Availability(person_id=person.id, election_id=option.id, day=day, work_kind=kind)
        for day in choice.days
        for kind in choice.work_kinds
        if option.fits(kind, day)
    )
    districts_here = select(District.id).where(District.election_id == option.id)
    await session.execute(
        delete(DistrictPreference).where(
            DistrictPreference.person_id == person.id,
            DistrictPreference.district_id.in_(districts_here),
        )
    )
    session.add_all(
        DistrictPreference(person_id=person.id, district_id=district_id)
        for district_id in choice.district_ids
    )
    await record(
        session,
        actor or Actor(label=person.email or person.full_name),
        "portal.availability.updated",
        person,
        data={"election": option.id, "days": len(choice.days), "kinds": choice.work_kinds},
    )
    await session.commit()


@dataclass(frozen=True)
class TeamMember:
    name: str
    role: str
    shift: Shift
    mobile: str | None
    email: str | None
    state: str


@dataclass(frozen=True)
class LedStation:
    station: Station
    election: Election
    members: list[TeamMember]


async def stations_i_lead(session: AsyncSession, person: Person) -> list[LedStation]:
    """The stations where the person has accepted a leading role (chair or vice chair),
    with their whole team and contact details: what a station lead needs."""
    led = await session.execute(
        select(Station, Election)
        .join(Assignment, Assignment.station_id == Station.id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .join(Election, Election.id == Station.election_id)
        .where(
            Assignment.person_id == person.id,
            Assignment.state == "accepted",
            RoleType.leads_station.is_(True),
            # A lead sees the team's contacts while it is their team, not for ever.
            Election.election_day >= await local_today(session),
        )
        .distinct()
        .order_by(Election.election_day, Station.name)
    )
    result = []
    for station, election in led.all():
        rows = await session.execute(
            select(Assignment, Person, RoleType, Shift)
            .join(Person, Person.id == Assignment.person_id)
            .join(RoleType, RoleType.id == Assignment.role_type_id)
            .join(Shift, Shift.id == Assignment.shift_id)
            .where(Assignment.station_id == station.id, Assignment.state == "accepted")
            .order_by(Shift.day, Shift.starts_at, RoleType.sort_order, Person.last_name)
        )
        members = [
            TeamMember(p.full_name, named(r), sh, p.mobile, p.email, a.state)
            for a, p, r, sh in rows
        ]
        result.append(LedStation(station, election, members))
    return result
