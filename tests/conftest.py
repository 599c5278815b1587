"""Shared fixtures: a migrated database per test, the app, role fixtures, log guards.

SQLite by default. With STEMMA_TEST_DATABASE_URL and STEMMA_TEST_REDIS_URL set (as
`.ci/run` does) the same tests run on PostgreSQL and Redis; in CI they must be set.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import os
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import CodeType
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from argon2 import PasswordHasher
from jinja2 import BytecodeCache, Environment
from jinja2.bccache import Bucket
from quart import Quart
from quart.testing import QuartClient
from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from werkzeug.routing.rules import Rule

import app as stemma
from app import create_app
from app.core import security
from app.core.db import create_engine, create_session_factory
from app.core.migrations import upgrade
from app.core.models import Base, Tenant
from app.core.settings import Settings, load_settings
from app.core.tenancy import outside_tenants
from app.demo import create_demo
from tests import factories

TEST_DATABASE_URL = os.environ.get("STEMMA_TEST_DATABASE_URL") or None
TEST_REDIS_URL = os.environ.get("STEMMA_TEST_REDIS_URL") or None
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: The pytest-xdist worker this process is (``gw0``, ...), or None without xdist.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER") or None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--skip-drills",
        action="store_true",
        help="leave out the tests marked drill (`make test` does; `make drills` runs them)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_error_logs: the test expects ERROR log records")
    if IN_CI and not (TEST_DATABASE_URL and TEST_REDIS_URL):
        raise pytest.UsageError(
            "CI must run against PostgreSQL and Redis: set STEMMA_TEST_DATABASE_URL "
            "and STEMMA_TEST_REDIS_URL"
        )


#: Tests that take seconds each (a real browser, real server processes, the command line
#: as a process) go first, so the workers share them out instead of one worker ending the
#: run alone with them.
SLOW_FIRST = (
    "tests/browser/",
    "tests/test_cli.py",
    "tests/realtime/test_processes.py",
    "tests/test_fuzz_forms.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--skip-drills"):
        drills = [item for item in items if item.get_closest_marker("drill")]
        if drills:
            config.hook.pytest_deselected(items=drills)
            items[:] = [item for item in items if not item.get_closest_marker("drill")]
    items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))


#: The young collection every 10,000 objects, as ``stemma serve`` has it
#: (``app.realtime.serving``); the older ones as often as Python's defaults make them.
TEST_GC_THRESHOLDS = (10_000, 10, 10)


def pytest_collection_finish(session: pytest.Session) -> None:
    """The collector tuned for the test process, once the tests are collected: what is
    loaded by then (the app's modules, every test module and fixture) is frozen, never
    walked again, and young collections come less often. A fifth of a test process's
    CPU went into collections, most of it full ones walking those same modules again and
    again. Every object a test makes is collected as before; only when differs."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*TEST_GC_THRESHOLDS)


def pytest_report_header() -> list[str]:
    database = "PostgreSQL" if TEST_DATABASE_URL else "SQLite"
    broker = "Redis" if TEST_REDIS_URL else "in-process"
    return [f"stemma: database {database}, broker {broker}"]


def asyncpg_url(url: str) -> str:
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+asyncpg://" + url[len(scheme) :]
    return url


def worker_database_url(url: str, worker: str | None) -> str:
    """The database of one xdist worker: ``<name>_gw0`` beside the run's ``<name>``, so
    workers never see each other's rows; without xdist the run's database itself."""
    if not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


def _plain_url(url: str) -> str:
    """``url`` as asyncpg itself takes it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _create_database(run_url: str, database: str) -> None:
    """Create ``database`` beside the run's database, unless it exists already."""
    connection = await asyncpg.connect(_plain_url(run_url))
    try:
        exists = await connection.fetchval(
            "SELECT true FROM pg_database WHERE datname = $1", database
        )
        if not exists:
            await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()


async def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


#: The app connects as an ordinary role, as in production, so PostgreSQL's row-level
#: security applies to every test (a superuser would pass through it).
APP_ROLE = "stemma_app_test"


async def _create_app_role(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            # Two workers may get here at once: the loser of the race finds it made.
            await connection.execute(
                text(
                    f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}')"
                    f" THEN CREATE ROLE {APP_ROLE} LOGIN; END IF;"
                    " EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
                )
            )
            for statement in (
                f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}",
                # Tables that a migration test drops and re-creates get the same grants.
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
                f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}",
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
                f" GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}",
            ):
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


def app_role_url(owner_url: str) -> str:
    return (
        make_url(owner_url)
        .set(username=APP_ROLE, password=None)
        .render_as_string(hide_password=False)
    )


class PostgresCleaner:
    """Empties every table and restarts every id at 1 after a test, through one
    connection that the worker keeps open, in one round trip.

    DELETE, children first, rather than TRUNCATE: a test leaves a few rows, and TRUNCATE
    makes new files for every table and index (seconds for all of them at once). The
    connection lives on an event loop of its own, since each test has its own loop.

    It also keeps a copy of every row aside (``snapshot``) and puts it back
    (``restore``): the browser tests' demo is made once per worker and copied in."""

    def __init__(self, owner_url: str) -> None:
        dialect = postgresql.dialect()
        deletes = [
            str(table.delete().compile(dialect=dialect))
            for table in reversed(Base.metadata.sorted_tables)
        ]
        restarts = (
            "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c"
            " WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"
        )
        # Statements sent together run as one transaction.
        self._statements = "; ".join([*deletes, restarts])
        self._loop = asyncio.new_event_loop()
        self._connection = self._loop.run_until_complete(asyncpg.connect(_plain_url(owner_url)))

    def clean(self) -> None:
        self._loop.run_until_complete(self._connection.execute(self._statements))

    def snapshot(self, schema: str) -> None:
        """Copy every table's rows and every sequence's position aside, into ``schema``
        (a name of the tests' own making, as are the tables')."""
        statements = [f'DROP SCHEMA IF EXISTS "{schema}" CASCADE', f'CREATE SCHEMA "{schema}"']
        statements += [
            f'CREATE TABLE "{schema}"."{table.name}" AS TABLE public."{table.name}"'
            for table in Base.metadata.sorted_tables
        ]
        positions = "SELECT sequencename AS name, last_value FROM pg_sequences"
        statements.append(
            f'CREATE TABLE "{schema}"."_sequences" AS {positions} WHERE schemaname = \'public\''
        )
        self._loop.run_until_complete(self._connection.execute("; ".join(statements)))

    def restore(self, schema: str) -> None:
        """Put back what ``snapshot`` saved, in one round trip: the tables are empty, as
        the cleaner ran after the test before."""
        statements = [
            f'INSERT INTO public."{table.name}" SELECT * FROM "{schema}"."{table.name}"'  # noqa: S608
            for table in Base.metadata.sorted_tables
        ]
        put_back = "setval(format('public.%I', name)::regclass, coalesce(last_value, 1), last_value IS NOT NULL)"
        statements.append(f'SELECT {put_back} FROM "{schema}"."_sequences"')  # noqa: S608
        self._loop.run_until_complete(self._connection.execute("; ".join(statements)))

    def close(self) -> None:
        self._loop.run_until_complete(self._connection.close())
        self._loop.close()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per run (per worker under xdist): a template SQLite file, or the
    worker's PostgreSQL database, made beside the run's one when missing."""
    if TEST_DATABASE_URL:
        run_url = asyncpg_url(TEST_DATABASE_URL)
        url = worker_database_url(run_url, XDIST_WORKER)
        if url != run_url:
            asyncio.run(_create_database(run_url, make_url(url).database or ""))
        asyncio.run(_reset_postgres(url))
        upgrade(url)
        asyncio.run(_create_app_role(url))
        return url
    template = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{template}")
    return str(template)


@pytest.fixture(scope="session")
def postgres_cleaner(migrated_database: str) -> Iterator[PostgresCleaner]:
    cleaner = PostgresCleaner(migrated_database)
    try:
        yield cleaner
    finally:
        cleaner.close()


@pytest.fixture
def database_url(
    migrated_database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A clean, migrated database for one test."""
    if TEST_DATABASE_URL:
        cleaner: PostgresCleaner = request.getfixturevalue("postgres_cleaner")
        yield app_role_url(migrated_database)
        cleaner.clean()
    else:
        path = tmp_path / "stemma.db"
        shutil.copyfile(migrated_database, path)
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        redis_url=TEST_REDIS_URL,
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        base_url="http://localhost",
        run_worker_in_process=False,
        # Redis channels ignore the database number: a prefix of the test's own keeps
        # workers (and runs) that share one Redis from hearing each other's events.
        redis_channel_prefix=f"test-{uuid.uuid4().hex}:",
    )


class _EnginesKept:
    """The PostgreSQL engine of the ``app`` fixture, kept for the next test's app.

    On PostgreSQL every test's app connects to the same database as the same role, and
    an engine keeps what it compiled of every statement (SQLAlchemy's compiled cache, by
    engine: some 20 % of a test's CPU went into compiling again what the test before
    had compiled). So the app of the ``app`` fixture gets the engine the test before
    used, made by the same ``create_engine`` with the same arguments, its pool emptied
    (the test before's app disposed of it on shutdown; its connections were on that
    test's event loop). Only the compiled statements are shared: connections, their
    row-level security settings and every row are the test's own. An engine a test
    added event listeners to is not kept. Any other app (made in a test, by the
    command line, a server) makes its own engine, as before."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, int], tuple[AsyncEngine, int]] = {}

    @staticmethod
    def _listeners(engine: AsyncEngine) -> int:
        dispatches = (engine.sync_engine.dispatch, engine.sync_engine.pool.dispatch)
        return sum(len(getattr(d, name)) for d in dispatches for name in d._event_names)

    def create_app(self, settings: Settings) -> Quart:
        real = stemma.create_engine

        def engine_for(url: str, pool_size: int = 20, **options: Any) -> AsyncEngine:
            if options or not url.startswith("postgresql"):
                return real(url, pool_size, **options)
            kept = self._kept.pop((url, pool_size), None)
            if kept is not None and self._listeners(kept[0]) == kept[1]:
                engine = kept[0]
                engine.sync_engine.dispose(close=False)
            else:
                engine = real(url, pool_size)
            self._kept[(url, pool_size)] = (engine, self._listeners(engine))
            return engine

        stemma.create_engine = engine_for  # type: ignore[assignment]
        try:
            return create_app(settings)
        finally:
            stemma.create_engine = real  # type: ignore[assignment]


_ENGINES_KEPT = _EnginesKept()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Quart]:
    application = _ENGINES_KEPT.create_app(settings)
    application.config["TESTING"] = True
    async with application.test_app():
        yield application


@pytest.fixture
def client(app: Quart) -> QuartClient:
    return app.test_client()


@pytest.fixture
def session_factory(app: Quart) -> async_sessionmaker[AsyncSession]:
    return app.extensions["stemma"].session_factory


@pytest.fixture
async def db(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture
async def owner_db(db: AsyncSession, migrated_database: str) -> AsyncIterator[AsyncSession]:
    """A session that sees every municipality's rows, for a test to check what was
    written (with ``all_tenants`` for the ORM's hook): on PostgreSQL the tables' owner,
    since the app's role sees one municipality at a time and no setting changes that;
    on SQLite the test's own session."""
    if not TEST_DATABASE_URL:
        yield db
        return
    engine = create_engine(migrated_database, pool_size=1)
    try:
        async with create_session_factory(engine)() as session:
            yield session
    finally:
        await engine.dispose()


# --- the demo -----------------------------------------------------------------------------

#: Per worker: where the rows ``create_demo(session_factory)`` wrote are kept (a PostgreSQL
#: schema or a SQLite file), by the hour in the demo's zone they were made.
_MADE_DEMOS: dict[str, str] = {}


@pytest.fixture
async def demo_made(
    request: pytest.FixtureRequest,
    session_factory: async_sessionmaker[AsyncSession],
    database_url: str,
) -> None:
    """The demo municipality in the test's database, as ``create_demo(session_factory)``
    makes it into an empty one.

    Making it costs seconds of CPU and a dozen tests only read it, so the first such
    test of a worker makes it and keeps a copy of its rows (every row, id and sequence
    position, as the demo wrote them); the others get the copy. The copy is kept by the
    hour in the demo's zone, as the demo places its course session on today.
    ``tests/demo/test_demo_creation.py`` makes the demo itself, every time."""
    async with session_factory() as session:
        with outside_tenants():
            tenants = await session.scalar(select(func.count()).select_from(Tenant))
    assert tenants == 0, "the demo is made into an empty database: ask for it first"
    hour = dt.datetime.now(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d %H")
    cleaner: PostgresCleaner | None = (
        request.getfixturevalue("postgres_cleaner") if TEST_DATABASE_URL else None
    )
    copy = _MADE_DEMOS.get(hour)
    if copy is not None:
        if cleaner is not None:
            # The cleaner's connection runs on a loop of its own, not the test's.
            await asyncio.to_thread(cleaner.restore, copy)
        else:
            await session_factory.kw["bind"].dispose()
            copy_sqlite(copy, make_url(database_url).database or "")
        return
    created, _logins = await create_demo(session_factory)
    assert created
    if cleaner is not None:
        copy = f"made_demo_{len(_MADE_DEMOS)}"
        await asyncio.to_thread(cleaner.snapshot, copy)
    else:
        folder = request.getfixturevalue("tmp_path_factory").mktemp("made-demo")
        copy = str(folder / "stemma.db")
        copy_sqlite(make_url(database_url).database or "", copy)
    _MADE_DEMOS[hour] = copy


def copy_sqlite(source: str, target: str) -> None:
    """Copy a SQLite database whole, its write-ahead log included."""
    with sqlite3.connect(source) as reading, sqlite3.connect(target) as writing:
        reading.backup(writing)


# --- role fixtures ------------------------------------------------------------------------


@pytest.fixture
async def tenant(db: AsyncSession) -> Any:
    return await factories.make_tenant(db, slug="lund", name="Lunds kommun")


@pytest.fixture
async def other_tenant(db: AsyncSession) -> Any:
    return await factories.make_tenant(db, slug="malmo", name="Malmö stad")


@pytest.fixture
async def admin(db: AsyncSession, tenant: Any) -> Any:
    return await factories.make_user(db, tenant, "admin")


@pytest.fixture
async def planner(db: AsyncSession, tenant: Any) -> Any:
    return await factories.make_user(db, tenant, "planner")


@pytest.fixture
async def coordinator(db: AsyncSession, tenant: Any) -> Any:
    return await factories.make_user(db, tenant, "coordinator")


@pytest.fixture
async def clerk(db: AsyncSession, tenant: Any) -> Any:
    return await factories.make_user(db, tenant, "clerk")


@pytest.fixture
async def outsider(db: AsyncSession, other_tenant: Any) -> Any:
    """An administrator of another municipality: must see nothing of ``tenant``."""
    return await factories.make_user(db, other_tenant, "admin", email="outsider@malmo.test")


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[PasswordHasher]:
    """Argon2 with its lowest costs in the test process: at the real ones (about 0.13 s
    a hash here) the users the tests make and sign in cost minutes over the suite. The
    same code runs; only the cost parameters differ, and a hash made with the real
    ones (the demo's, a server started by a browser test) still verifies, since Argon2
    reads them from the hash. ``tests/core/test_security.py`` checks the real ones."""
    real, real_dummy = security._hasher, security._DUMMY_HASH
    security._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    # What an unknown email is checked against costs as much as a known one's hash.
    security._DUMMY_HASH = security._hasher.hash(security.new_token(16))
    yield real
    security._hasher, security._DUMMY_HASH = real, real_dummy


@pytest.fixture(autouse=True, scope="session")
def route_builders_made_once() -> Iterator[None]:
    """Werkzeug compiles every route of every app: it parses the rule into the parts its
    matcher walks and the regular expressions of its variables, and makes a URL builder
    (Python source made, parsed and compiled); that was some 85 % of ``create_app``, and
    the tests make an app each. What it makes depends only on the rule, its defaults and
    the map's converters and options, so within the test process each rule is compiled
    once and every app's rule gets what it made: the same parts, trace and builders,
    and converters of its own made by the same calls. The same code as Werkzeug's, run
    once."""
    real = Rule.compile
    made: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def compile_rule(rule: Rule) -> None:
        routing = rule.map
        assert routing is not None
        domain = (rule.host if routing.host_matching else rule.subdomain) or ""
        key = (
            rule.rule,
            domain,
            routing.host_matching,
            rule.merge_slashes,
            tuple(sorted(routing.converters.items(), key=lambda item: item[0])),
            tuple(sorted((k, repr(v)) for k, v in (rule.defaults or {}).items())),
        )
        compiled = made.get(key)
        if compiled is None:
            calls: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = []
            converter_for = rule.get_converter

            def recording(name: str, kind: str, args: Any, kwargs: Any) -> Any:
                calls.append((name, kind, args, kwargs))
                return converter_for(name, kind, args, kwargs)

            rule.get_converter = recording  # type: ignore[method-assign]
            try:
                real(rule)
            finally:
                del rule.get_converter
            made[key] = (
                tuple(rule._parts),
                tuple(rule._trace),
                tuple(calls),
                rule._build.__func__,  # type: ignore[attr-defined]
                rule._build_unknown.__func__,  # type: ignore[attr-defined]
            )
            return
        parts, trace, calls, build, build_unknown = compiled
        rule._parts = list(parts)
        rule._trace = list(trace)
        rule._converters = {}
        for name, kind, args, kwargs in calls:
            rule._converters[name] = rule.get_converter(name, kind, args, kwargs)
            rule.arguments.add(name)
        rule._build = build.__get__(rule, None)
        rule._build_unknown = build_unknown.__get__(rule, None)

    Rule.compile = compile_rule  # type: ignore[method-assign]
    yield
    Rule.compile = real  # type: ignore[method-assign]


class _TemplatesCompiledOnce(BytecodeCache):
    """Jinja's code for each template, kept for every app of the test process.

    Each test makes an app, and each app a Jinja environment that compiled every
    template it drew again (lexed, parsed, Python source made and compiled: some 30 %
    of the CPU of a test that draws pages). Jinja's bytecode cache is made for this:
    the code is kept by template, file and source checksum, and by what of the
    environment changes the code made, so a template whose source changed is compiled
    again. Only the compiling is shared: each app still loads, renders and checks its
    own templates."""

    def __init__(self) -> None:
        self._codes: dict[tuple[Any, ...], tuple[str, CodeType]] = {}

    def get_bucket(
        self, environment: Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        key, checksum = self.get_cache_key(name, filename), self.get_source_checksum(source)
        bucket = Bucket(environment, key, checksum)
        made = self._codes.get(self._key(environment, bucket.key))
        if made is not None and made[0] == bucket.checksum:
            bucket.code = made[1]
        return bucket

    def set_bucket(self, bucket: Bucket) -> None:
        if bucket.code is not None:
            key = self._key(bucket.environment, bucket.key)
            self._codes[key] = (bucket.checksum, bucket.code)

    @staticmethod
    def _key(environment: Environment, template: str) -> tuple[Any, ...]:
        autoescape = environment.autoescape
        return (
            template,
            environment.is_async,
            environment.optimized,
            tuple(sorted(environment.extensions)),
            getattr(autoescape, "__qualname__", autoescape),
            environment.block_start_string,
            environment.variable_start_string,
            environment.comment_start_string,
            environment.line_statement_prefix,
            environment.line_comment_prefix,
            environment.trim_blocks,
            environment.lstrip_blocks,
            environment.newline_sequence,
            environment.keep_trailing_newline,
            environment.finalize is not None,
        )


@pytest.fixture(autouse=True, scope="session")
def templates_compiled_once() -> Iterator[None]:
    """Every app of the test process takes its templates' code from one
    ``_TemplatesCompiledOnce`` (through the Jinja options Quart makes its environment
    with)."""
    real = Quart.jinja_options
    Quart.jinja_options = {**real, "bytecode_cache": _TemplatesCompiledOnce()}
    yield
    Quart.jinja_options = real


# --- guards -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fail_on_error_logs(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Any ERROR logged during a test fails it, unless the test says it expects one."""
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("allow_error_logs"):
        return
    errors = [
        record
        for phase in ("setup", "call")
        for record in caplog.get_records(phase)  # type: ignore[arg-type]
        if record.levelno >= logging.ERROR
    ]
    if errors:
        pytest.fail("ERROR logged: " + "; ".join(record.getMessage() for record in errors))
