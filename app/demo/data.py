"""A realistic municipality generated locally: districts, stations, rooms, shifts and people.

Deterministic for a given size, so demos and benchmarks see the same data every time.
Names and addresses are Swedish-looking but invented; id numbers are valid in form.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import luhn

from app.core.db import refresh_statistics
from app.core.tenancy import tenant_scope
from app.demo.rows import insert_in_batches
from app.domain.elections.norm_templates import standard_templates
from app.domain.models import (
    Building,
    District,
    Election,
    Person,
    RoleType,
    Room,
    Shift,
    StaffingNorm,
    Station,
    StationOpening,
)
from app.domain.registers.people import search_names

FIRST_NAMES = (
    "Anna", "Eva", "Maria", "Karin", "Sara", "Lena", "Kerstin", "Emma", "Ingrid", "Marie",
    "Malin", "Jenny", "Hanna", "Linda", "Elin", "Sofia", "Ida", "Julia", "Maja", "Astrid",
    "Erik", "Lars", "Karl", "Anders", "Johan", "Per", "Nils", "Lennart", "Mikael", "Jan",
    "Hans", "Peter", "Olof", "Gunnar", "Sven", "Fredrik", "Daniel", "Alexander", "Oskar", "Ali",
    "Mohammed", "Fatima", "Amina", "Yusuf", "Leila", "Omar", "Noor", "Aino", "Mikko", "Piotr",
)  # fmt: skip
LAST_NAMES = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson",
    "Jönsson", "Lindberg", "Jakobsson", "Magnusson", "Olofsson", "Lindström", "Lindqvist",
    "Lindgren", "Berg", "Axelsson", "Bergström", "Lundberg", "Lind", "Lundgren", "Lundqvist",
    "Mattsson", "Berglund", "Fredriksson", "Sandberg", "Henriksson", "Forsberg", "Sjöberg",
    "Wallin", "Engström", "Eklund", "Danielsson", "Lundin", "Håkansson", "Björk", "Bergman",
    "Gunnarsson", "Holm", "Wikström", "Samuelsson", "Isaksson", "Hussein", "Ahmed", "Ali",
)  # fmt: skip
AREAS = (
    "Centrum", "Norra", "Södra", "Östra", "Västra", "Hamnen", "Kyrkbyn", "Ängen", "Backa",
    "Skogsby", "Sjöstaden", "Bruket", "Stationen", "Lunden", "Höjden", "Dalen", "Ekbacken",
    "Björkhagen", "Tallbo", "Strandby", "Fältet", "Kvarnby", "Gärdet", "Åsen", "Viken",
)  # fmt: skip
STREETS = (
    "Storgatan",
    "Kyrkogatan",
    "Skolgatan",
    "Parkvägen",
    "Björkvägen",
    "Ringvägen",
    "Industrigatan",
    "Järnvägsgatan",
    "Tallvägen",
    "Ekvägen",
    "Sjövägen",
    "Ängsvägen",
)
ADVANCE_PLACES = (
    "Stadshuset",
    "Stadsbiblioteket",
    "Köpcentrum Galleria",
    "Medborgarhuset",
    "Resecentrum",
    "Kulturhuset",
    "Simhallen",
    "Universitetsbiblioteket",
)
TAGS = ("erfaren", "ordförande 2022", "vice ordförande 2022", "student", "pensionär", "rösträkning")
LANGUAGES = ("sv", "en", "ar", "fi", "so", "fa", "pl", "de", "es")


@dataclass(frozen=True)
class DemoSize:
    districts: int
    advance_stations: int
    people: int


SIZES = {"small": DemoSize(40, 5, 600), "large": DemoSize(600, 60, 15_000)}


def personnummer(
    rng: random.Random, used: set[str], first_year: int = 1946, years: int = 60
) -> str:
    """A valid, unused Swedish number for someone born in the given span of years."""
    while True:
        birth = dt.date(first_year, 1, 1) + dt.timedelta(days=rng.randrange(0, years * 365))
        if birth > dt.date(2007, 9, 1):
            continue
        body = f"{birth:%y%m%d}{rng.randrange(0, 1000):03d}"
        number = f"{birth.year:04d}{body[2:]}{luhn.calc_check_digit(body)}"
        if number not in used:
            used.add(number)
            return number


async def fill_municipality(
    session: AsyncSession, tenant_id: int, size: str = "small"
) -> dict[str, int]:
    """Add an election with districts, stations, rooms, shifts, norms and people."""
    shape = SIZES[size]
    rng = random.Random(f"stemma-demo-{size}")  # noqa: S311 - demo data, not security
    with tenant_scope(tenant_id):
        election = Election(
            name="Val till riksdag, region och kommun 2026",
            kind="combined",
            election_day=dt.date(2026, 9, 13),
            advance_start=dt.date(2026, 8, 26),
            advance_end=dt.date(2026, 9, 13),
            status="planning",
        )
        session.add(election)
        await session.flush()
        # The generator is drawn from in this order, so the demo is the same every time.
        buildings = _buildings(rng, shape, tenant_id)
        room_ids = await _add_buildings_and_rooms(session, rng, shape, tenant_id, buildings)
        stations = await _add_districts_and_stations(
            session, rng, shape, tenant_id, election.id, buildings, room_ids
        )
        shifts = await _add_hours_shifts_and_norms(session, tenant_id, election, stations)
        people = _people(rng, shape, tenant_id)
        await insert_in_batches(session, Person, people)
        await session.commit()
    await refresh_statistics(
        session, "people", "buildings", "rooms", "districts", "stations", "shifts", "staffing_norms"
    )
    return {
        "districts": shape.districts,
        "stations": len(stations),
        "people": shape.people,
        "shifts": shifts,
    }


def _buildings(rng: random.Random, shape: DemoSize, tenant_id: int) -> list[dict[str, Any]]:
    """A school per district (named after its area) and a public building per advance
    voting station."""
    buildings: list[dict[str, Any]] = []
    for index in range(shape.districts + shape.advance_stations):
        if index < shape.districts:
            area = AREAS[index % len(AREAS)]
            round_ = index // len(AREAS)
            name = f"{area}skolan" + (f" {round_ + 1}" if round_ else "")
        else:
            place = ADVANCE_PLACES[(index - shape.districts) % len(ADVANCE_PLACES)]
            name = place if index - shape.districts < len(ADVANCE_PLACES) else f"{place} {index}"
        buildings.append(
            {
                "tenant_id": tenant_id,
                "name": name,
                "street_address": f"{rng.choice(STREETS)} {rng.randrange(1, 80)}",
                "postal_code": f"{rng.randrange(100, 999)} {rng.randrange(10, 99)}",
                "city": "Demostad",
                "latitude": round(55.6 + rng.random() * 0.2, 5),
                "longitude": round(13.0 + rng.random() * 0.3, 5),
                "step_free_access": rng.random() < 0.85,
                "accessible_toilet": rng.random() < 0.7,
                "parking": rng.random() < 0.6,
                "contact_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                "contact_phone": f"+467017406{rng.randrange(5, 100):02d}",
                "access_notes": "Vaktmästaren öppnar 06:45.",
            }
        )
    return buildings


async def _insert_returning_ids(
    session: AsyncSession, model: Any, rows: list[dict[str, Any]]
) -> list[int]:
    inserted = await session.execute(
        insert(model).returning(model.id, sort_by_parameter_order=True), rows
    )
    return list(inserted.scalars())


async def _add_buildings_and_rooms(
    session: AsyncSession,
    rng: random.Random,
    shape: DemoSize,
    tenant_id: int,
    buildings: list[dict[str, Any]],
) -> list[int]:
    """The buildings, a room in each (a gym, or an entrance hall for advance voting);
    the rooms' ids in the buildings' order."""
    building_ids = await _insert_returning_ids(session, Building, buildings)
    room_rows = [
        {
            "tenant_id": tenant_id,
            "building_id": building_id,
            "name": "Gymnastiksalen" if i < shape.districts else "Entréhallen",
            "capacity": rng.randrange(40, 200),
            "has_power": True,
            "has_network": rng.random() < 0.5,
            "tables": rng.randrange(4, 20),
            "booths": rng.randrange(3, 10),
            "notes": "",
        }
        for i, building_id in enumerate(building_ids)
    ]
    return await _insert_returning_ids(session, Room, room_rows)


async def _add_districts_and_stations(
    session: AsyncSession,
    rng: random.Random,
    shape: DemoSize,
    tenant_id: int,
    election_id: int,
    buildings: list[dict[str, Any]],
    room_ids: list[int],
) -> list[tuple[int, str]]:
    """A district with its polling station per school, then the advance voting
    stations; returns (station id, kind) in that order."""
    district_rows = [
        {
            "tenant_id": tenant_id,
            "election_id": election_id,
            "code": f"0180-{i + 1:03d}",
            "name": buildings[i]["name"].replace("skolan", ""),
            "eligible_voters": rng.randrange(900, 2400),
        }
        for i in range(shape.districts)
    ]
    district_ids = await _insert_returning_ids(session, District, district_rows)
    station_rows = [
        {
            "tenant_id": tenant_id,
            "election_id": election_id,
            "district_id": district_ids[i],
            "room_id": room_ids[i],
            "kind": "polling",
            "name": buildings[i]["name"],
        }
        for i in range(shape.districts)
    ] + [
        {
            "tenant_id": tenant_id,
            "election_id": election_id,
            "district_id": None,
            "room_id": room_ids[shape.districts + j],
            "kind": "advance",
            "name": f"{buildings[shape.districts + j]['name']} (förtidsröstning)",
        }
        for j in range(shape.advance_stations)
    ]
    station_ids = await _insert_returning_ids(session, Station, station_rows)
    return [(station_ids[i], row["kind"]) for i, row in enumerate(station_rows)]


async def _add_hours_shifts_and_norms(
    session: AsyncSession, tenant_id: int, election: Election, stations: list[tuple[int, str]]
) -> int:
    """Opening hours, and the standard template's shifts with their norms, on election
    day (polling) or on its last ten advance days and election day (advance voting).
    Returns how many shifts."""
    roles = {
        code: role_id for role_id, code in await session.execute(select(RoleType.id, RoleType.code))
    }
    openings: list[dict[str, Any]] = []
    shifts: list[dict[str, Any]] = []
    norms: list[tuple[int, dict[str, list[int]]]] = []
    templates: dict[str, list[dict[str, Any]]] = {
        kind: list(shifts_) for _name, kind, shifts_ in standard_templates("sv")
    }
    advance_start, advance_end = dt.date(2026, 8, 26), dt.date(2026, 9, 13)
    advance_days = [
        advance_start + dt.timedelta(days=d) for d in range((advance_end - advance_start).days)
    ]
    for station_id, kind in stations:
        days = (
            [election.election_day]
            if kind == "polling"
            else [*advance_days[-10:], election.election_day]
        )
        for day in days:
            openings.append(
                {
                    "tenant_id": tenant_id,
                    "station_id": station_id,
                    "day": day,
                    "opens_at": dt.time(8) if kind == "polling" else dt.time(10),
                    "closes_at": dt.time(20) if kind == "polling" else dt.time(18),
                }
            )
            for item in templates[kind]:
                shifts.append(
                    {
                        "tenant_id": tenant_id,
                        "station_id": station_id,
                        "day": day,
                        "name": item["name"],
                        "names": item["names"],
                        "starts_at": dt.time.fromisoformat(item["starts_at"]),
                        "ends_at": dt.time.fromisoformat(item["ends_at"]),
                    }
                )
                norms.append((len(shifts) - 1, item["norms"]))
    await session.execute(insert(StationOpening), openings)
    shift_ids = await _insert_returning_ids(session, Shift, shifts)
    norm_rows = [
        {
            "tenant_id": tenant_id,
            "shift_id": shift_ids[index],
            "role_type_id": roles[code],
            "minimum": minimum,
            "target": target,
        }
        for index, wanted in norms
        for code, (minimum, target) in wanted.items()
    ]
    await session.execute(insert(StaffingNorm), norm_rows)
    return len(shifts)


def _people(rng: random.Random, shape: DemoSize, tenant_id: int) -> list[dict[str, Any]]:
    used: set[str] = set()
    return [_person(rng, tenant_id, number, used) for number in range(shape.people)]


def _person(rng: random.Random, tenant_id: int, number: int, used: set[str]) -> dict[str, Any]:
    """One invented person with a valid, unused personnummer."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    national_id = personnummer(rng, used)
    return {
        "tenant_id": tenant_id,
        "first_name": first,
        "last_name": last,
        **search_names(first, last),
        "national_id_country": "SE",
        "national_id": national_id,
        "birth_date": dt.date(int(national_id[:4]), int(national_id[4:6]), int(national_id[6:8])),
        "email": f"{first}.{last}.{number}@example.org".lower()
        .replace("ö", "o")
        .replace("ä", "a")
        .replace("å", "a"),
        # The range the Swedish regulator keeps for fiction: never a real phone.
        "mobile": f"+467017406{5 + number % 95:02d}",
        "street_address": f"{rng.choice(STREETS)} {rng.randrange(1, 120)}",
        "postal_code": f"{rng.randrange(100, 999)} {rng.randrange(10, 99)}",
        "city": "Demostad",
        "preferred_language": "sv",
        "spoken_languages": [
            "sv",
            *rng.sample(LANGUAGES[1:], rng.choice((0, 0, 1, 1, 2))),
        ],
        "tags": rng.sample(TAGS, rng.choice((0, 0, 0, 1, 1, 2))),
        "notes": "",
        "status": rng.choice(("active",) * 6 + ("applicant", "inactive")),
    }
