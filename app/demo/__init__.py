"""Demo data: a municipality with one user per role and a whole election, made once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.accounts.users import create_user
from app.core.audit import Actor
from app.demo.courses import fill_courses_demo
from app.demo.data import fill_municipality
from app.demo.election_day import fill_reserves
from app.demo.material_deliveries import fill_deliveries_demo
from app.demo.material_handouts import fill_handouts_demo
from app.demo.materials import fill_materials_demo
from app.demo.pay import fill_pay_demo
from app.demo.portal import fill_portal_demo
from app.demo.recruitment import fill_recruitment
from app.demo.reminders import sign_messages, switch_on_reminders
from app.demo.staffing import fill_staffing_demo
from app.demo.statistics import fill_statistics_demo
from app.demo.turnout import fill_held_turnout
from app.domain.municipalities import create_municipality

DEMO_SLUG = "demo"
LARGE_SLUG = "storstad"
DEMO_PASSWORD = "stemma-demo-2026"  # noqa: S105 - printed for everyone on purpose
DEMO_USERS = (
    ("admin", "admin@demo.stemma.test", "Alva Admin"),
    ("planner", "planner@demo.stemma.test", "Per Planerare"),
    ("coordinator", "coordinator@demo.stemma.test", "Kim Koordinator"),
    ("clerk", "clerk@demo.stemma.test", "Robin Röstmottagare"),
    # Last, so the others keep their places in ``users`` (users[3] is the clerk).
    ("logistics", "logistics@demo.stemma.test", "Lo Logistiker"),
)


async def create_demo(
    session_factory: Any, size: str = "small", base_url: str = "http://127.0.0.1:8000"
) -> tuple[bool, list[tuple[str, str]]]:
    """Create the demo municipality unless it exists. Returns (created, [(role, email)]).

    ``small`` is "Demo kommun" (40 districts, 45 stations, 600 people); ``large`` is
    "Storstad" at Stockholm scale (600 districts, 660 stations, 15,000 people) for
    the benchmarks. Both get one user per role with the demo password.
    """
    slug, name = (DEMO_SLUG, "Demo kommun") if size == "small" else (LARGE_SLUG, "Storstad (demo)")
    users = [
        (role, email if size == "small" else email.replace("@demo.", f"@{LARGE_SLUG}."), user_name)
        for role, email, user_name in DEMO_USERS
    ]
    logins = [(role, email) for role, email, _name in users]
    async with session_factory() as session:
        if await get_tenant_by_slug(session, slug) is not None:
            return False, logins
    # One transaction for the whole municipality: the services commit as they go, and
    # each of those commits only releases a savepoint here. A run that fails part-way
    # leaves nothing behind, so the next run makes the demo whole instead of skipping
    # a half-made one.
    engine = session_factory.kw["bind"]
    async with engine.connect() as connection, connection.begin():
        if engine.dialect.name == "sqlite":
            # The sqlite3 driver begins a transaction only before a write, so the first
            # savepoint would begin (and its release commit) one of its own.
            await connection.exec_driver_sql("BEGIN")
        async with session_factory(
            bind=connection, join_transaction_mode="create_savepoint"
        ) as session:
            await _fill_demo(session, slug, name, users, size, base_url)
    return True, logins


async def _fill_demo(
    session: AsyncSession,
    slug: str,
    name: str,
    users: list[tuple[str, str, str]],
    size: str,
    base_url: str,
) -> None:
    actor = Actor.system("demo")
    # Optional, so a newcomer signs in with the printed logins and no authenticator
    # app; a real municipality requires it of administrators and planners.
    tenant = await create_municipality(session, actor, slug, name, second_factor_policy="optional")
    for role, email, user_name in users:
        await create_user(session, actor, tenant, email, user_name, role, DEMO_PASSWORD)
    await fill_municipality(session, tenant.id, size)
    upcoming = await fill_recruitment(session, tenant, users[1][1], base_url, size)
    await fill_staffing_demo(session, tenant.id, upcoming.id, size)
    await fill_portal_demo(session, tenant.id, upcoming.id, users[3][1])
    await fill_courses_demo(session, tenant, upcoming.id, base_url, size)
    await fill_reserves(session, tenant.id, upcoming.id)
    await sign_messages(session, tenant)
    await switch_on_reminders(session, tenant.id, upcoming.id)
    await fill_pay_demo(session, tenant.id, upcoming.id)
    await fill_statistics_demo(session, tenant.id, upcoming.id, size)
    await fill_held_turnout(session, tenant)
    await fill_materials_demo(session, tenant.id, upcoming.id, size)
    await fill_deliveries_demo(session, tenant.id, upcoming.id, users[3][1])
    await fill_handouts_demo(session, tenant.id, upcoming.id)
