"""Course reports: who lacks a required course, session fill rates, the attendance list
and the attended sessions for pay."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.courses import attendance, attendance_pdf, booking, reports, scheduling
from app.domain.staffing import assignments
from tests.factories import (
    letterhead,
    local_today,
    make_clerk,
    make_course,
    make_course_session,
    make_open_election,
    make_person,
    make_room,
    make_staffed_station,
)
from tests.pdf_tags import read_tagged

ACTOR = Actor(label="planner@lund.test")


@dataclass
class Trained:
    """An election whose station was staffed before its course was set up."""

    election: Any
    station: dict[str, Any]
    course: Any
    people: dict[str, Any]
    #: Two weeks ahead, two seats: both taken, one waiting.
    soon: Any
    #: The day after election day: too late to count.
    after: Any
    #: Today: one attended, one no-show.
    today: Any


async def build_trained_election(db: AsyncSession, tenant: Tenant) -> Trained:
    s = await make_staffed_station(db, tenant)
    election = s["election"]
    names = {
        "anna": ("Anna", "Ek", "clerk"),  # nothing: missing
        "bo": ("Bo", "Ström", "clerk"),  # a seat in time: fine
        "cia": ("Cia", "Åberg", "clerk"),  # waiting: lacking
        "dan": ("Dan", "Holm", "chair"),  # a seat after the day: lacking
        "eva": ("Eva", "Lind", "late_clerk"),  # attended today: fine
    }
    people = {}
    with tenant_scope(tenant.id):
        for key, (first, last, role) in names.items():
            person = await make_clerk(db, tenant, election, first_name=first, last_name=last)
            people[key] = person
            shift = s["late"] if role == "late_clerk" else s["early"]
            role_code = "clerk" if role == "late_clerk" else role
            await assignments.assign_person(
                db, ACTOR, shift.id, s["roles"][role_code].id, person.id
            )
    people["olle"] = await make_clerk(db, tenant, election, first_name="Olle", last_name="Berg")
    people["pia"] = await make_clerk(db, tenant, election, first_name="Pia", last_name="Moe")
    course = await make_course(db, tenant, election, name="Grundutbildning 2026")
    soon = await make_course_session(db, tenant, course, capacity=2)
    after = await make_course_session(
        db, tenant, course, day=election.election_day + dt.timedelta(days=1)
    )
    today = await make_course_session(
        db, tenant, course, day=local_today(tenant), starts_at="09:00", ends_at="12:30"
    )
    sender = letterhead(tenant)
    with tenant_scope(tenant.id):

        async def book(course_session: Any, key: str, **kw: Any) -> Any:
            return await booking.book_person(
                db, ACTOR, sender, course_session.id, people[key].id, **kw
            )

        await book(soon, "bo")
        await book(soon, "olle")
        await book(soon, "cia", join_waiting_list=True)
        await book(after, "dan")
        came = await book(today, "eva")
        missed = await book(today, "pia")
        await attendance.mark_attendance(
            db, ACTOR, sender, today.id, {came.id: "attended", missed.id: "no_show"}
        )
    return Trained(election, s, course, people, soon, after, today)


@pytest.fixture
async def trained(db: AsyncSession, tenant: Tenant) -> Trained:
    return await build_trained_election(db, tenant)


async def test_it_lists_everyone_holding_a_place_without_the_course_in_time(
    db: AsyncSession, tenant: Tenant, trained: Trained
) -> None:
    with tenant_scope(tenant.id):
        rows = await reports.lacking_courses(db, trained.election.id)
    election_day = trained.election.election_day
    by_name = {r.name: r for r in rows}
    assert set(by_name) == {"Anna Ek", "Cia Åberg", "Dan Holm"}
    assert (by_name["Anna Ek"].role, by_name["Anna Ek"].status) == ("Röstmottagare", "missing")
    assert by_name["Anna Ek"].session_day is None
    assert by_name["Dan Holm"].role == "Ordförande"
    assert by_name["Cia Åberg"].status == "waiting"
    assert by_name["Cia Åberg"].session_day == trained.soon.day
    assert by_name["Dan Holm"].status == "late"
    assert by_name["Dan Holm"].session_day == election_day + dt.timedelta(days=1)
    assert all(r.first_day == election_day for r in rows)
    assert {r.station for r in rows} == {"Hamnskolan"}
    # The chair comes first (the role order), then the clerks by surname.
    assert [r.name for r in rows] == ["Dan Holm", "Anna Ek", "Cia Åberg"]


async def test_it_counts_per_station_and_role(
    db: AsyncSession, tenant: Tenant, trained: Trained
) -> None:
    with tenant_scope(tenant.id):
        counts = reports.lacking_counts(await reports.lacking_courses(db, trained.election.id))
    assert [(c.station, c.people, c.missing, c.waiting, c.late) for c in counts] == [
        ("Hamnskolan", 1, 0, 0, 1),  # chair
        ("Hamnskolan", 2, 1, 1, 0),  # clerks
    ]


async def test_it_narrows_the_lacking_list(
    db: AsyncSession, tenant: Tenant, trained: Trained
) -> None:
    station = trained.station["station"]
    other = await make_course(db, tenant, trained.election, roles=("vice_chair",))
    with tenant_scope(tenant.id):
        in_station = await reports.lacking_courses(db, trained.election.id, station_id=station.id)
        elsewhere = await reports.lacking_courses(
            db, trained.election.id, station_id=station.id + 1000
        )
        in_district = await reports.lacking_courses(
            db, trained.election.id, district_id=trained.station["district"].id
        )
        of_course = await reports.lacking_courses(db, trained.election.id, course_id=other.id)
        of_ours = await reports.lacking_courses(
            db, trained.election.id, course_id=trained.course.id
        )
    assert len(in_station) == len(in_district) == len(of_ours) == 3
    assert elsewhere == [] and of_course == []


async def test_it_counts_seats_per_session_with_totals(
    db: AsyncSession, tenant: Tenant, trained: Trained
) -> None:
    with tenant_scope(tenant.id):
        fills = await reports.session_fill(db, trained.election.id)
    by_id = {f.session_id: f for f in fills}
    soon, after, today = (by_id[s.id] for s in (trained.soon, trained.after, trained.today))
    assert (soon.capacity, soon.booked, soon.waiting, soon.fill_percent) == (2, 2, 1, 100)
    assert (today.booked, today.attended, today.no_show) == (2, 1, 1)
    assert (after.booked, after.capacity, after.fill_percent) == (1, 10, 10)
    assert [f.session_id for f in fills] == [today.session_id, soon.session_id, after.session_id]
    assert "Utbildningscentrum" in soon.place


async def test_it_leaves_out_sessions_of_another_elections_course(
    db: AsyncSession, tenant: Tenant, trained: Trained
) -> None:
    other = await make_open_election(db, tenant)
    theirs = await make_course(db, tenant, other)
    await make_course_session(db, tenant, theirs)
    # A course valid for years counts in the year before election day.
    general = await make_course(db, tenant, name="Säkerhet", valid_years="3")
    await make_course_session(db, tenant, general)
    long_ago = await make_course_session(
        db, tenant, general, day=trained.election.election_day - dt.timedelta(days=400)
    )
    with tenant_scope(tenant.id):
        ours = await reports.session_fill(db, trained.election.id)
        theirs_only = await reports.session_fill(db, other.id, theirs.id)
    assert {f.course for f in ours} == {"Grundutbildning 2026", "Säkerhet"}
    assert long_ago.id not in {f.session_id for f in ours}
    assert [f.course_id for f in theirs_only] == [theirs.id]


async def test_it_writes_an_attendance_list_with_birth_years_and_no_id_numbers(
    db: AsyncSession, tenant: Tenant, trained: Trained
) -> None:
    with tenant_scope(tenant.id), locale_scope("en"):
        sheet = await reports.attendance_sheet(db, trained.soon.id, trained.election.id)
        body = attendance_pdf.write_attendance_pdf(sheet, "Lunds kommun")
    assert [line.name for line in sheet.lines] == ["Olle Berg", "Bo Ström"]  # not the waiting
    assert sheet.lines[0].birth_year == 1980
    assert sheet.lines[1].places == "Hamnskolan (Poll clerk)"
    assert sheet.lines[0].places == ""  # Olle has no place
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert "Attendance list" in text and "Grundutbildning 2026" in text
    assert "Bo Ström" in text and "Olle Berg" in text and "1980" in text
    assert "Signature" in text
    tagged = read_tagged(body)
    assert tagged.lang == "en" and tagged.title.startswith("Attendance list – Grundutbildning")
    assert tagged.texts("H1") == ["Attendance list"]
    assert tagged.texts("TH") == ["No.", "Name", "Born", "Station (role)", "Signature"]
    assert tagged.texts("TD")[:5] == ["1", "Olle Berg", "1980", "", ""]
    for person in trained.people.values():
        assert person.national_id not in text
        assert person.national_id[-4:] not in text


async def test_it_writes_an_empty_attendance_list(
    db: AsyncSession, tenant: Tenant, trained: Trained
) -> None:
    room = await make_room(db, tenant)
    teacher = await make_person(db, tenant, first_name="Greta", last_name="Lärare")
    day = local_today(tenant) + dt.timedelta(days=20)
    with tenant_scope(tenant.id), locale_scope("en"):
        empty = await scheduling.save_session(
            db,
            ACTOR,
            trained.course.id,
            letterhead(tenant),
            {"day": str(day), "starts_at": "10:00", "ends_at": "12:00", "room_id": str(room.id)},
            [teacher.id],
        )
        sheet = await reports.attendance_sheet(db, empty.id)
        body = attendance_pdf.write_attendance_pdf(sheet, "Lunds kommun")
    assert sheet.lines == [] and sheet.teachers == ["Greta Lärare"]
    text = PdfReader(io.BytesIO(body)).pages[0].extract_text()
    assert "Nobody is booked on this session." in text
    assert "Teachers: Greta Lärare" in text and "10:00–12:00" in text


async def test_it_refuses_an_attendance_list_of_another_election(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, trained: Trained
) -> None:
    other = await make_open_election(db, tenant)
    with tenant_scope(tenant.id), pytest.raises(NotFound):
        await reports.attendance_sheet(db, trained.soon.id, other.id)
    with tenant_scope(other_tenant.id), pytest.raises(NotFound):
        await reports.attendance_sheet(db, trained.soon.id)


async def test_it_lists_attended_sessions_for_pay(
    db: AsyncSession, tenant: Tenant, trained: Trained
) -> None:
    today = local_today(tenant)
    with tenant_scope(tenant.id):
        lines = await reports.attended_for_pay(db, election_id=trained.election.id)
        in_period = await reports.attended_for_pay(db, from_day=today, to_day=today)
        before = await reports.attended_for_pay(db, to_day=today - dt.timedelta(days=1))
    assert [(p.name, p.day, p.hours) for p in lines] == [("Eva Lind", today, Decimal("3.50"))]
    assert lines[0].person_id == trained.people["eva"].id
    assert in_period == lines and before == []


async def test_it_pays_an_online_course_by_its_duration(
    db: AsyncSession, tenant: Tenant, trained: Trained
) -> None:
    online = await make_course(
        db,
        tenant,
        trained.election,
        name="Webbkurs",
        kind="online",
        external_url="https://utbildning.example.se",
        duration_minutes="45",
    )
    window = await make_course_session(
        db, tenant, online, day=local_today(tenant), starts_at="08:00", ends_at="20:00"
    )
    with tenant_scope(tenant.id):
        sender = letterhead(tenant)
        seat = await booking.book_person(db, ACTOR, sender, window.id, trained.people["bo"].id)
        await attendance.mark_attendance(db, ACTOR, sender, window.id, {seat.id: "attended"})
        lines = await reports.attended_for_pay(db, election_id=trained.election.id)
    assert [(p.name, p.course, p.hours) for p in lines] == [
        ("Eva Lind", "Grundutbildning 2026", Decimal("3.50")),
        ("Bo Ström", "Webbkurs", Decimal("0.75")),
    ]
