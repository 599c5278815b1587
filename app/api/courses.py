"""Courses over the JSON API, read only: the courses and the roles that require them,
their sessions with how full they are, bookings and qualifications.

Every list is paged like the others (``page``, ``per_page``; answers carry ``total``
and ``pages``). A filter naming another municipality's person, course or session
answers 404, as a path id does. People appear by id only, never by id number.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field
from quart_schema import tag, validate_querystring, validate_response
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from app.api.schema import Day, LocalTime, PageNumber, PerPage, QueryBool, QueryId, problems
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.paging import fetch_page, page_count
from app.core.routes import Routes
from app.core.web import db
from app.domain.courses import catalog
from app.domain.models import (
    Course,
    CourseBooking,
    CourseRequirement,
    CourseSession,
    Person,
    Qualification,
)

routes = Routes()

#: A booking's state (``BOOKING_STATES``).
BookingState = Literal["booked", "waiting", "attended", "no_show", "cancelled"]


class Paging(BaseModel):
    page: PageNumber = 1
    per_page: PerPage = 100


async def _page(statement: Select[Any], paging: Paging) -> tuple[list[Any], int, int]:
    """One page of ``statement`` (ordered by the caller): rows, total, pages."""
    rows, total = await fetch_page(db(), statement, paging.page, paging.per_page)
    return rows, total, page_count(total, paging.per_page)


async def _exists(model: Any, object_id: int | None) -> None:
    """404 unless the object is this municipality's (the tenant hook hides the others)."""
    if object_id is not None and await db().get(model, object_id) is None:
        raise NotFound(_("Not found."))


# --- courses ---------------------------------------------------------------------------


class RequirementOut(BaseModel):
    role_type_id: int
    role_code: str
    role_name: str
    role_names: dict[str, str] = Field(
        description="The role's name in the other languages than the municipality's, where "
        "the office gave one (by language code); `role_name` is its own language's"
    )


class CourseOut(BaseModel):
    id: int
    name: str
    description: str
    kind: str = Field(description="classroom, online or test")
    external_url: str
    election_id: int | None = Field(description="The election it is for; none: valid for years")
    valid_years: int | None
    duration_minutes: int
    materials: str
    active: bool
    requirements: list[RequirementOut] = Field(description="Roles that require the course")

    @classmethod
    def of(cls, course: Course) -> CourseOut:
        return cls(
            id=course.id,
            name=course.name,
            description=course.description,
            kind=course.kind,
            external_url=course.external_url,
            election_id=course.election_id,
            valid_years=course.valid_years,
            duration_minutes=course.duration_minutes,
            materials=course.materials,
            active=course.active,
            requirements=[
                RequirementOut(
                    role_type_id=req.role_type_id,
                    role_code=req.role_type.code,
                    role_name=req.role_type.name,
                    role_names=dict(req.role_type.names or {}),
                )
                for req in course.requirements
            ],
        )


class CoursesQuery(Paging):
    election_id: QueryId | None = Field(None, description="Courses for this election and for years")
    active: QueryBool | None = None


class CoursePage(BaseModel):
    items: list[CourseOut]
    total: int
    page: int
    pages: int


@routes.get("/courses")
@tag(["courses"])
@validate_querystring(CoursesQuery)
@validate_response(CoursePage)
async def api_courses(query_args: CoursesQuery) -> CoursePage:
    """The courses, by name, with the roles that require each."""
    statement = select(Course).options(
        selectinload(Course.requirements).selectinload(CourseRequirement.role_type)
    )
    if query_args.election_id is not None:
        statement = statement.where(
            (Course.election_id == query_args.election_id) | Course.election_id.is_(None)
        )
    if query_args.active is not None:
        statement = statement.where(Course.active.is_(query_args.active))
    rows, total, pages = await _page(statement.order_by(Course.name, Course.id), query_args)
    return CoursePage(
        items=[CourseOut.of(c) for c in rows], total=total, page=query_args.page, pages=pages
    )


@routes.get("/courses/<id:course_id>")
@tag(["courses"])
@validate_response(CourseOut)
async def api_course(course_id: int) -> CourseOut:
    return CourseOut.of(await catalog.get_course(db(), course_id))


# --- sessions --------------------------------------------------------------------------


class SessionOut(BaseModel):
    id: int
    course_id: int
    day: dt.date
    starts_at: LocalTime
    ends_at: LocalTime
    room_id: int | None
    capacity: int
    language: str
    booking_deadline: dt.date
    status: str = Field(description="open, full or cancelled")
    seats_booked: int = Field(description="Seats held: booked, attended and no-show")
    waiting: int = Field(description="People on the waiting list")
    attended: int
    teacher_ids: list[int]


class SessionsQuery(Paging):
    from_day: Day | None = None


class SessionPage(BaseModel):
    items: list[SessionOut]
    total: int
    page: int
    pages: int


@routes.get("/courses/<id:course_id>/sessions")
@tag(["courses"])
@validate_querystring(SessionsQuery)
@validate_response(SessionPage)
async def api_course_sessions(course_id: int, query_args: SessionsQuery) -> SessionPage:
    """A course's sessions in time order, with how full each is."""
    await catalog.get_course(db(), course_id)
    statement = select(CourseSession.id).where(CourseSession.course_id == course_id)
    if query_args.from_day is not None:
        statement = statement.where(CourseSession.day >= query_args.from_day)
    ids, total, pages = await _page(
        statement.order_by(CourseSession.day, CourseSession.starts_at, CourseSession.id),
        query_args,
    )
    rows = await catalog.session_rows(db(), session_ids=ids) if ids else []
    return SessionPage(
        items=[
            SessionOut(
                id=row.session.id,
                course_id=row.session.course_id,
                day=row.session.day,
                starts_at=row.session.starts_at,
                ends_at=row.session.ends_at,
                room_id=row.session.room_id,
                capacity=row.session.capacity,
                language=row.session.language,
                booking_deadline=row.session.booking_deadline,
                status=row.status,
                seats_booked=row.booked,
                waiting=row.waiting,
                attended=row.attended,
                teacher_ids=[t.person_id for t in row.session.teachers],
            )
            for row in rows
        ],
        total=total,
        page=query_args.page,
        pages=pages,
    )


# --- bookings --------------------------------------------------------------------------


class BookingOut(BaseModel):
    id: int
    session_id: int
    course_id: int
    person_id: int
    state: str = Field(description="booked, waiting, attended, no_show or cancelled")
    walk_in: bool
    created_at: dt.datetime
    seated_at: dt.datetime | None
    reminded_at: dt.datetime | None
    marked_at: dt.datetime | None
    cancelled_at: dt.datetime | None

    @classmethod
    def of(cls, b: CourseBooking) -> BookingOut:
        return cls(
            id=b.id,
            session_id=b.session_id,
            course_id=b.course_id,
            person_id=b.person_id,
            state=b.state,
            walk_in=b.walk_in,
            created_at=b.created_at,
            seated_at=b.seated_at,
            reminded_at=b.reminded_at,
            marked_at=b.marked_at,
            cancelled_at=b.cancelled_at,
        )


class BookingsQuery(Paging):
    session_id: QueryId | None = None
    person_id: QueryId | None = None
    course_id: QueryId | None = None
    state: BookingState | None = None


class BookingPage(BaseModel):
    items: list[BookingOut]
    total: int
    page: int
    pages: int


@routes.get("/course-bookings")
@tag(["courses"])
@problems(404)
@validate_querystring(BookingsQuery)
@validate_response(BookingPage)
async def api_course_bookings(query_args: BookingsQuery) -> BookingPage:
    """Bookings in every state, oldest first, filtered by session, person or course."""
    await _exists(CourseSession, query_args.session_id)
    await _exists(Person, query_args.person_id)
    await _exists(Course, query_args.course_id)
    statement = select(CourseBooking)
    if query_args.session_id is not None:
        statement = statement.where(CourseBooking.session_id == query_args.session_id)
    if query_args.person_id is not None:
        statement = statement.where(CourseBooking.person_id == query_args.person_id)
    if query_args.course_id is not None:
        statement = statement.where(CourseBooking.course_id == query_args.course_id)
    if query_args.state is not None:
        statement = statement.where(CourseBooking.state == query_args.state)
    rows, total, pages = await _page(statement.order_by(CourseBooking.id), query_args)
    return BookingPage(
        items=[BookingOut.of(b) for b in rows], total=total, page=query_args.page, pages=pages
    )


# --- qualifications --------------------------------------------------------------------


class QualificationOut(BaseModel):
    id: int
    person_id: int
    course_id: int
    achieved_on: dt.date
    valid_until: dt.date | None = Field(description="The last day it counts; none: no end")
    source: str = Field(description="attendance, import or manual")
    booking_id: int | None
    result: str

    @classmethod
    def of(cls, q: Qualification) -> QualificationOut:
        return cls(
            id=q.id,
            person_id=q.person_id,
            course_id=q.course_id,
            achieved_on=q.achieved_on,
            valid_until=q.valid_until,
            source=q.source,
            booking_id=q.booking_id,
            result=q.result,
        )


class QualificationsQuery(Paging):
    person_id: QueryId | None = None
    course_id: QueryId | None = None
    valid_on: Day | None = Field(None, description="Only those still valid on this day")


class QualificationPage(BaseModel):
    items: list[QualificationOut]
    total: int
    page: int
    pages: int


@routes.get("/qualifications")
@tag(["courses"])
@problems(404)
@validate_querystring(QualificationsQuery)
@validate_response(QualificationPage)
async def api_qualifications(query_args: QualificationsQuery) -> QualificationPage:
    """Who has which course, filtered by person or course."""
    await _exists(Person, query_args.person_id)
    await _exists(Course, query_args.course_id)
    statement = select(Qualification)
    if query_args.person_id is not None:
        statement = statement.where(Qualification.person_id == query_args.person_id)
    if query_args.course_id is not None:
        statement = statement.where(Qualification.course_id == query_args.course_id)
    if query_args.valid_on is not None:
        statement = statement.where(
            Qualification.valid_until.is_(None) | (Qualification.valid_until >= query_args.valid_on)
        )
    rows, total, pages = await _page(statement.order_by(Qualification.id), query_args)
    return QualificationPage(
        items=[QualificationOut.of(q) for q in rows], total=total, page=query_args.page, pages=pages
    )
