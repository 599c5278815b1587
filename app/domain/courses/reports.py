"""Course reports of an election: who holds a place without the course their role
requires, how full each session is, the attendance list to sign at a session, and
the attended sessions for pay. Rows here; the face chooses headings and writes them
with the report table writers of ``app.core.documents.tables``, except
the attendance list, which has its own page layout with room for signatures
(``attendance_pdf``).

Which sessions belong to an election: those of the election's own courses, and of the
courses valid for years, those in the twelve months up to election day (training for
this election, not for one years ago).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.errors import NotFound
from app.core.i18n import _, local_name, named
from app.domain.courses.catalog import get_session
from app.domain.courses.notices import place_of
from app.domain.courses.qualifications import course_needs, unmet
from app.domain.elections.elections import get_election
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    Course,
    CourseBooking,
    CourseSession,
    District,
    Election,
    Person,
    RoleType,
    Room,
    SessionTeacher,
    Shift,
    Station,
)

#: How far before election day a session of a course valid for years counts as
#: training for the election.
TRAINING_SEASON = dt.timedelta(days=365)

#: Seats held on a session (a no-show sat on a seat that day), as ``seats.seats_taken`` counts.
SEATED_STATES = ("booked", "attended", "no_show")


def election_sessions(election: Election) -> ColumnElement[bool]:
    """The criterion for the sessions that belong to ``election`` (see the module)."""
    return or_(
        Course.election_id == election.id,
        and_(
            Course.election_id.is_(None),
            CourseSession.day > election.election_day - TRAINING_SEASON,
            CourseSession.day <= election.election_day,
        ),
    )


async def election_courses(session: AsyncSession, election_id: int) -> list[Course]:
    """The courses of an election and those valid for years, for the filters."""
    election = await get_election(session, election_id)
    return list(
        await session.scalars(
            select(Course)
            .where(or_(Course.election_id == election.id, Course.election_id.is_(None)))
            .order_by(Course.name, Course.id)
        )
    )


# --- lacking a required course -----------------------------------------------------------

#: ``LackingCourse.status``: nothing at all, only on a waiting list, or a seat on a
#: session on or after the first day the person works.
LACKING_STATES = ("missing", "waiting", "late")


@dataclass(frozen=True)
class LackingCourse:
    """A person holding a place in a role at a station without a course the role requires."""

    station_id: int
    station: str
    district: str  # "code name"; empty for an advance voting station
    role_type_id: int
    role: str
    person_id: int
    name: str
    #: The first day the person works in this role at this station.
    first_day: dt.date
    course_id: int
    course: str
    status: str
    #: The session booked or waited for, when there is one.
    session_day: dt.date | None


@dataclass(frozen=True)
class LackingCount:
    """How many people lack a course in one role at one station, and why."""

    station_id: int
    station: str
    district: str
    role: str
    people: int
    missing: int
    waiting: int
    late: int


async def lacking_courses(
    session: AsyncSession,
    election_id: int,
    *,
    district_id: int | None = None,
    station_id: int | None = None,
    course_id: int | None = None,
) -> list[LackingCourse]:
    """Everyone holding a place (proposed, offered or accepted) whose role requires a
    course they neither have nor hold a seat for before their first shift, station by
    station, role by role, then by name; narrowed to a district, station or course."""
    election = await get_election(session, election_id)
    statement = (
        select(
            Assignment.person_id,
            Assignment.role_type_id,
            func.min(Shift.day),
            Station.id,
            Station.name,
            Station.kind,
            District.code,
            District.name,
            RoleType.name,
            RoleType.sort_order,
            Person.first_name,
            Person.last_name,
        )
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(Station, Station.id == Assignment.station_id)
        .outerjoin(District, District.id == Station.district_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .join(Person, Person.id == Assignment.person_id)
        .where(Assignment.election_id == election.id, Assignment.state.in_(HOLDING_STATES))
        .group_by(
            Assignment.person_id,
            Assignment.role_type_id,
            Station.id,
            Station.name,
            Station.kind,
            District.code,
            District.name,
            RoleType.name,
            RoleType.sort_order,
            Person.first_name,
            Person.last_name,
        )
    )
    if district_id is not None:
        statement = statement.where(Station.district_id == district_id)
    if station_id is not None:
        statement = statement.where(Station.id == station_id)
    places = list(await session.execute(statement))
    role_names = {role.id: named(role) for role in await session.scalars(select(RoleType))}
    needs = await course_needs(session, election, [(row[0], row[1]) for row in places])
    found: list[tuple[tuple[object, ...], LackingCourse]] = []
    for (
        person_id,
        role_id,
        first_day,
        sid,
        station,
        kind,
        code,
        district,
        role,
        role_order,
        first,
        last,
    ) in places:
        for need in unmet(needs[(person_id, role_id)], first_day):
            if course_id is not None and need.course_id != course_id:
                continue
            status = "late" if need.status == "booked" else need.status
            row = LackingCourse(
                sid,
                station,
                f"{code} {district}" if code else "",
                role_id,
                role_names.get(role_id, role),
                person_id,
                f"{first} {last}",
                first_day,
                need.course_id,
                need.course_name,
                status,
                need.session_day,
            )
            # Polling stations district by district, then advance voting, as staffing does.
            order = (kind != "polling", code or "", station, sid, role_order, role_id)
            found.append(((*order, last, first, person_id, need.course_name), row))
    found.sort(key=lambda pair: pair[0])
    return [row for _key, row in found]


def lacking_counts(rows: Sequence[LackingCourse]) -> list[LackingCount]:
    """The lacking list summed per station and role (a person counted once per role,
    however many courses they lack; by the worst of them)."""
    worst: dict[tuple[int, int], dict[int, str]] = defaultdict(dict)
    names: dict[tuple[int, int], tuple[str, str, str]] = {}
    rank = {state: index for index, state in enumerate(LACKING_STATES)}
    for row in rows:
        key = (row.station_id, row.role_type_id)
        names[key] = (row.station, row.district, row.role)
        current = worst[key].get(row.person_id)
        if current is None or rank[row.status] < rank[current]:
            worst[key][row.person_id] = row.status
    result = []
    for key, people in worst.items():  # in the rows' order
        station, district, role = names[key]
        states = list(people.values())
        result.append(
            LackingCount(
                key[0],
                station,
                district,
                role,
                len(states),
                states.count("missing"),
                states.count("waiting"),
                states.count("late"),
            )
        )
    return result


# --- session fill rates ------------------------------------------------------------------


@dataclass(frozen=True)
class SessionFill:
    """One session's seats and what became of them."""

    course_id: int
    course: str
    session_id: int
    day: dt.date
    starts_at: dt.time
    ends_at: dt.time
    place: str
    status: str  # open or cancelled
    capacity: int
    #: Seats held: booked, attended and no-show.
    booked: int
    waiting: int
    attended: int
    no_show: int

    @property
    def fill_percent(self) -> int:
        """Seats held as a whole percentage of the seats (0 for a cancelled session)."""
        if self.status == "cancelled" or not self.capacity:
            return 0
        return round(100 * self.booked / self.capacity)


async def session_fill(
    session: AsyncSession, election_id: int, course_id: int | None = None
) -> list[SessionFill]:
    """Every session of the election's courses (or one course), course by course in
    time order, with seats, bookings, waiting list, attendance and no-shows."""
    election = await get_election(session, election_id)
    statement = (
        select(CourseSession)
        .join(Course, Course.id == CourseSession.course_id)
        .where(election_sessions(election))
        .options(
            selectinload(CourseSession.course),
            selectinload(CourseSession.room).selectinload(Room.building),
        )
        .order_by(
            Course.name, Course.id, CourseSession.day, CourseSession.starts_at, CourseSession.id
        )
    )
    if course_id is not None:
        statement = statement.where(Course.id == course_id)
    sessions = list(await session.scalars(statement))
    counts: dict[tuple[int, str], int] = {}
    ids = [s.id for s in sessions]
    for start in range(0, len(ids), 5_000):
        rows = await session.execute(
            select(CourseBooking.session_id, CourseBooking.state, func.count(CourseBooking.id))
            .where(CourseBooking.session_id.in_(ids[start : start + 5_000]))
            .group_by(CourseBooking.session_id, CourseBooking.state)
        )
        counts.update({(sid, state): n for sid, state, n in rows})

    def count(sid: int, *states: str) -> int:
        return sum(counts.get((sid, state), 0) for state in states)

    return [
        SessionFill(
            s.course_id,
            s.course.name,
            s.id,
            s.day,
            s.starts_at,
            s.ends_at,
            place_of(s),
            s.status,
            s.capacity,
            count(s.id, *SEATED_STATES),
            count(s.id, "waiting"),
            count(s.id, "attended"),
            count(s.id, "no_show"),
        )
        for s in sessions
    ]


# --- the attendance list -----------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceLine:
    """A person with a seat: never their national id number, only the birth year."""

    name: str
    birth_year: int | None
    #: "Station (role)" of each place they hold in the course's election, if any.
    places: str


@dataclass(frozen=True)
class AttendanceSheet:
    course: str
    election: str
    day: dt.date
    starts_at: dt.time
    ends_at: dt.time
    place: str
    teachers: list[str]
    status: str
    lines: list[AttendanceLine]


async def attendance_sheet(
    session: AsyncSession, session_id: int, election_id: int | None = None
) -> AttendanceSheet:
    """The list to sign at a session: everyone with a seat on it, by name. With
    ``election_id``, a session that does not belong to that election is not found."""
    course_session = await get_session(session, session_id)
    course = course_session.course
    if election_id is not None:
        election = await get_election(session, election_id)
        belongs = await session.scalar(
            select(CourseSession.id)
            .join(Course, Course.id == CourseSession.course_id)
            .where(CourseSession.id == course_session.id, election_sessions(election))
        )
        if belongs is None:
            raise NotFound(_("Not found."))
    people = list(
        await session.scalars(
            select(Person)
            .join(CourseBooking, CourseBooking.person_id == Person.id)
            .where(
                CourseBooking.session_id == course_session.id,
                CourseBooking.state.in_(SEATED_STATES),
            )
            .order_by(Person.last_name, Person.first_name, Person.id)
        )
    )
    places: dict[int, list[str]] = defaultdict(list)
    if course.election_id is not None and people:
        rows = await session.execute(
            select(Assignment.person_id, Station.name, RoleType.name, RoleType.names)
            .join(Station, Station.id == Assignment.station_id)
            .join(RoleType, RoleType.id == Assignment.role_type_id)
            .where(
                Assignment.election_id == course.election_id,
                Assignment.state.in_(HOLDING_STATES),
                Assignment.person_id.in_([p.id for p in people]),
            )
            .group_by(
                Assignment.person_id,
                Station.name,
                RoleType.name,
                RoleType.names,
                RoleType.sort_order,
            )
            .order_by(Station.name, RoleType.sort_order)
        )
        for person_id, station, role, names in rows:
            places[person_id].append(f"{station} ({local_name(role, names)})")
    teachers = list(
        await session.scalars(
            select(Person)
            .join(SessionTeacher, SessionTeacher.person_id == Person.id)
            .where(SessionTeacher.session_id == course_session.id)
            .order_by(Person.last_name, Person.first_name)
        )
    )
    election_name = ""
    if course.election_id is not None:
        election_name = (await get_election(session, course.election_id)).name
    return AttendanceSheet(
        course.name,
        election_name,
        course_session.day,
        course_session.starts_at,
        course_session.ends_at,
        place_of(course_session),
        [t.full_name for t in teachers],
        course_session.status,
        [
            AttendanceLine(
                p.full_name,
                p.birth_date.year if p.birth_date else None,
                ", ".join(places.get(p.id, [])),
            )
            for p in people
        ],
    )


# --- attended sessions, for pay ----------------------------------------------------------


@dataclass(frozen=True)
class PayLine:
    """A person's attended session: the register id (never the national id), the course
    and the hours to pay."""

    person_id: int
    name: str
    course: str
    course_kind: str
    day: dt.date
    starts_at: dt.time
    ends_at: dt.time
    hours: Decimal


def paid_hours(course: Course, course_session: CourseSession) -> Decimal:
    """The session's length for a classroom course (the time people sat there); the
    course's stated duration for an online course or a test, whose session times are
    only the window in which to take it."""
    if course.kind == "classroom":
        minutes = (course_session.ends_at.hour * 60 + course_session.ends_at.minute) - (
            course_session.starts_at.hour * 60 + course_session.starts_at.minute
        )
    else:
        minutes = course.duration_minutes
    return (Decimal(max(minutes, 0)) / 60).quantize(Decimal("0.01"))


async def attended_for_pay(
    session: AsyncSession,
    *,
    election_id: int | None = None,
    from_day: dt.date | None = None,
    to_day: dt.date | None = None,
) -> list[PayLine]:
    """Every attended session (walk-ins too) of an election's courses, or in a period
    (both when both are given), by person then day."""
    statement = (
        select(CourseBooking.person_id, Person.first_name, Person.last_name, Course, CourseSession)
        .join(CourseSession, CourseSession.id == CourseBooking.session_id)
        .join(Course, Course.id == CourseSession.course_id)
        .join(Person, Person.id == CourseBooking.person_id)
        .where(CourseBooking.state == "attended")
        .order_by(
            Person.last_name,
            Person.first_name,
            Person.id,
            CourseSession.day,
            CourseSession.starts_at,
            CourseSession.id,
        )
    )
    if election_id is not None:
        election = await get_election(session, election_id)
        statement = statement.where(election_sessions(election))
    if from_day is not None:
        statement = statement.where(CourseSession.day >= from_day)
    if to_day is not None:
        statement = statement.where(CourseSession.day <= to_day)
    return [
        PayLine(
            person_id,
            f"{first} {last}",
            course.name,
            course.kind,
            course_session.day,
            course_session.starts_at,
            course_session.ends_at,
            paid_hours(course, course_session),
        )
        for person_id, first, last, course, course_session in await session.execute(statement)
    ]


async def station_choices(
    session: AsyncSession, election_id: int, district_id: int | None = None
) -> list[tuple[int, str]]:
    """(id, name) of an election's stations (in a district when given), for the filter."""
    statement = (
        select(Station.id, Station.name)
        .outerjoin(District, District.id == Station.district_id)
        .where(Station.election_id == election_id)
        .order_by(Station.kind.desc(), District.code, Station.name)
    )
    if district_id is not None:
        statement = statement.where(Station.district_id == district_id)
    return [(sid, name) for sid, name in await session.execute(statement)]
