"""Foundation benchmarks: request throughput through the whole stack, and the cost of
the tenant-scoping hook on queries. Numbers go in closing notes, never in tests."""

from __future__ import annotations

import asyncio
import resource
import statistics
import time
from pathlib import Path

from sqlalchemy import select

from app import create_app
from app.core.accounts.users import create_user
from app.core.audit import Actor
from app.core.migrations import upgrade
from app.core.models import Membership, User
from app.core.settings import load_settings
from app.core.tenancy import ALL_TENANTS, tenant_scope
from app.domain.municipalities import create_municipality

PASSWORD = "benchmark password"


async def run(requests: int, database_url: str | None, data_dir: Path) -> None:
    print("== foundation ==")
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = load_settings(
        data_dir=data_dir,
        database_url=url,
        secret_key="b" * 40,
        run_worker_in_process=False,
        # The benchmark may be pointed at PostgreSQL as its superuser (``--database-url``):
        # its numbers are then without row-level security, which such a role skips.
        allow_privileged_database_role=True,
    )
    app = create_app(settings)
    factory = app.extensions["stemma"].session_factory
    async with factory() as session:
        tenants = []
        for number in range(20):
            tenant = await create_municipality(
                session, Actor.system("bench"), f"bench-{number}", f"K {number}"
            )
            tenants.append(tenant)
            roles = ("admin", "planner", "coordinator") + ("clerk",) * 7
            for index, role in enumerate(roles):
                await create_user(
                    session,
                    Actor.system("bench"),
                    tenant,
                    f"{role}{index}-{number}@bench.test",
                    "Bench",
                    role,
                    PASSWORD if role == "planner" else None,
                )

    # 1. The tenant hook: the same query scoped vs explicitly unscoped.
    async with factory() as session:
        timings: dict[str, list[float]] = {"scoped": [], "all_tenants": []}
        for _round in range(5):
            start = time.perf_counter()
            with tenant_scope(tenants[3].id):
                for _query in range(500):
                    (await session.scalars(select(Membership))).all()
            timings["scoped"].append((time.perf_counter() - start) / 500 * 1e6)
            start = time.perf_counter()
            for _query in range(500):
                (
                    await session.scalars(
                        select(Membership)
                        .where(Membership.tenant_id == tenants[3].id)
                        .execution_options(**{ALL_TENANTS: True})
                    )
                ).all()
            timings["all_tenants"].append((time.perf_counter() - start) / 500 * 1e6)
    for name, values in timings.items():
        print(f"query membership list, {name:<12}: median {statistics.median(values):7.1f} µs")

    # 2. Whole-stack page requests as a signed-in planner.
    async with app.test_app() as test_app:
        client = test_app.test_client()
        page = await client.get("/login")
        token = (
            (await page.get_data(as_text=True)).split('name="csrf_token" value="')[1].split('"')[0]
        )
        async with factory() as session:
            planner = await session.scalar(
                select(User)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.role == "planner", Membership.tenant_id == tenants[0].id)
                .execution_options(**{ALL_TENANTS: True})
            )
            assert planner is not None
        response = await client.post(
            "/login", form={"email": planner.email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302, response.status_code
        for path in ("/bench-0/planning/", "/login"):
            latencies = []
            for _request in range(requests):
                start = time.perf_counter()
                response = await client.get(path)
                await response.get_data()
                latencies.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
            latencies.sort()
            p95 = latencies[int(len(latencies) * 0.95) - 1]
            print(
                f"GET {path:<20} {requests} requests: median {statistics.median(latencies):6.2f} ms,"
                f" p95 {p95:6.2f} ms, {requests / (sum(latencies) / 1000):7.0f} req/s (one client)"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MiB")
    await app.extensions["stemma"].engine.dispose()
