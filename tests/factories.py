"""Factories for every model; tests build what they need, nothing more."""

from __future__ import annotations

import itertools
import re
from typing import Any

from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.users import create_user
from app.core.audit import Actor
from app.core.models import Tenant, User
from app.domain.municipalities import create_municipality

PASSWORD = "correct horse battery"
_sequence = itertools.count(1)


async def make_tenant(
    session: AsyncSession,
    slug: str | None = None,
    name: str | None = None,
    second_factor_policy: str = "optional",
) -> Tenant:
    """A municipality. Its second factor is optional unless asked for: tests of other
    things sign planners in with a password alone (``tests/core/accounts`` and
    ``tests/public/test_second_factor.py`` test the policy)."""
    number = next(_sequence)
    return await create_municipality(
        session,
        Actor.system("test"),
        slug or f"kommun-{number}",
        name or f"Kommun {number}",
        second_factor_policy=second_factor_policy,
    )


async def make_user(
    session: AsyncSession,
    tenant: Tenant,
    role: str,
    email: str | None = None,
    password: str = PASSWORD,
    name: str | None = None,
) -> User:
    number = next(_sequence)
    user = await create_user(
        session,
        Actor.system("test"),
        tenant,
        email or f"{role}{number}@{tenant.slug}.test",
        name or f"{role.title()} {number}",
        role,
        password,
    )
    user.password = password  # type: ignore[attr-defined]  # for log-in helpers
    return user


CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_token(client: QuartClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's hidden field."""
    response = await client.get(path)
    match = CSRF_PATTERN.search(await response.get_data(as_text=True))
    assert match, f"no csrf token on {path}"
    return match.group(1)


async def post_form(
    client: QuartClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    token = await csrf_token(client)
    return await client.post(path, form={**(data or {}), "csrf_token": token}, **kwargs)


async def login(client: QuartClient, user: User, password: str = PASSWORD) -> Any:
    response = await post_form(client, "/login", {"email": user.email, "password": password})
    assert response.status_code == 302, await response.get_data(as_text=True)
    return response


async def shift_back(session: AsyncSession, model: Any, column: str, delta: Any) -> None:
    """Move a timestamp of every row of ``model`` into the past (portable across databases)."""
    from sqlalchemy import select

    for row in (await session.scalars(select(model))).all():
        setattr(row, column, getattr(row, column) - delta)
    await session.commit()


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def make_person(session: AsyncSession, tenant: Tenant, **fields: Any) -> Any:
    from app.core.tenancy import tenant_scope
    from app.domain.registers.people import create_person

    number = next(_sequence)
    data = {"first_name": f"Anna{number}", "last_name": "Andersson", **fields}
    with tenant_scope(tenant.id):
        return await create_person(session, Actor.system("test"), data)


async def make_election(session: AsyncSession, tenant: Tenant, **fields: Any) -> Any:
    from app.core.tenancy import tenant_scope
    from app.domain.elections.elections import save_election

    data = {
        "name": "Riksdagsvalet 2026",
        "kind": "parliament",
        "election_day": "2026-09-13",
        "advance_start": "2026-08-26",
        "advance_end": "2026-09-13",
        **fields,
    }
    with tenant_scope(tenant.id):
        return await save_election(session, Actor.system("test"), data)


async def make_room(
    session: AsyncSession, tenant: Tenant, building: str = "Stadshuset", room: str = "Sal A"
) -> Any:
    from app.core.tenancy import tenant_scope
    from app.domain.registers.premises import save_building, save_room

    with tenant_scope(tenant.id):
        found = await save_building(
            session, Actor.system("test"), {"name": f"{building} {next(_sequence)}", "city": "Lund"}
        )
        return await save_room(
            session, Actor.system("test"), found.id, {"name": room, "capacity": "40"}
        )


async def locate_station(
    session: AsyncSession, tenant: Tenant, station_id: int, **building: Any
) -> None:
    """Put a station in a room of a building on the map (Hamnskolan in Lund unless
    ``building`` says otherwise: latitude, longitude, postal_code ...)."""
    from app.core.tenancy import tenant_scope
    from app.domain.models import Building, Room, Station

    with tenant_scope(tenant.id):
        found = Building(
            **{"name": "Hamnskolan", "latitude": 55.70, "longitude": 13.19, **building}
        )
        session.add(found)
        await session.flush()
        room = Room(building_id=found.id, name="Matsalen")
        session.add(room)
        await session.flush()
        station = await session.get(Station, station_id)
        assert station is not None
        station.room_id = room.id
        await session.commit()


def future_election() -> dict[str, str]:
    """An election about ten months ahead of the real today (on a Sunday), so tests that
    go through the public site, which uses the real date, never expire."""
    import datetime as dt

    day = dt.date.today() + dt.timedelta(days=300)
    day += dt.timedelta(days=(6 - day.weekday()) % 7)
    return {
        "name": f"Kommunval {day.year}",
        "kind": "municipal",
        "election_day": day.isoformat(),
        "advance_start": (day - dt.timedelta(days=18)).isoformat(),
        "advance_end": day.isoformat(),
    }


async def make_open_election(session: AsyncSession, tenant: Tenant, districts: int = 2) -> Any:
    """An election still ahead (so it takes applications), with districts D1, D2..."""
    from app.core.tenancy import tenant_scope
    from app.domain.elections.districts import save_district

    election = await make_election(session, tenant, **future_election())
    with tenant_scope(tenant.id):
        for number in range(1, districts + 1):
            await save_district(
                session,
                Actor.system("test"),
                election.id,
                {"code": f"D{number}", "name": f"Distrikt {number}"},
            )
    return election


def application_data(election: Any, **fields: Any) -> dict[str, Any]:
    """A valid application for ``election``'s election day, as the form or API sends it."""
    choice = {
        "election_id": election.id,
        "work_kinds": ["election_day"],
        "days": [str(election.election_day)],
        "district_ids": [],
    }
    data: dict[str, Any] = {
        "first_name": "Sara",
        "last_name": "Lind",
        "national_id": "19900101-0017",
        "email": "sara.lind@example.se",
        "mobile": "070-123 45 67",
        "street_address": "Storgatan 1",
        "postal_code": "222 22",
        "city": "Lund",
        "preferred_language": "sv",
        "spoken_languages": ["sv", "ar"],
        "experience": "some",
        "consent": True,
        "not_candidate": True,
        "elections": [choice],
    }
    data.update(fields)
    return data


async def make_application(
    session: AsyncSession, tenant: Tenant, election: Any, **fields: Any
) -> Any:
    import datetime as dt

    from app.core.tenancy import tenant_scope
    from app.domain.recruitment.applications import submit_application

    with tenant_scope(tenant.id):
        submitted = await submit_application(
            session,
            tenant,
            application_data(election, **fields),
            locale="sv",
            base_url="http://stemma.test",
            today=dt.date.today(),
        )
    return submitted


async def make_staffed_station(
    session: AsyncSession, tenant: Tenant, election: Any = None, name: str = "Hamnskolan"
) -> dict[str, Any]:
    """An open election's polling station with an early and a late shift on election day:
    early needs a chair (1/1) and clerks (2/3); late a vice chair (0/1) and clerks (1/2).
    Returns the pieces by name (election, district, station, early, late, roles)."""
    from sqlalchemy import select

    from app.core.tenancy import tenant_scope
    from app.domain.elections.norms import set_norms
    from app.domain.elections.shifts import save_shift
    from app.domain.elections.stations import save_station
    from app.domain.models import District, RoleType

    actor = Actor.system("test")
    election = election or await make_open_election(session, tenant)
    with tenant_scope(tenant.id):
        district = await session.scalar(
            select(District).where(District.election_id == election.id).order_by(District.id)
        )
        assert district is not None
        station = await save_station(
            session,
            actor,
            election.id,
            {"name": name, "kind": "polling", "district_id": str(district.id)},
        )
        day = str(election.election_day)
        early = await save_shift(
            session, actor, election.id, station.id,
            {"name": "Förmiddag", "day": day, "starts_at": "07:30", "ends_at": "14:00"},
        )  # fmt: skip
        late = await save_shift(
            session, actor, election.id, station.id,
            {"name": "Eftermiddag", "day": day, "starts_at": "13:30", "ends_at": "22:00"},
        )  # fmt: skip
        await set_norms(
            session, actor, election.id, station.id, early.id,
            {"min_chair": "1", "target_chair": "1", "min_clerk": "2", "target_clerk": "3"},
        )  # fmt: skip
        await set_norms(
            session, actor, election.id, station.id, late.id,
            {"min_vice_chair": "0", "target_vice_chair": "1", "min_clerk": "1",
             "target_clerk": "2"},
        )  # fmt: skip
        roles = {r.code: r for r in await session.scalars(select(RoleType))}
    return {
        "election": election,
        "district": district,
        "station": station,
        "early": early,
        "late": late,
        "roles": roles,
    }


async def make_clerk(
    session: AsyncSession,
    tenant: Tenant,
    election: Any,
    kinds: tuple[str, ...] = ("election_day", "counting"),
    **fields: Any,
) -> Any:
    """An active adult person available on election day for ``kinds``."""
    from app.core.tenancy import tenant_scope
    from app.domain.models import Availability

    number = next(_sequence)
    from stdnum import luhn

    body = f"800101{number % 1000:03d}"
    person = await make_person(
        session,
        tenant,
        national_id=fields.pop("national_id", f"19{body}{luhn.calc_check_digit(body)}"),
        email=fields.pop("email", f"clerk{number}@example.se"),
        **fields,
    )
    with tenant_scope(tenant.id):
        session.add_all(
            Availability(
                person_id=person.id,
                election_id=election.id,
                day=election.election_day,
                work_kind=kind,
            )
            for kind in kinds
        )
        await session.commit()
    return person


def local_today(tenant: Tenant) -> Any:
    """Today in the municipality's time zone, the day the app's rules count in (course
    sessions, deadlines, roll calls): the machine's own date is a day behind Stockholm's
    for an hour or two every night."""
    return letterhead(tenant).today()


def letterhead(tenant: Tenant) -> Any:
    """Who course mail comes from, as a face builds it for a request."""
    from app.domain.courses.notices import letterhead_for

    return letterhead_for(tenant, "http://stemma.test")


async def make_course(
    session: AsyncSession,
    tenant: Tenant,
    election: Any = None,
    roles: tuple[str, ...] = ("chair", "vice_chair", "clerk"),
    **fields: Any,
) -> Any:
    """A classroom course required for ``roles`` (for ``election`` when given)."""
    from sqlalchemy import select

    from app.core.tenancy import tenant_scope
    from app.domain.courses.catalog import save_course
    from app.domain.models import RoleType

    data = {
        "name": f"Grundutbildning {next(_sequence)}",
        "kind": "classroom",
        "duration_minutes": "120",
        "materials": "Legitimation",
        **({"election_id": str(election.id)} if election is not None else {}),
        **fields,
    }
    with tenant_scope(tenant.id):
        role_ids = list(await session.scalars(select(RoleType.id).where(RoleType.code.in_(roles))))
        return await save_course(session, Actor.system("test"), data, role_ids)


async def make_course_session(
    session: AsyncSession,
    tenant: Tenant,
    course: Any,
    day: Any = None,
    capacity: int = 10,
    **fields: Any,
) -> Any:
    """A session of ``course`` two weeks ahead (or on ``day``) in a new 40-seat room."""
    import datetime as dt

    from app.core.tenancy import tenant_scope
    from app.domain.courses.scheduling import save_session

    room = await make_room(session, tenant, building="Utbildningscentrum")
    day = day or local_today(tenant) + dt.timedelta(days=14)
    data = {
        "day": str(day),
        "starts_at": "18:00",
        "ends_at": "20:00",
        "room_id": str(room.id),
        "capacity": str(capacity),
        "language": "sv",
        **fields,
    }
    with tenant_scope(tenant.id):
        return await save_session(
            session, Actor.system("test"), course.id, letterhead(tenant), data
        )
