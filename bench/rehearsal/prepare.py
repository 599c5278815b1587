"""Before the day: the Stockholm-scale demo with election day today, a clean day (what
an earlier run left is cleared), a user for every phone, coordinators, the leads' and
coordinators' browsers subscribed to the local push service, an API token, and the
ordinary role the app serves as."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.api_tokens import create_api_token
from app.core.audit import Actor
from app.core.db import create_engine, create_session_factory
from app.core.models import Membership, PushSubscription, Tenant, User
from app.core.outbox.push import SubscriptionInfo, save_subscription
from app.core.security import hash_password
from app.core.tenancy import tenant_scope
from app.demo import LARGE_SLUG
from app.demo.election_day import _clear_election_day
from app.domain.models import Assignment, Election, Person, RoleType, Shift
from app.domain.models import Station as StationRow
from app.domain.ops.day import ops_day
from bench.rehearsal.plan import COORDINATORS, STATIONS, Options, Place, Station
from bench.rehearsal.push_service import PushService
from bench.rls_path import make_app_role

PASSWORD = "rehearsal-2026"


@dataclass
class Prepared:
    slug: str
    tenant_id: int
    election_id: int
    token: str
    stations: list[Station]
    coordinators: list[tuple[int, str]]  # user id, email
    #: Push subscription id -> the browser's name at the push service.
    subscriptions: dict[int, str]

    def email_of(self, user_id: int) -> str:
        return f"rehearsal-{user_id}@{self.slug}.rehearsal"


def ensure_demo(owner_url: str, data_dir: Path) -> None:
    """Migrate, make the Stockholm-scale demo when missing, and move its election day
    to today (the ``stemma`` commands, as the owner)."""
    stemma = str(Path(sys.executable).parent / "stemma")
    env = {
        **os.environ,
        "STEMMA_DATABASE_URL": owner_url,
        "STEMMA_DATA_DIR": str(data_dir),
        "STEMMA_SECRET_KEY": "r" * 40,
        "STEMMA_ALLOW_PRIVILEGED_DATABASE_ROLE": "true",
    }
    for command in (["migrate"], ["demo", "--size", "large", "--election-day", "today"]):
        subprocess.run(  # noqa: S603 - our own stemma command
            [stemma, *command], env=env, check=True, stdout=subprocess.DEVNULL
        )


async def prepare(owner_url: str, options: Options, push: PushService) -> Prepared:
    engine = create_engine(owner_url)
    factory = create_session_factory(engine)
    actor = Actor.system("rehearsal")
    try:
        async with factory() as session:
            tenant = await session.scalar(select(Tenant).where(Tenant.slug == LARGE_SLUG))
            assert tenant is not None, "no Stockholm-scale demo"
            with tenant_scope(tenant.id):
                # The operations day: from 22:00, the demo's election day is tomorrow
                # (its first shifts at midnight, check-in open already).
                day = await ops_day(session)
                election = await session.scalar(
                    select(Election).where(Election.election_day == day).order_by(Election.id)
                )
                assert election is not None, (
                    "no election today: run `stemma demo --election-day today`"
                )
                await _clear_election_day(session, election.id)
                stations = await _stations(session, election, options.scale)
                password = hash_password(PASSWORD)
                await _phones_users(session, stations, password)
                coordinators = await _coordinators(session, options.scale, password)
                leads = sorted({p.user_id for s in stations for p in s.places if p.leads})
                subscriptions = await _subscribe(
                    session, leads + [c for c, _e in coordinators], push
                )
                await session.commit()
                _row, token = await create_api_token(session, actor, "Rehearsal")
                await session.commit()
            prepared = Prepared(
                LARGE_SLUG, tenant.id, election.id, token, stations, coordinators, subscriptions
            )
    finally:
        await engine.dispose()
    await make_app_role(owner_url)
    return prepared


async def _stations(session: AsyncSession, election: Election, scale: float) -> list[Station]:
    """The first ``scale`` x 660 stations with places today, and their places."""
    wanted = max(2, round(STATIONS * scale))
    rows = (
        await session.execute(
            select(
                Assignment.id,
                Assignment.person_id,
                Assignment.shift_id,
                Shift.station_id,
                RoleType.leads_station,
            )
            .join(Shift, Shift.id == Assignment.shift_id)
            .join(StationRow, StationRow.id == Shift.station_id)
            .join(RoleType, RoleType.id == Assignment.role_type_id)
            .where(
                Assignment.election_id == election.id,
                Assignment.state == "accepted",
                Shift.day == election.election_day,
                StationRow.kind == "polling",
            )
            .order_by(Shift.station_id, Shift.starts_at.desc(), Assignment.id)
        )
    ).all()
    by_station: dict[int, list[tuple[int, int, int, bool]]] = {}
    for assignment_id, person_id, shift_id, station_id, leads in rows:
        by_station.setdefault(station_id, []).append((assignment_id, person_id, shift_id, leads))
    chosen = list(by_station)[:wanted]
    stations = []
    for station_id in chosen:
        # A person's one place (the latest shift's) at the station: one phone each.
        places: dict[int, tuple[int, int, int, bool]] = {}
        for assignment_id, person_id, shift_id, leads in by_station[station_id]:
            places.setdefault(person_id, (assignment_id, person_id, shift_id, leads))
        stations.append(
            Station(
                station_id,
                [Place(a, p, 0, s, station_id, leads) for a, p, s, leads in places.values()],
            )
        )
    return stations


async def _phones_users(session: AsyncSession, stations: list[Station], password: str) -> None:
    """A clerk user for every person with a place (the demo's people have none)."""
    person_ids = [p.person_id for s in stations for p in s.places]
    users = dict(
        (
            await session.execute(
                select(Person.id, Person.user_id).where(Person.id.in_(person_ids))
            )
        ).all()
    )
    for station in stations:
        for number, place in enumerate(station.places):
            user_id = users.get(place.person_id)
            if user_id is None:
                user = User(
                    email=f"rehearsal-p{place.person_id}@storstad.rehearsal",
                    name=f"Rehearsal clerk {place.person_id}",
                    password_hash=password,
                )
                session.add(user)
                await session.flush()
                session.add(Membership(user_id=user.id, role="clerk"))
                await session.execute(
                    update(Person).where(Person.id == place.person_id).values(user_id=user.id)
                )
                user_id = users[place.person_id] = user.id
            else:
                await session.execute(
                    update(User).where(User.id == user_id).values(password_hash=password)
                )
            station.places[number] = Place(
                place.assignment_id,
                place.person_id,
                user_id,
                place.shift_id,
                place.station_id,
                place.leads,
            )
    await session.flush()


async def _coordinators(
    session: AsyncSession, scale: float, password: str
) -> list[tuple[int, str]]:
    wanted = max(2, round(COORDINATORS * scale))
    found = []
    for number in range(wanted):
        email = f"rehearsal-coordinator{number}@storstad.rehearsal"
        user = await session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, name=f"Rehearsal coordinator {number}")
            session.add(user)
            await session.flush()
            session.add(Membership(user_id=user.id, role="coordinator"))
        user.password_hash = password
        found.append((user.id, email))
    await session.flush()
    return found


async def _subscribe(
    session: AsyncSession, user_ids: list[int], push: PushService
) -> dict[int, str]:
    """One browser per user at the local push service (earlier runs' removed)."""
    await session.execute(delete(PushSubscription).where(PushSubscription.user_id.in_(user_ids)))
    subscriptions = {}
    for user_id in user_ids:
        name = f"u{user_id}"
        data = push.subscribe(name)
        info = SubscriptionInfo(data["endpoint"], data["keys"]["p256dh"], data["keys"]["auth"])
        row = await save_subscription(session, user_id, info, "Rehearsal phone")
        subscriptions[row.id] = name
    return subscriptions
