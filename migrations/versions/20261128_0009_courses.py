"""courses: sessions, bookings with a waiting list, qualifications

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 03:21:50.883619
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.models.base
from app.core import rls

TENANT_TABLES = (
    "courses",
    "course_requirements",
    "course_sessions",
    "session_teachers",
    "course_bookings",
    "qualifications",
)


revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("external_url", sa.String(length=500), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=True),
        sa.Column("valid_years", sa.Integer(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("materials", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["elections.id"],
            name=op.f("fk_courses_election_id_elections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_courses_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
    )
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_courses_election_id"), ["election_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_courses_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "course_requirements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("role_type_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_requirements_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_type_id"],
            ["role_types.id"],
            name=op.f("fk_course_requirements_role_type_id_role_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_course_requirements_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_requirements")),
        sa.UniqueConstraint(
            "course_id", "role_type_id", name=op.f("uq_course_requirements_course_id_role_type_id")
        ),
    )
    with op.batch_alter_table("course_requirements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_course_requirements_role_type_id"), ["role_type_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_course_requirements_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "course_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.Time(), nullable=False),
        sa.Column("ends_at", sa.Time(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("booking_deadline", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", app.core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", app.core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_sessions_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["rooms.id"],
            name=op.f("fk_course_sessions_room_id_rooms"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_course_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_sessions")),
    )
    with op.batch_alter_table("course_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_course_sessions_course_day", ["course_id", "day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_course_sessions_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "course_bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("walk_in", sa.Boolean(), nullable=False),
        sa.Column("booked_by_label", sa.String(length=254), nullable=False),
        sa.Column("created_at", app.core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seated_at", app.core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", app.core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("marked_at", app.core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", app.core.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_bookings_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_course_bookings_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["course_sessions.id"],
            name=op.f("fk_course_bookings_session_id_course_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_course_bookings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_bookings")),
    )
    with op.batch_alter_table("course_bookings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_course_bookings_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            "ix_course_bookings_session_state", ["session_id", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_course_bookings_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "uq_course_bookings_person_course_active",
            ["person_id", "course_id"],
            unique=True,
            postgresql_where=sa.text("state IN ('booked', 'waiting', 'attended')"),
            sqlite_where=sa.text("state IN ('booked', 'waiting', 'attended')"),
        )

    op.create_table(
        "session_teachers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_session_teachers_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["course_sessions.id"],
            name=op.f("fk_session_teachers_session_id_course_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_session_teachers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_teachers")),
        sa.UniqueConstraint(
            "session_id", "person_id", name=op.f("uq_session_teachers_session_id_person_id")
        ),
    )
    with op.batch_alter_table("session_teachers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_teachers_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_session_teachers_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "qualifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("achieved_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.String(length=100), nullable=False),
        sa.Column("recorded_by_label", sa.String(length=254), nullable=False),
        sa.Column("created_at", app.core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["course_bookings.id"],
            name=op.f("fk_qualifications_booking_id_course_bookings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_qualifications_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_qualifications_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_qualifications_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qualifications")),
    )
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qualifications_course_id"), ["course_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_qualifications_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_qualifications_tenant_id"), ["tenant_id"], unique=False
        )
    rls.enable(op, *TENANT_TABLES)


def downgrade() -> None:
    rls.disable(op, *TENANT_TABLES)
    with op.batch_alter_table("qualifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qualifications_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_qualifications_person_id"))
        batch_op.drop_index(batch_op.f("ix_qualifications_course_id"))

    op.drop_table("qualifications")
    with op.batch_alter_table("session_teachers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_teachers_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_session_teachers_person_id"))

    op.drop_table("session_teachers")
    with op.batch_alter_table("course_bookings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_course_bookings_person_course_active",
            postgresql_where=sa.text("state IN ('booked', 'waiting', 'attended')"),
            sqlite_where=sa.text("state IN ('booked', 'waiting', 'attended')"),
        )
        batch_op.drop_index(batch_op.f("ix_course_bookings_tenant_id"))
        batch_op.drop_index("ix_course_bookings_session_state")
        batch_op.drop_index(batch_op.f("ix_course_bookings_person_id"))

    op.drop_table("course_bookings")
    with op.batch_alter_table("course_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_course_sessions_tenant_id"))
        batch_op.drop_index("ix_course_sessions_course_day")

    op.drop_table("course_sessions")
    with op.batch_alter_table("course_requirements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_course_requirements_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_course_requirements_role_type_id"))

    op.drop_table("course_requirements")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_courses_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_courses_election_id"))

    op.drop_table("courses")
