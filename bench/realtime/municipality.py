"""The benchmark's municipality: election day today, every clerk a user with a place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app import create_app
from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.migrations import upgrade_async
from app.core.models import Event, Membership, User
from app.core.settings import load_settings
from app.core.tenancy import tenant_scope
from app.domain.elections.districts import save_district
from app.domain.elections.elections import save_election
from app.domain.elections.shifts import save_shift
from app.domain.elections.stations import save_station
from app.domain.models import Assignment, Person, RoleType
from app.domain.municipalities import create_municipality
from bench.realtime.scale import TIMEZONE, Scale

# --- the municipality -----------------------------------------------------------------


@dataclass
class Clerk:
    person_id: int
    user_id: int
    shift_id: int
    station_id: int


@dataclass
class Seeded:
    slug: str
    tenant_id: int
    election_id: int
    token: str
    clerks: list[list[Clerk]]  # per station
    coordinators: list[int]


async def seed(url: str, data_dir: Path, slug: str, scale: Scale) -> Seeded:
    """A municipality whose election day is today, every clerk a user with a place."""

    await upgrade_async(url)
    settings = load_settings(
        data_dir=data_dir, database_url=url, secret_key="r" * 40, run_worker_in_process=False
    )
    app = create_app(settings)
    factory = app.extensions["stemma"].session_factory
    actor = Actor.system("bench")
    today = dt.datetime.now(ZoneInfo(TIMEZONE)).date().isoformat()
    async with factory() as session:
        tenant = await create_municipality(
            session, actor, slug, f"Realtime {slug}", timezone=TIMEZONE
        )
        tenant_id = tenant.id
        with tenant_scope(tenant_id):
            election = await save_election(
                session,
                actor,
                {
                    "name": "Valdag",
                    "kind": "municipal",
                    "election_day": today,
                    "advance_start": today,
                    "advance_end": today,
                },
            )
            election_id = election.id
            district = await save_district(
                session, actor, election_id, {"code": "D1", "name": "Distrikt 1"}
            )
            district_id = district.id
            clerk_role = await session.scalar(select(RoleType.id).where(RoleType.code == "clerk"))
            stations: list[tuple[int, int]] = []
            for number in range(scale.stations):
                station = await save_station(
                    session,
                    actor,
                    election_id,
                    {"name": f"Station {number}", "kind": "polling", "district_id": district_id},
                )
                station_id = station.id
                shift = await save_shift(
                    session,
                    actor,
                    election_id,
                    station_id,
                    {"name": "Valdag", "day": today, "starts_at": "00:00", "ends_at": "23:59"},
                )
                stations.append((station_id, shift.id))
            clerks, coordinators = await _staff(
                session, slug, scale, election_id, stations, clerk_role
            )
            coordinator_ids = coordinators
            await session.commit()
            _row, token = await create_api_token(session, actor, "Realtime bench")
    if not url.startswith("sqlite"):
        # A live database has statistics; right after a bulk load the planner has none
        # and picks nested loops that cost seconds (see the report).
        async with app.extensions["stemma"].engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
    await app.extensions["stemma"].engine.dispose()
    return Seeded(slug, tenant_id, election_id, token, clerks, coordinator_ids)


async def _staff(
    session: AsyncSession,
    slug: str,
    scale: Scale,
    election_id: int,
    stations: list[tuple[int, int]],
    clerk_role: int | None,
) -> tuple[list[list[Clerk]], list[int]]:
    """Every clerk a user with a person and a place on their station's shift, and the
    coordinators; returns the clerks per station and the coordinators' user ids."""

    users = [
        User(email=f"clerk{s}-{c}@{slug}.bench", name=f"Clerk {s}-{c}")
        for s in range(scale.stations)
        for c in range(scale.clerks)
    ]
    coordinators = [
        User(email=f"coordinator{n}@{slug}.bench", name=f"Coordinator {n}")
        for n in range(scale.coordinators)
    ]
    session.add_all(users + coordinators)
    await session.flush()
    session.add_all(Membership(user_id=u.id, role="clerk") for u in users)
    session.add_all(Membership(user_id=u.id, role="coordinator") for u in coordinators)
    people = [
        Person(
            first_name="Clerk",
            last_name=str(index),
            search_name=f"clerk {index}",
            search_name_reversed=f"{index} clerk",
            user_id=user.id,
        )
        for index, user in enumerate(users)
    ]
    session.add_all(people)
    await session.flush()
    clerks: list[list[Clerk]] = []
    for s, (station_id, shift_id) in enumerate(stations):
        team = []
        for c in range(scale.clerks):
            person = people[s * scale.clerks + c]
            session.add(
                Assignment(
                    election_id=election_id,
                    station_id=station_id,
                    shift_id=shift_id,
                    role_type_id=clerk_role,
                    person_id=person.id,
                    state="accepted",
                )
            )
            team.append(Clerk(person.id, person.user_id or 0, shift_id, station_id))
        clerks.append(team)
    return clerks, [u.id for u in coordinators]


async def stored_events(url: str, data_dir: Path, tenant_id: int) -> dict[int, tuple[str, int]]:
    """Every event of the municipality: id -> (topic, check-in id)."""

    settings = load_settings(
        data_dir=data_dir, database_url=url, secret_key="r" * 40, run_worker_in_process=False
    )
    app = create_app(settings)
    async with app.extensions["stemma"].session_factory() as session:
        with tenant_scope(tenant_id):
            rows = (await session.execute(select(Event.id, Event.topic, Event.payload))).all()
    await app.extensions["stemma"].engine.dispose()
    return {row.id: (row.topic, int(row.payload.get("check_in_id", 0))) for row in rows}
