"""Who a dispatch goes to: the group's filter, checked, and the people it names, read
in one statement (no row per person through the ORM: a group can be 15,000 people).

Groups: ``staff`` (the people with a place in an election, narrowed by district,
station, role, state, shift day, unanswered offers, a course booking and arrival on
election day), ``reserves`` (of an election, by district, with the same course
filter), ``applicants`` (by status, optionally for one election) and ``course`` (the
bookings of one course, by state) and ``register`` (everyone active in the register
of people, with the same course filter).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    cast,
    exists,
    func,
    null,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _
from app.domain.dispatches import DispatchError
from app.domain.models import (
    ACTIVE_BOOKING_STATES,
    APPLICATION_STATUSES,
    Application,
    ApplicationElection,
    Assignment,
    CheckIn,
    Course,
    CourseBooking,
    District,
    Election,
    Person,
    Reserve,
    RoleType,
    Shift,
    Station,
)

GROUPS = ("staff", "reserves", "applicants", "course", "register")
#: The assignment states a dispatch may choose (withdrawn places hear nothing).
STAFF_STATES = ("proposed", "offered", "accepted", "declined")
#: A person's booking of the chosen course.
COURSE_STATES = ("booked", "not_booked", "attended", "absent")
ARRIVALS = ("arrived", "not_arrived")
_BOOKING_STATE = {"booked": ("booked",), "attended": ("attended",), "absent": ("no_show",)}


@dataclass(frozen=True)
class RecipientFilter:
    """A dispatch's group, as stored on it (``as_dict``) and read back (``from_mapping``)."""

    group: str = "staff"
    election_id: int | None = None
    district_id: int | None = None
    station_id: int | None = None
    role_type_id: int | None = None
    states: tuple[str, ...] = ("accepted",)
    day: dt.date | None = None
    unanswered: bool = False
    course_id: int | None = None
    course_state: str | None = None
    arrival: str | None = None
    application_statuses: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["states"] = list(self.states)
        data["application_statuses"] = list(self.application_statuses)
        data["day"] = self.day.isoformat() if self.day else None
        return {key: value for key, value in data.items() if value not in (None, [], False)}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RecipientFilter:
        """The filter from a form, a JSON body or a stored dispatch; refuses what cannot
        be a group, naming the field."""
        group = str(data.get("group") or "staff")
        if group not in GROUPS:
            raise DispatchError(_("Choose who the dispatch is for."), "group")
        states = _choices(data.get("states"), STAFF_STATES, "states")
        statuses = _choices(data.get("application_statuses"), APPLICATION_STATUSES, "states")
        course_state = _one_of(data.get("course_state"), COURSE_STATES, "course_state")
        arrival = _one_of(data.get("arrival"), ARRIVALS, "arrival")
        made = cls(
            group=group,
            election_id=_id(data.get("election_id"), "election_id"),
            district_id=_id(data.get("district_id"), "district_id"),
            station_id=_id(data.get("station_id"), "station_id"),
            role_type_id=_id(data.get("role_type_id"), "role_type_id"),
            states=states or (("accepted",) if group == "staff" else ()),
            day=_day(data.get("day")),
            unanswered=_flag(data.get("unanswered")),
            course_id=_id(data.get("course_id"), "course_id"),
            course_state=course_state,
            arrival=arrival,
            application_statuses=statuses,
        )
        made.check()
        return made

    def check(self) -> None:
        if self.group in ("staff", "reserves") and self.election_id is None:
            raise DispatchError(_("Choose the election."), "election_id")
        if self.group == "course" and self.course_id is None:
            raise DispatchError(_("Choose the course."), "course_id")
        if self.course_state is not None and self.course_id is None:
            raise DispatchError(_("Choose the course whose bookings count."), "course_id")
        if self.group == "course" and self.course_state == "not_booked":
            raise DispatchError(
                _("People not booked on a course are chosen among the staff or reserves."),
                "course_state",
            )


def _id(value: Any, name: str) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise DispatchError(_("Choose from the list."), name) from None
    if not 0 < number < 2**31:
        raise DispatchError(_("Choose from the list."), name)
    return number


def _day(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise DispatchError(_("Enter a date as YYYY-MM-DD."), "day") from None


def _flag(value: Any) -> bool:
    return value in (True, "1", "on", "true", "yes")


def _choices(value: Any, allowed: Sequence[str], name: str) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    given = [value] if isinstance(value, str) else list(value)
    if any(item not in allowed for item in given):
        raise DispatchError(_("Choose from the list."), name)
    return tuple(item for item in allowed if item in given)


def _one_of(value: Any, allowed: Sequence[str], name: str) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise DispatchError(_("Choose from the list."), name)
    return str(value)


@dataclass(frozen=True)
class Candidate:
    """One person (or applicant) of the group, with what the list freezes."""

    recipient_key: str
    person_id: int | None
    application_id: int | None
    assignment_id: int | None
    name: str
    email: str | None
    mobile: str | None
    locale: str
    erased: bool
    first_name: str = ""
    #: The place of ``assignment_id`` (for the merge fields).
    station_id: int | None = None
    shift_id: int | None = None
    role_type_id: int | None = None
    #: Only this channel (sending again to a failed message); None: the dispatch's.
    channel: str | None = None


async def check_objects(session: AsyncSession, chosen: RecipientFilter) -> None:
    """Refuse a filter that names another municipality's (or no) election, district,
    station, role or course: the tenant hook hides them, so they are not found."""
    for model, value, name in (
        (Election, chosen.election_id, "election_id"),
        (District, chosen.district_id, "district_id"),
        (Station, chosen.station_id, "station_id"),
        (RoleType, chosen.role_type_id, "role_type_id"),
        (Course, chosen.course_id, "course_id"),
    ):
        # A query, not the identity map: the tenant hook hides another's rows.
        if (
            value is not None
            and await session.scalar(select(model.id).where(model.id == value)) is None
        ):
            raise DispatchError(_("Choose from the list."), name)


#: The tenant a group's statement holds each table to itself, for a statement the ORM's
#: tenant hook does not see (the frozen list's INSERT … SELECT); None: the hook does it.
Tenant = BindParameter[int] | None


def held(tenant: Tenant, *models: Any) -> list[ColumnElement[bool]]:
    """``tenant_id = :tenant`` for each model's table, when the statement holds them."""
    return [] if tenant is None else [model.tenant_id == tenant for model in models]


def _course_condition(
    chosen: RecipientFilter, person_id: Any, tenant: Tenant = None
) -> ColumnElement[bool] | None:
    if chosen.course_id is None or chosen.course_state is None:
        return None
    booking = and_(
        CourseBooking.person_id == person_id,
        CourseBooking.course_id == chosen.course_id,
        *held(tenant, CourseBooking),
    )
    if chosen.course_state == "not_booked":
        active = CourseBooking.state.in_(ACTIVE_BOOKING_STATES)
        return ~exists().where(booking, active)
    return exists().where(booking, CourseBooking.state.in_(_BOOKING_STATE[chosen.course_state]))


def _staff(chosen: RecipientFilter, tenant: Tenant = None) -> Select[int, int]:
    """Each person with a matching place once, with the first such place (for its
    station, shift and role in the merge fields)."""
    states = ("offered",) if chosen.unanswered else chosen.states
    statement: Select[int, int] = select(
        Assignment.person_id.label("person_id"), func.min(Assignment.id).label("assignment_id")
    ).where(
        Assignment.election_id == chosen.election_id,
        Assignment.state.in_(states),
        *held(tenant, Assignment),
    )
    if chosen.unanswered:
        statement = statement.where(Assignment.responded_at.is_(None))
    if chosen.district_id is not None:
        statement = statement.join(Station, Station.id == Assignment.station_id).where(
            Station.district_id == chosen.district_id, *held(tenant, Station)
        )
    if chosen.station_id is not None:
        statement = statement.where(Assignment.station_id == chosen.station_id)
    if chosen.role_type_id is not None:
        statement = statement.where(Assignment.role_type_id == chosen.role_type_id)
    if chosen.day is not None:
        statement = statement.join(Shift, Shift.id == Assignment.shift_id).where(
            Shift.day == chosen.day, *held(tenant, Shift)
        )
    if chosen.arrival is not None:
        arrived = exists().where(
            CheckIn.person_id == Assignment.person_id,
            CheckIn.shift_id == Assignment.shift_id,
            CheckIn.kind == "arrived",
            *held(tenant, CheckIn),
        )
        statement = statement.where(arrived if chosen.arrival == "arrived" else ~arrived)
    condition = _course_condition(chosen, Assignment.person_id, tenant)
    if condition is not None:
        statement = statement.where(condition)
    return statement.group_by(Assignment.person_id)


def _reserves(chosen: RecipientFilter, tenant: Tenant = None) -> Select[int, int]:
    statement: Select[int, int] = select(
        Reserve.person_id.label("person_id"), cast(null(), Integer).label("assignment_id")
    ).where(Reserve.election_id == chosen.election_id, *held(tenant, Reserve))
    if chosen.district_id is not None:
        statement = statement.where(Reserve.district_id == chosen.district_id)
    condition = _course_condition(chosen, Reserve.person_id, tenant)
    if condition is not None:
        statement = statement.where(condition)
    return statement


def _register(chosen: RecipientFilter, tenant: Tenant = None) -> Select[int, int]:
    statement: Select[int, int] = select(
        Person.id.label("person_id"), cast(null(), Integer).label("assignment_id")
    ).where(Person.status == "active", Person.erased_at.is_(None), *held(tenant, Person))
    condition = _course_condition(chosen, Person.id, tenant)
    if condition is not None:
        statement = statement.where(condition)
    return statement


def _course(chosen: RecipientFilter, tenant: Tenant = None) -> Select[int, int]:
    states = _BOOKING_STATE[chosen.course_state] if chosen.course_state else ("booked",)
    statement: Select[int, int] = (
        select(
            CourseBooking.person_id.label("person_id"), cast(null(), Integer).label("assignment_id")
        )
        .where(
            CourseBooking.course_id == chosen.course_id,
            CourseBooking.state.in_(states),
            *held(tenant, CourseBooking),
        )
        .group_by(CourseBooking.person_id)
    )
    return statement


def group_of(chosen: RecipientFilter, tenant: Tenant = None) -> Any:
    """The people of a group other than applicants, as a subquery of (person_id, the
    assignment_id of their first matching place or null)."""
    match chosen.group:
        case "reserves":
            return _reserves(chosen, tenant).subquery()
        case "course":
            return _course(chosen, tenant).subquery()
        case "register":
            return _register(chosen, tenant).subquery()
        case _:
            return _staff(chosen, tenant).subquery()


async def _people(session: AsyncSession, chosen: RecipientFilter) -> list[Candidate]:
    group = group_of(chosen)
    rows = await session.execute(
        select(
            Person.id,
            Person.first_name,
            Person.last_name,
            Person.email,
            Person.mobile,
            Person.preferred_language,
            Person.erased_at,
            group.c.assignment_id,
            Assignment.station_id,
            Assignment.shift_id,
            Assignment.role_type_id,
        )
        .join(group, group.c.person_id == Person.id)
        .outerjoin(Assignment, Assignment.id == group.c.assignment_id)
        .order_by(Person.last_name, Person.first_name, Person.id)
    )
    return [
        Candidate(
            recipient_key=f"p{row.id}",
            person_id=row.id,
            application_id=None,
            assignment_id=row.assignment_id,
            name=f"{row.first_name} {row.last_name}".strip(),
            email=row.email or None,
            mobile=row.mobile or None,
            locale=row.preferred_language or "sv",
            erased=row.erased_at is not None,
            first_name=row.first_name,
            station_id=row.station_id,
            shift_id=row.shift_id,
            role_type_id=row.role_type_id,
        )
        for row in rows
    ]


async def _applicants(session: AsyncSession, chosen: RecipientFilter) -> list[Candidate]:
    statuses = chosen.application_statuses or ("new", "more_info")
    statement = select(
        Application.id,
        Application.person_id,
        Application.first_name,
        Application.last_name,
        Application.email,
        Application.mobile,
        Application.preferred_language,
    ).where(Application.status.in_(statuses))
    if chosen.election_id is not None:
        statement = statement.where(
            exists().where(
                ApplicationElection.application_id == Application.id,
                ApplicationElection.election_id == chosen.election_id,
            )
        )
    rows = await session.execute(
        statement.order_by(Application.last_name, Application.first_name, Application.id)
    )
    return [
        Candidate(
            recipient_key=f"p{row.person_id}" if row.person_id else f"a{row.id}",
            person_id=row.person_id,
            application_id=row.id,
            assignment_id=None,
            name=f"{row.first_name} {row.last_name}".strip(),
            email=row.email or None,
            mobile=row.mobile or None,
            locale=row.preferred_language or "sv",
            erased=False,
            first_name=row.first_name,
        )
        for row in rows
    ]


async def resolve(session: AsyncSession, chosen: RecipientFilter) -> list[Candidate]:
    """The people the filter names now, in name order, each once."""
    if chosen.group == "applicants":
        return await _applicants(session, chosen)
    return await _people(session, chosen)


@dataclass(frozen=True)
class FilterChoices:
    """What the dispatch form offers for one election: its districts, stations, roles,
    shift days, and the courses."""

    districts: list[tuple[int, str]]
    stations: list[tuple[int, str]]
    roles: list[RoleType]
    days: list[dt.date]
    courses: list[tuple[int, str]]


async def choices_for(session: AsyncSession, election_id: int | None) -> FilterChoices:
    courses = [
        (row.id, row.name)
        for row in await session.execute(
            select(Course.id, Course.name).where(Course.active.is_(True)).order_by(Course.name)
        )
    ]
    roles = list(
        await session.scalars(select(RoleType).order_by(RoleType.sort_order, RoleType.name))
    )
    if election_id is None:
        return FilterChoices([], [], roles, [], courses)
    districts = [
        (row.id, f"{row.code} {row.name}")
        for row in await session.execute(
            select(District.id, District.code, District.name)
            .where(District.election_id == election_id)
            .order_by(District.code)
        )
    ]
    stations = [
        (row.id, f"{row.code} · {row.name}" if row.code else row.name)
        for row in await session.execute(
            select(Station.id, Station.name, District.code)
            .outerjoin(District, District.id == Station.district_id)
            .where(Station.election_id == election_id)
            .order_by(District.code, Station.name)
        )
    ]
    days = list(
        await session.scalars(
            select(Shift.day)
            .join(Station, Station.id == Shift.station_id)
            .where(Station.election_id == election_id)
            .distinct()
            .order_by(Shift.day)
        )
    )
    return FilterChoices(districts, stations, roles, days, courses)
