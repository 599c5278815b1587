"""A dispatch to everyone in the Stockholm-scale demo's register (15,000 people, one SMS
each): the group resolved, the list frozen and every message queued in the outbox,
target under 5 s; also the preview (counts, every SMS rendered for its parts and cost).

The demo makes a quarter of its 15,000 people applicants or inactive (the register
group is the active ones, 11,238); the bench makes every person of the demo's register
active first, so the dispatch goes to all 15,000.

On PostgreSQL the app's ordinary role runs it, with the row policies forced, as the
app does (``--database-url`` as the tables' owner: the bench makes the role)."""

from __future__ import annotations

import os
import secrets
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url

from app import create_app
from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.audit import Actor
from app.core.db import create_engine
from app.core.db_role import privileges_past_row_security
from app.core.migrations import upgrade_async
from app.core.models import OutboxMessage
from app.core.settings import load_settings
from app.core.tenancy import tenant_scope
from app.demo import LARGE_SLUG, create_demo
from app.domain.dispatches.preview import preview
from app.domain.dispatches.sending import DispatchDraft, create_dispatch, send_dispatch
from app.domain.models import Dispatch, DispatchRecipient, Person
from bench.common import cpu_seconds

ACTOR = Actor.system("bench")
#: The ordinary role the bench runs the dispatch as on PostgreSQL, like the app's.
APP_ROLE = "stemma_bench_app"
TEXT = (
    "Hej {{ person.first_name }}! {{ municipality.name }} söker röstmottagare till valet. "
    "Svara på mejlet eller ring {{ contact.phone }}."
)


async def run(database_url: str | None, data_dir: Path) -> None:
    print("== dispatch to the whole register (large demo municipality) ==")
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{data_dir / 'dispatch.db'}"
    await upgrade_async(url)
    settings = load_settings(
        data_dir=data_dir, database_url=url, secret_key="s" * 40, run_worker_in_process=False
    )
    owner_app = create_app(settings)
    start = time.perf_counter()
    await create_demo(owner_app.extensions["stemma"].session_factory, size="large")
    print(f"{'make the large demo municipality':<44} {time.perf_counter() - start:7.2f} s")
    await _activate_register(owner_app.extensions["stemma"].session_factory)
    app_url = await app_role_url(url) if make_url(url).get_backend_name() == "postgresql" else url
    app = create_app(settings.model_copy(update={"database_url": app_url}))
    factory = app.extensions["stemma"].session_factory
    async with factory() as session:
        tenant = await get_tenant_by_slug(session, LARGE_SLUG)
        assert tenant is not None
    with tenant_scope(tenant.id):
        # Twice: the first right after the demo was written (the database still busy
        # with it), the second as a dispatch on an ordinary day.
        for run_number in (1, 2):
            await _one(factory, run_number)
    await _dispose(app)
    await _dispose(owner_app)


async def _one(factory: Any, run_number: int) -> None:
    async with factory() as session:
        draft = DispatchDraft.from_mapping(
            {
                "title": f"Bench {run_number}",
                "group": "register",
                "channels": ["sms"],
                "sms_sv": TEXT,
                "request_key": secrets.token_urlsafe(16),
            }
        )
        start = time.perf_counter()
        dispatch = await create_dispatch(session, ACTOR, draft)
        dispatch_id = dispatch.id
        print(
            f"{f'{run_number}: create (filter checked, group counted)':<44} {time.perf_counter() - start:7.2f} s"
        )
    async with factory() as session:
        shown_dispatch = await session.get(Dispatch, dispatch_id)
        assert shown_dispatch is not None
        start = time.perf_counter()
        shown = await preview(session, shown_dispatch, "http://bench", Decimal("0.35"))
        print(
            f"{f'{run_number}: preview (every SMS rendered, counted)':<44} {time.perf_counter() - start:7.2f} s"
        )
        print(
            f"{'':<4}{shown.to_send.get('sms', 0)} SMS, {shown.sms_parts_total} parts, "
            f"about {shown.cost} kr; left out {shown.left_out_total}"
        )
    async with factory() as session:
        backend = await _backend_pid(session)
        start, cpu, database_cpu = time.perf_counter(), cpu_seconds(), _backend_cpu(backend)
        await send_dispatch(session, ACTOR, dispatch_id, "http://bench")
        elapsed = time.perf_counter() - start
        cpu, database_cpu = cpu_seconds() - cpu, _backend_cpu(backend) - database_cpu
        frozen = await session.scalar(
            select(func.count()).select_from(DispatchRecipient)
            .where(DispatchRecipient.dispatch_id == dispatch_id)
        )  # fmt: skip
        queued = await session.scalar(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.idempotency_key.like(f"dispatch:{dispatch_id}:%"))
        )  # fmt: skip
    verdict = "ok" if elapsed < 5 else "SLOWER THAN 5 s"
    print(
        f"{f'{run_number}: resolve, freeze and queue (send now)':<44} {elapsed:7.2f} s  {verdict}"
    )
    print(f"{'':<4}{frozen} recipients frozen, {queued} messages queued")
    database = f", PostgreSQL backend {database_cpu:.2f} s" if backend else ""
    print(f"{'':<4}CPU: this process {cpu:.2f} s{database}")


async def _backend_pid(session: Any) -> int | None:
    """The PostgreSQL server process of the session's connection, when its CPU can be
    read here (a server on this machine); None on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    pid = int(await session.scalar(text("SELECT pg_backend_pid()")))
    await session.rollback()
    return pid if os.access(f"/proc/{pid}/stat", os.R_OK) else None


def _backend_cpu(pid: int | None) -> float:
    """CPU seconds (user and system) the server process has used so far."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _activate_register(factory: Any) -> None:
    """Every person of the large demo's register made active (the register group)."""
    async with factory() as session:
        tenant = await get_tenant_by_slug(session, LARGE_SLUG)
        assert tenant is not None
        with tenant_scope(tenant.id):
            await session.execute(
                update(Person).where(Person.erased_at.is_(None)).values(status="active")
            )
            await session.commit()
            active = await session.scalar(
                select(func.count()).select_from(Person).where(Person.status == "active")
            )
    print(f"{'register made active (people)':<44} {active:>7}")


async def _dispose(app: object) -> None:
    engine = app.extensions["stemma"].engine  # type: ignore[attr-defined]
    await engine.dispose()


async def app_role_url(owner_url: str) -> str:
    """Make (once) an ordinary login role with the app's grants, and its URL."""
    engine = create_engine(owner_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}')"
                    f" THEN CREATE ROLE {APP_ROLE} LOGIN; END IF; END $$"
                )
            )
            for statement in (
                f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
            ):
                await connection.execute(text(statement))
    finally:
        await engine.dispose()
    url = make_url(owner_url).set(username=APP_ROLE, password=None)
    app_url = url.render_as_string(hide_password=False)
    engine = create_engine(app_url)
    try:
        # As the app checks when it starts: no superuser, no BYPASSRLS, not the owner.
        assert await privileges_past_row_security(engine) == []
        async with engine.connect() as connection:
            # Every table with a tenant_id column: row security on and forced.
            tables = (
                await connection.execute(
                    text(
                        "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity"
                        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'"
                        " WHERE c.relkind = 'r' AND n.nspname = current_schema()"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    unforced = sorted(name for name, forced in tables if not forced)
    assert tables and not unforced, unforced
    print(
        f"{'the app connects as':<44} {APP_ROLE} (no superuser, no BYPASSRLS, not the"
        f" owner; row security forced on all {len(tables)} tables with a tenant_id)"
    )
    return app_url
