"""Staffing reports and appointment letters on a small hand-built election: the rows of
each report, their Excel and PDF files, and letters in each person's language."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import luhn

from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import locale_scope
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.elections.norms import set_norms
from app.domain.elections.shifts import save_shift
from app.domain.elections.stations import save_station
from app.domain.models import District, Election, Person, RoleType, Shift, Station
from app.domain.registers import premises
from app.domain.staffing import letters, reports
from app.domain.staffing.assignments import assign_person
from tests.factories import make_open_election, make_person
from tests.pdf_tags import read_tagged

ACTOR = Actor.system("test")


def personnummer(birth: str, serial: str) -> str:
    """A valid Swedish number for a birth date (YYMMDD) and a three-digit serial."""
    body = birth + serial
    return f"{birth}-{serial}{luhn.calc_check_digit(body)}"


@dataclass
class Staffed:
    """A small election: two polling stations and an advance voting station, five people
    in places of every state."""

    election: Election
    hall: Station
    school: Station
    library: Station
    people: dict[str, Person]


async def build_staffed_election(db: AsyncSession, tenant: Tenant) -> Staffed:
    election = await make_open_election(db, tenant)
    day = election.election_day.isoformat()
    advance_day = election.advance_start.isoformat()
    people = {
        "asa": await make_person(
            db,
            tenant,
            first_name="Åsa",
            last_name="Öberg",
            national_id="900101-0017",
            mobile="070-123 45 67",
            email="asa@example.se",
            street_address="Storgatan 1",
            postal_code="222 22",
            city="Lund",
        ),
        "soren": await make_person(
            db,
            tenant,
            first_name="Søren",
            last_name="Ærø",
            national_id_country="DK",
            national_id="010190-1234",
            email="soren@example.dk",
            preferred_language="da",
        ),
        "lukasz": await make_person(
            db,
            tenant,
            first_name="Łukasz",
            last_name="Nowak",
            national_id=personnummer("850315", "123"),
            preferred_language="en",
        ),
        "karin": await make_person(
            db,
            tenant,
            first_name="Karin",
            last_name="Berg",
            national_id=personnummer("770707", "456"),
        ),
        "erik": await make_person(
            db,
            tenant,
            first_name="=Erik",  # a cell that would run as a formula in Excel
            last_name="Holm",
            national_id=personnummer("800202", "789"),
        ),
    }
    with tenant_scope(tenant.id):
        districts = {
            d.code: d
            for d in await db.scalars(select(District).where(District.election_id == election.id))
        }
        building = await premises.save_building(
            db,
            ACTOR,
            {
                "name": "Stadshuset",
                "street_address": "Stortorget 1",
                "postal_code": "222 23",
                "city": "Lund",
            },
        )
        room = await premises.save_room(db, ACTOR, building.id, {"name": "Sal A"})
        hall = await save_station(
            db,
            ACTOR,
            election.id,
            {
                "name": "Stadshuset",
                "kind": "polling",
                "district_id": str(districts["D1"].id),
                "room_id": str(room.id),
            },
        )
        school = await save_station(
            db,
            ACTOR,
            election.id,
            {"name": "Västra skolan", "kind": "polling", "district_id": str(districts["D2"].id)},
        )
        library = await save_station(
            db, ACTOR, election.id, {"name": "Biblioteket", "kind": "advance"}
        )
        roles = {r.code: r for r in await db.scalars(select(RoleType))}

        async def shift(station: Station, name: str, on: str, starts: str, ends: str, **norms: int):  # type: ignore[no-untyped-def]
            made = await save_shift(
                db,
                ACTOR,
                election.id,
                station.id,
                {"name": name, "day": on, "starts_at": starts, "ends_at": ends},
            )
            await set_norms(db, ACTOR, election.id, station.id, made.id, norms)
            return made

        morning = await shift(
            hall,
            "Förmiddag",
            day,
            "07:00",
            "14:00",
            min_chair=1,
            target_chair=1,
            min_clerk=2,
            target_clerk=3,
        )
        evening = await shift(
            hall,
            "Eftermiddag",
            day,
            "14:00",
            "21:00",
            min_chair=1,
            target_chair=1,
            min_clerk=2,
            target_clerk=2,
        )
        whole_day = await shift(
            school,
            "Hela dagen",
            day,
            "08:00",
            "20:00",
            min_chair=1,
            target_chair=1,
            min_clerk=1,
            target_clerk=2,
        )
        advance = await shift(library, "Dag", advance_day, "10:00", "18:00", target_host=1)

        async def place(shift_: Shift, role: str, person: str, state: str) -> None:
            assignment = await assign_person(
                db, ACTOR, shift_.id, roles[role].id, people[person].id, override=True
            )
            assignment.state = state
            await db.commit()

        await place(morning, "chair", "asa", "accepted")
        await place(morning, "clerk", "soren", "accepted")
        await place(morning, "clerk", "karin", "proposed")
        await place(evening, "clerk", "soren", "accepted")
        await place(whole_day, "clerk", "lukasz", "accepted")
        await place(advance, "host", "erik", "offered")
        # A declined place frees it again: it counts nowhere.
        await place(whole_day, "chair", "erik", "declined")
    return Staffed(election, hall, school, library, people)


@pytest.fixture
async def staffed(db: AsyncSession, tenant: Tenant) -> Staffed:
    return await build_staffed_election(db, tenant)


def pdf_text(body: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(body)).pages]


async def test_it_lists_the_places_below_their_target(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        places = await reports.unfilled_places(db, staffed.election.id)
    found = [
        (p.station, p.district, p.shift, p.role, p.minimum, p.target, p.filled, p.missing)
        for p in places
    ]
    assert found == [
        ("Stadshuset", "D1 Distrikt 1", "Förmiddag", "Röstmottagare", 2, 3, 2, 1),
        ("Stadshuset", "D1 Distrikt 1", "Eftermiddag", "Ordförande", 1, 1, 0, 1),
        ("Stadshuset", "D1 Distrikt 1", "Eftermiddag", "Röstmottagare", 2, 2, 1, 1),
        ("Västra skolan", "D2 Distrikt 2", "Hela dagen", "Ordförande", 1, 1, 0, 1),
        ("Västra skolan", "D2 Distrikt 2", "Hela dagen", "Röstmottagare", 1, 2, 1, 1),
    ]
    assert [p.below_minimum for p in places] == [False, True, True, True, False]


async def test_it_sums_the_staffing_per_district(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        summaries = await reports.staffing_per_district(db, staffed.election.id)
    assert [(s.code, s.stations, s.places, s.filled, s.missing_minimum) for s in summaries] == [
        ("D1", 1, 7, 4, 2),
        ("D2", 1, 3, 1, 1),
        ("", 1, 1, 1, 0),
    ]


async def test_it_counts_people_per_role_and_estimates_the_fees(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        counts = {c.role: c for c in await reports.people_per_role(db, staffed.election.id)}
    chair, clerk, host = counts["Ordförande"], counts["Röstmottagare"], counts["Värd"]
    assert (chair.people, chair.accepted, chair.offered, chair.proposed) == (1, 1, 0, 0)
    assert chair.pay_estimate == Decimal("3700.00")
    # Søren works two shifts the same day: paid one day.
    assert (clerk.people, clerk.accepted, clerk.offered, clerk.proposed) == (3, 3, 0, 1)
    assert clerk.units == 3 and clerk.pay_estimate == Decimal("7200.00")
    # The host is paid by the hour: 8 hours at 170.
    assert (host.people, host.offered, host.units) == (1, 1, Decimal("8.00"))
    assert host.pay_estimate == Decimal("1360.00")
    assert counts["Vice ordförande"].people == 0


async def test_it_lists_the_staff_station_by_station(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        rows = await reports.staff_list(db, staffed.election.id)
        one = await reports.staff_list(db, staffed.election.id, staffed.school.id)
    assert [(r.station, r.shift, r.role, r.name, r.state) for r in rows] == [
        ("Stadshuset", "Förmiddag", "Ordförande", "Åsa Öberg", "accepted"),
        ("Stadshuset", "Förmiddag", "Röstmottagare", "Karin Berg", "proposed"),
        ("Stadshuset", "Förmiddag", "Röstmottagare", "Søren Ærø", "accepted"),
        ("Stadshuset", "Eftermiddag", "Röstmottagare", "Søren Ærø", "accepted"),
        ("Västra skolan", "Hela dagen", "Röstmottagare", "Łukasz Nowak", "accepted"),
        ("Biblioteket", "Dag", "Värd", "=Erik Holm", "offered"),
    ]
    assert rows[0].mobile == "+46 70 123 45 67" and rows[0].email == "asa@example.se"
    assert [r.name for r in one] == ["Łukasz Nowak"]
    with tenant_scope(tenant.id):
        stations = await reports.stations_with_staff(db, staffed.election.id)
    assert [(s.station, s.held, s.accepted_people) for s in stations] == [
        ("Stadshuset", 4, 2),
        ("Västra skolan", 1, 1),
        ("Biblioteket", 1, 0),
    ]


async def test_it_writes_appointment_letters_in_each_persons_language(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        election, found = await letters.appointments(db, staffed.election.id)
    # Only accepted places: Karin (proposed) and Erik (offered) get no letter.
    # In the Swedish alphabet: N, then Æ (with Ä), then Ö.
    assert [a.person.full_name for a in found] == ["Łukasz Nowak", "Søren Ærø", "Åsa Öberg"]
    by_name = {a.person.first_name: a for a in found}
    assert len(by_name["Søren"].places) == 2
    assert by_name["Åsa"].places[0].address == "Stortorget 1, 222 23 Lund"
    # Line breaks depend on the lengths of names and dates: compare words, not lines.
    pages = [
        " ".join(page.split())
        for page in pdf_text(
            letters.write_letters_pdf(letters.LetterFrame("Lunds kommun"), election, found)
        )
    ]
    assert len(pages) == 3
    asa = next(page for page in pages if "Åsa Öberg" in page)
    assert "1 januari 1990" in asa  # born, in Swedish
    assert "Stadshuset, Stortorget 1, 222 23 Lund" in asa
    assert "700" in asa and "Lunds kommun" in asa
    soren = next(page for page in pages if "Søren Ærø" in page)
    assert "1. januar 1990" in soren  # in Danish
    assert "07:00–14:00" in soren
    assert "14:00–21:00" in soren
    lukasz = next(page for page in pages if "Lukasz Nowak" in page)
    # In English, written the British way (day before month), as every English page.
    assert "March 15" not in lukasz and "15 March 1985" in lukasz


async def test_appointment_letters_are_tagged_each_in_its_readers_language(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        election, found = await letters.appointments(db, staffed.election.id)
    with locale_scope("sv"):
        tagged = read_tagged(
            letters.write_letters_pdf(letters.LetterFrame("Lunds kommun"), election, found)
        )
    assert tagged.lang == "sv" and tagged.title.startswith("Förordnande – ")
    assert tagged.roles.count("Sect") == 3
    # One heading per letter, each section in the language its reader reads.
    assert [(text, lang) for role, text, lang in tagged.leaves if role == "H1"] == [
        ("Appointment", "en"),
        ("Beskikkelse", "da"),
        ("Förordnande", "sv"),
    ]
    # The places are a list (Søren's has two items); the reading order is the letter's.
    assert len(tagged.texts("LBody")) == 4
    assert (
        len([text for role, text, lang in tagged.leaves if role == "LBody" and lang == "da"]) == 2
    )
    soren = [text for _role, text, lang in tagged.leaves if lang == "da"]
    assert soren[:3] == ["Lunds kommun", "Valgbestyrelsen", "Søren Ærø"]
    assert soren.index("Beskikkelse") < soren.index("Sted og dato")


async def test_it_narrows_letters_to_a_station_or_a_person(
    db: AsyncSession, tenant: Tenant, staffed: Staffed
) -> None:
    with tenant_scope(tenant.id):
        _election, at_school = await letters.appointments(
            db, staffed.election.id, station_id=staffed.school.id
        )
        _election, karin = await letters.appointments(
            db, staffed.election.id, person_id=staffed.people["karin"].id
        )
        _election, asa = await letters.appointments(
            db, staffed.election.id, person_id=staffed.people["asa"].id
        )
    assert [a.person.first_name for a in at_school] == ["Łukasz"]
    assert karin == []
    assert [a.person.first_name for a in asa] == ["Åsa"]


def test_it_writes_a_letter_to_a_name_the_standard_fonts_cannot_draw() -> None:
    election = Election(name="Val", kind="municipal", election_day=dt.date(2030, 9, 8))
    person = Person(
        first_name="محمد",
        last_name="Łukasiewicz",
        birth_date=dt.date(1990, 5, 1),
        preferred_language="ar",  # not a language of ours: the default is used
        street_address="",
        postal_code="",
        city="",
    )
    place = letters.AppointedPlace(
        "Röstmottagare",
        Decimal("2400"),
        "day",
        1,
        "Stadshuset",
        "",
        dt.date(2030, 9, 8),
        dt.time(7),
        dt.time(14),
    )
    body = letters.write_letters_pdf(
        letters.LetterFrame("Kommun"), election, [letters.Appointment(person, [place])]
    )
    assert "???? Lukasiewicz" in pdf_text(body)[0]


async def test_it_shows_outsiders_nothing(
    db: AsyncSession, tenant: Tenant, other_tenant: Tenant, staffed: Staffed, outsider: Any
) -> None:
    with tenant_scope(other_tenant.id):
        with pytest.raises(NotFound):
            await reports.unfilled_places(db, staffed.election.id)
        with pytest.raises(NotFound):
            await reports.staffing_per_district(db, staffed.election.id)
        with pytest.raises(NotFound):
            await reports.people_per_role(db, staffed.election.id)
        with pytest.raises(NotFound):
            await reports.staff_list(db, staffed.election.id)
        with pytest.raises(NotFound):
            await letters.appointments(db, staffed.election.id)
        with pytest.raises(NotFound):
            await reports.stations_with_staff(db, staffed.election.id)
    with tenant_scope(tenant.id), pytest.raises(NotFound):
        await reports.staff_list(db, staffed.election.id, station_id=10_000)
