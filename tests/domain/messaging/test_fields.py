"""The merge fields made from the model: a course booking and an application."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.courses.booking import book_person
from app.domain.messaging.fields import merge_fields
from app.domain.models import Application
from tests.factories import (
    letterhead,
    local_today,
    make_application,
    make_course,
    make_course_session,
    make_open_election,
    make_person,
)


async def test_a_booking_fills_the_course_fields_in_the_readers_language(
    db: AsyncSession, tenant: Tenant
) -> None:
    course = await make_course(db, tenant, name="Grundkurs", materials="Penna")
    day = local_today(tenant) + dt.timedelta(days=20)
    course_session = await make_course_session(db, tenant, course, day=day)
    person = await make_person(db, tenant, first_name="Åsa", preferred_language="en")
    with tenant_scope(tenant.id):
        booking = await book_person(
            db, Actor.system("test"), letterhead(tenant), course_session.id, person.id
        )
        fields = await merge_fields(db, person=person, booking=booking, base_url="http://x.test")
    course_fields = fields["course"]
    assert course_fields["name"] == "Grundkurs" and course_fields["materials"] == "Penna"
    assert course_fields["day"] == format_date(day, format="long", locale="en_GB")
    assert day.strftime("%B") in course_fields["day"]
    assert (course_fields["starts"], course_fields["ends"]) == ("18:00", "20:00")
    assert (
        course_fields["place"].startswith("Utbildningscentrum") and ", " in course_fields["place"]
    )
    assert course_fields["link"] == f"http://x.test/{tenant.slug}/portal/courses"
    assert fields["person"]["first_name"] == "Åsa"
    # A field the message has nothing for is there, empty.
    assert fields["station"]["name"] == "" and fields["offer"]["link"] == ""


async def test_an_application_fills_the_applicants_name_and_language(
    db: AsyncSession, tenant: Tenant
) -> None:
    election = await make_open_election(db, tenant)
    submitted = await make_application(db, tenant, election, first_name="Bo", last_name="Ek")
    with tenant_scope(tenant.id):
        application = await db.get(Application, submitted.application.id)
        assert application is not None
        application.preferred_language = "da"
        fields = await merge_fields(db, application=application, base_url="http://x.test")
        election_day = await merge_fields(db, election=election)
    assert fields["person"] == {"first_name": "Bo", "name": "Bo Ek", "email": "", "changed": ""}
    assert fields["application"]["form_link"] == f"http://x.test/{tenant.slug}/apply"
    assert election_day["election"]["name"] == election.name
    assert election_day["election"]["day"]
