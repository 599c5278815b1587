"""Courses: the training clerks need before they may work, its sessions, the bookings
of people on them (with a waiting list), and the qualifications attendance grants."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text, Time, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.models.base import Base, TenantScoped, utcnow
from app.domain.models.registers import Election, Person, RoleType, Room

COURSE_KINDS = ("classroom", "online", "test")
#: A session is open for booking or cancelled; "full" is read from its bookings.
SESSION_STATUSES = ("open", "cancelled")
BOOKING_STATES = ("booked", "waiting", "attended", "no_show", "cancelled")
#: States in which a booking holds the person's one booking of a course (the others
#: free it, so a no-show or a cancelled booking can book again).
ACTIVE_BOOKING_STATES = ("booked", "waiting", "attended")
QUALIFICATION_SOURCES = ("attendance", "import", "manual")

_ACTIVE = "state IN ('booked', 'waiting', 'attended')"


class Course(TenantScoped, Base):
    """A course: for one election (``election_id``) or valid a number of years."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="classroom")
    #: Where an online course or test is taken.
    external_url: Mapped[str] = mapped_column(String(500), default="")
    election_id: Mapped[int | None] = mapped_column(
        ForeignKey("elections.id", ondelete="CASCADE"), index=True
    )
    #: For a course not tied to one election: how many years the qualification holds.
    valid_years: Mapped[int | None]
    duration_minutes: Mapped[int] = mapped_column(default=120)
    materials: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    election: Mapped[Election | None] = relationship()
    requirements: Mapped[list[CourseRequirement]] = relationship(
        cascade="all, delete-orphan", order_by="CourseRequirement.id"
    )


class CourseRequirement(TenantScoped, Base):
    """A role that may only be filled by people who have the course."""

    __tablename__ = "course_requirements"
    __table_args__ = (UniqueConstraint("course_id", "role_type_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    role_type_id: Mapped[int] = mapped_column(
        ForeignKey("role_types.id", ondelete="CASCADE"), index=True
    )

    role_type: Mapped[RoleType] = relationship()


class CourseSession(TenantScoped, Base):
    """One occasion a course is given: a day and time, a room, teachers, a language."""

    __tablename__ = "course_sessions"
    __table_args__ = (Index("ix_course_sessions_course_day", "course_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    starts_at: Mapped[dt.time] = mapped_column(Time)
    ends_at: Mapped[dt.time] = mapped_column(Time)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="SET NULL"))
    #: Seats; at most the room's capacity.
    capacity: Mapped[int] = mapped_column(default=0)
    language: Mapped[str] = mapped_column(String(8), default="sv")
    status: Mapped[str] = mapped_column(String(16), default="open")
    #: The last day on which people may book, rebook or cancel themselves.
    booking_deadline: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[dt.datetime | None]

    course: Mapped[Course] = relationship()
    room: Mapped[Room | None] = relationship()
    teachers: Mapped[list[SessionTeacher]] = relationship(
        cascade="all, delete-orphan", order_by="SessionTeacher.id"
    )


class SessionTeacher(TenantScoped, Base):
    __tablename__ = "session_teachers"
    __table_args__ = (UniqueConstraint("session_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("course_sessions.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)

    person: Mapped[Person] = relationship()


class CourseBooking(TenantScoped, Base):
    """A person's seat on a session, or their place on its waiting list.

    The database refuses a second active booking of the same course for one person,
    so two clicks at once never book someone twice.
    """

    __tablename__ = "course_bookings"
    __table_args__ = (
        Index(
            "uq_course_bookings_person_course_active",
            "person_id",
            "course_id",
            unique=True,
            postgresql_where=text(_ACTIVE),
            sqlite_where=text(_ACTIVE),
        ),
        Index("ix_course_bookings_session_state", "session_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("course_sessions.id", ondelete="CASCADE"))
    #: Copied from the session so the one-booking-per-course rule is an index.
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="booked")
    #: Attended without having been booked, confirmed as such at the roll call.
    walk_in: Mapped[bool] = mapped_column(default=False)
    booked_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: When the person got a seat (moving up from the waiting list sets it again).
    seated_at: Mapped[dt.datetime | None]
    reminded_at: Mapped[dt.datetime | None]
    marked_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]

    session: Mapped[CourseSession] = relationship()
    person: Mapped[Person] = relationship()


class Qualification(TenantScoped, Base):
    """A person has a course: by attending a session, by an imported result, or by hand.

    Every grant is its own row, so a refresher or an import never overwrites an earlier
    result, and a roll-call mark taken back removes only what that roll call granted;
    the latest row still valid is the one that counts.
    """

    __tablename__ = "qualifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    achieved_on: Mapped[dt.date] = mapped_column(Date)
    #: The last day it counts; none for a course tied to an election (it counts for that
    #: election) or one without a period.
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16), default="attendance")
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("course_bookings.id", ondelete="SET NULL")
    )
    #: A test's score or an import's remark.
    result: Mapped[str] = mapped_column(String(100), default="")
    recorded_by_label: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship()
