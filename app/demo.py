"""Demo data: a municipality with one user per role, made once on first start."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.core.audit import Actor
from app.core.models import Tenant
from app.domain.accounts import create_tenant, create_user, get_tenant_by_slug

DEMO_SLUG = "demo"
DEMO_PASSWORD = "stemma-demo-2026"  # noqa: S105 - printed for everyone on purpose
DEMO_USERS = (
    ("admin", "admin@demo.stemma.test", "Alva Admin"),
    ("planner", "planner@demo.stemma.test", "Per Planerare"),
    ("coordinator", "coordinator@demo.stemma.test", "Kim Koordinator"),
    ("clerk", "clerk@demo.stemma.test", "Robin Röstmottagare"),
)


async def create_demo(
    session_factory: Any, size: str = "small"
) -> tuple[bool, list[tuple[str, str]]]:
    """Create the demo municipality unless it exists. Returns (created, [(role, email)]).

    ``size`` is accepted now so scripts keep working when later registers add the
    large synthetic municipality used by the benchmarks.
    """
    logins = [(role, email) for role, email, _name in DEMO_USERS]
    async with session_factory() as session:
        if await get_tenant_by_slug(session, DEMO_SLUG) is not None:
            return False, logins
        actor = Actor.system("demo")
        tenant = await create_tenant(session, actor, DEMO_SLUG, "Demo kommun")
        for role, email, name in DEMO_USERS:
            await create_user(session, actor, tenant, email, name, role, DEMO_PASSWORD)
        assert await session.scalar(select(Tenant.id).where(Tenant.slug == DEMO_SLUG))
    return True, logins
