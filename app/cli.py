"""The ``stemma`` command: serve, migrate, demo data, tenants, users, API tokens, workers."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from hypercorn.config import Config
from hypercorn.middleware import ProxyFixMiddleware
from hypercorn.utils import wrap_app
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from app import create_app
from app.core.access_log import ACCESS_LOG_FORMAT, AccessLogger
from app.core.accounts.api_tokens import SCOPES, create_api_token
from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.accounts.users import AccountsError, create_user
from app.core.audit import Actor
from app.core.crypto import FieldCipher
from app.core.db import create_engine, create_session_factory
from app.core.db_role import UnsafeDatabaseRoleError, refuse_privileged_role
from app.core.errors import DomainError
from app.core.migrations import upgrade
from app.core.outbox.mail import mail_transport_for
from app.core.outbox.push import WebPushTransport
from app.core.outbox.sms import sms_transport_for
from app.core.settings import Settings, SettingsError, load_settings
from app.core.tenancy import tenant_scope
from app.demo import DEMO_PASSWORD, DEMO_SLUG, LARGE_SLUG, create_demo
from app.demo.election_day import move_election_day
from app.domain.archive.export import ArchiveError, Written, export_tenant
from app.domain.archive.restore import Imported, import_archive
from app.domain.municipalities import create_municipality
from app.domain.ops.access import local_today
from app.domain.registers.population import refresh as population
from app.domain.registers.population.extract import ExtractRegister
from app.jobs.election_reminders import send_reminders_everywhere
from app.jobs.outbox import OutboxWorker, lower_cpu_priority
from app.jobs.reminders import remind_everywhere
from app.jobs.retention import erase_expired_everywhere
from app.realtime.serving import configure_websockets, tune_garbage_collector
from app.realtime.serving import serve as serve_app
from app.realtime.supervisor import Supervisor

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        click.echo("Stemma cannot start; fix these settings:\n" + str(error), err=True)
        sys.exit(2)


def _run[T](work: Callable[[Settings, Any], Awaitable[T]], serving: bool = False) -> T:
    """Run ``work(settings, session_factory)`` with an engine that is closed afterwards;
    ``serving`` (a long-running process) refuses a role row-level security lets past."""

    settings = _settings()

    async def main() -> T:
        engine = create_engine(settings.database_url)
        try:
            if serving:
                await _refuse_privileged_role(engine, settings)
            return await work(settings, create_session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


async def _refuse_privileged_role(engine: AsyncEngine, settings: Settings) -> None:
    try:
        await refuse_privileged_role(engine, settings.allow_privileged_database_role)
    except UnsafeDatabaseRoleError as error:
        click.echo(str(error), err=True)
        await engine.dispose()
        sys.exit(2)


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@click.group()
def main() -> None:
    """Stemma: plan and run elections."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@main.command()
def migrate() -> None:
    """Bring the database schema up to date."""

    settings = _settings()
    upgrade(settings.database_url)
    click.echo("Database is up to date.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--proxy", is_flag=True, help="Trust X-Forwarded-* from one reverse proxy.")
def serve(host: str, port: int, workers: int, proxy: bool) -> None:
    """Serve the app with Hypercorn."""

    settings = _settings()
    if workers > 1 and (settings.is_sqlite or not settings.redis_url):
        click.echo(
            "Several workers need PostgreSQL (STEMMA_DATABASE_URL) and Redis (STEMMA_REDIS_URL):"
            " SQLite and the in-process broker serve one process only.",
            err=True,
        )
        sys.exit(2)
    config = Config()
    config.bind = [f"{host}:{port}"]
    config.workers = workers
    config.accesslog = "-"
    config.errorlog = "-"
    config.access_log_format = ACCESS_LOG_FORMAT
    config.logger_class = AccessLogger
    config.graceful_timeout = 10
    # Live sockets: pings through proxies, small client messages, no per-message deflate.
    configure_websockets(config)
    if not settings.is_sqlite:

        async def check() -> None:
            engine = create_engine(settings.database_url, pool_size=1)
            try:
                await _refuse_privileged_role(engine, settings)
            finally:
                await engine.dispose()

        try:
            asyncio.run(check())
        except (OSError, SQLAlchemyError) as error:
            logging.getLogger("app.cli").error("cannot reach the database: %s", error)
            sys.exit(1)
    click.echo(f"Stemma is serving on http://{host}:{port}  (database: {_describe_db(settings)})")
    if workers == 1:
        app: Any = create_app(settings)
        if proxy:
            app = ProxyFixMiddleware(app, mode="legacy", trusted_hops=1)
        tune_garbage_collector()
        asyncio.run(serve_app(wrap_app(app, config.wsgi_max_body_size, "asgi"), config))
    else:
        config.application_path = "app.wsgi:proxied_app" if proxy else "app.wsgi:app"
        sys.exit(Supervisor(config, workers).run())


def _describe_db(settings: Settings) -> str:
    return "SQLite" if settings.is_sqlite else "PostgreSQL"


def _election_day_option(value: str | None) -> Any:
    """``--election-day``: ``today`` (in the demo municipality's time zone) or a date."""
    if value is None or value == "today":
        return value
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use 'today' or a date such as 2026-09-13") from None


@main.command()
@click.option("--size", type=click.Choice(["small", "large"]), default="small", show_default=True)
@click.option(
    "--election-day",
    "election_day",
    metavar="today|YYYY-MM-DD",
    callback=lambda _context, _parameter, value: _election_day_option(value),
    help="Move the demo's coming election (the large demo's staffed one; its shifts, "
    "advance voting and courses with it) so that election day is this day: 'today' to "
    "try election day live, with check-in open at whatever hour it is run.",
)
def demo(size: str, election_day: Any) -> None:
    """Create the demo municipality and its users (once), and print the logins."""

    async def work(settings: Settings, factory: Any) -> tuple[bool, list[tuple[str, str]], Any]:
        created, logins = await create_demo(factory, size=size, base_url=settings.base_url)
        moved = None
        if election_day is not None:
            async with factory() as session:
                moved = await move_election_day(
                    session,
                    DEMO_SLUG if size == "small" else LARGE_SLUG,
                    None if election_day == "today" else election_day,
                    staffed=size == "large",
                )
        return created, logins, moved

    created, logins, moved = _run(work)
    if created:
        click.echo("Created the demo municipality.")
    if moved is not None:
        click.echo(f"Election day of {moved.name}: {moved.new_day} (was {moved.old_day}).")
        if moved.first_shifts is not None and moved.check_in_opens is not None:
            click.echo(
                f"Its first shifts start at {moved.first_shifts:%H:%M};"
                f" check-in is open from {moved.check_in_opens:%Y-%m-%d %H:%M}."
            )
        if election_day == "today":
            click.echo(
                "Its shift reminder and wake-up SMS are due now: the worker of `stemma serve`"
                " sends them within a minute (to var/outbox unless SMTP and an SMS gateway"
                " are set)."
            )
        if moved.turnout_slots:
            click.echo(f"Turnout reported for {', '.join(moved.turnout_slots)}.")
        if moved.cleared:
            click.echo(
                f"Cleared {moved.cleared} records of the earlier election day"
                " (check-ins, station states, incidents, turnout)."
            )
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for role, email in logins:
        click.echo(f"  {role:<12} {email}")


@main.group()
def tenant() -> None:
    """Municipalities."""


@tenant.command("create")
@click.option("--slug", required=True, help="The address part: /<slug>/")
@click.option("--name", required=True)
@click.option("--locale", type=click.Choice(["sv", "da", "en"]), default="sv", show_default=True)
@click.option("--timezone", default="Europe/Stockholm", show_default=True)
def tenant_create(slug: str, name: str, locale: str, timezone: str) -> None:
    """Create a municipality."""

    async def work(settings: Settings, factory: Any) -> None:
        async with factory() as session:
            try:
                created = await create_municipality(
                    session, Actor.system("cli"), slug, name, locale, timezone
                )
            except AccountsError as error:
                _fail(f"{error.field}: {error.message}")
            click.echo(f"Created municipality {created.name} at /{created.slug}/")

    _run(work)


@tenant.command("export")
@click.option("--tenant", "slug", required=True, help="The municipality's slug.")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="A .tar.gz"
)
def tenant_export(slug: str, out: Path) -> None:
    """Write one municipality's complete data to an archive (docs/tenant-archive.md)."""

    async def work(settings: Settings, factory: Any) -> Written:
        engine = factory.kw["bind"]
        if engine.dialect.name == "postgresql":
            # One snapshot for every table: rows written meanwhile are in all or none.
            engine = engine.execution_options(isolation_level="REPEATABLE READ")
        async with factory(bind=engine) as session:
            return await export_tenant(
                session, Actor.system("cli"), FieldCipher(settings.secret_key), slug, out
            )

    try:
        written = _run(work)
    except ArchiveError as error:
        _fail(error.message)
    click.echo(
        f"Wrote {written.rows} rows of {written.tables} tables to {written.path}"
        f" (sha256 {written.sha256})."
    )


@tenant.command("import")
@click.option(
    "--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--slug", default=None, help="A new address; the archive's when left out.")
def tenant_import(path: Path, slug: str | None) -> None:
    """Read a municipality's archive into this instance, in one transaction."""

    async def work(settings: Settings, factory: Any) -> Imported:
        async with factory() as session:
            return await import_archive(
                session, Actor.system("cli"), FieldCipher(settings.secret_key), path, slug
            )

    try:
        imported = _run(work)
    except (ArchiveError, AccountsError) as error:
        _fail(f"{error.field}: {error.message}" if error.field else error.message)
    click.echo(
        f"Imported {imported.rows} rows into /{imported.slug}/"
        f" ({imported.users_made} new accounts)."
    )


@main.group()
def user() -> None:
    """People who sign in."""


@user.command("create")
@click.option("--tenant", "slug", required=True)
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option(
    "--role", type=click.Choice(["admin", "planner", "coordinator", "clerk"]), required=True
)
@click.option("--name", default=None, help="Defaults to the part of the email before @.")
def user_create(slug: str, email: str, password: str, role: str, name: str | None) -> None:
    """Create a user in a municipality with a role."""

    async def work(settings: Settings, factory: Any) -> None:
        async with factory() as session:
            found = await get_tenant_by_slug(session, slug)
            if found is None:
                _fail(f"no municipality with the slug {slug!r}")
                return
            try:
                await create_user(
                    session,
                    Actor.system("cli"),
                    found,
                    email,
                    name or email.split("@")[0],
                    role,
                    password,
                )
            except AccountsError as error:
                _fail(f"{error.field}: {error.message}")
            click.echo(f"Created {role} {email} in {found.name}")

    _run(work)


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--tenant", "slug", required=True)
@click.option("--name", required=True)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(SCOPES),
    help="What it may do; repeat for more (default: everything).",
)
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The last day it works (default: a year from now).",
)
def token_create(slug: str, name: str, scopes: tuple[str, ...], until: Any) -> None:
    """Create an API token; the token alone is printed on the last line."""

    async def work(settings: Settings, factory: Any) -> None:
        async with factory() as session:
            found = await get_tenant_by_slug(session, slug)
            if found is None:
                _fail(f"no municipality with the slug {slug!r}")
                return
            with tenant_scope(found.id):
                try:
                    _created, secret = await create_api_token(
                        session,
                        Actor.system("cli"),
                        name,
                        scopes=scopes or None,
                        expires_on=until.date() if until else None,
                    )
                except AccountsError as error:
                    _fail(f"{error.field}: {error.message}")
                    return
            click.echo(f"Created API token {name!r} for {found.name}. It is shown only once:")
            click.echo(secret)

    _run(work)


@main.group()
def register() -> None:
    """The population register (SPAR/Navet, CPR)."""


@register.command("refresh")
@click.option("--tenant", "slug", required=True)
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A register extract: CSV/XLSX with a header, or fixed-width .dat.",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; save nothing.")
def register_refresh(slug: str, path: Path, dry_run: bool) -> None:
    """Check the municipality's people against an extract file and write the changes
    (every change or, at a bad row, none)."""

    content = path.read_bytes()

    async def work(settings: Settings, factory: Any) -> None:
        async with factory() as session:
            found = await get_tenant_by_slug(session, slug)
            if found is None:
                _fail(f"no municipality with the slug {slug!r}")
                return
            country = {"da": "DK"}.get(found.locale, "SE")
            with tenant_scope(found.id):
                try:
                    reading = await population.read_extract(path.name, content, country)
                except DomainError as error:
                    _fail(error.message)
                    return
                for row, column, message in reading.problems:
                    click.echo(f"row {row}, {column or '-'}: {message}", err=True)
                if not reading.ok:
                    _fail(f"{len(reading.problems)} problems: nothing saved")
                    return
                source = ExtractRegister((entry for _row, entry in reading.entries), path.name)
                today = await local_today(session)
                if dry_run:
                    done = await population.look_up_people(
                        session, Actor.system("cli"), source, country, today
                    )
                else:
                    done = await population.refresh_people(
                        session, Actor.system("cli"), source, country, today
                    )
            changed = sum(1 for change in done.changes if change.fields)
            click.echo(
                f"{found.name}: looked up {done.looked_up}, found {done.found},"
                f" {'would change' if dry_run else 'changed'} {changed}"
                f" (protected {done.count('protected')}, died {done.count('died')},"
                f" moved out {done.count('moved_out')}, under 18 {len(done.under_age)})"
            )

    _run(work)


@main.command()
def retention() -> None:
    """Erase applications, contact messages, inactive people and pay data past each
    municipality's retention periods."""

    async def work(settings: Settings, factory: Any) -> None:
        erased = await erase_expired_everywhere(factory)
        for slug, counts in erased.items():
            click.echo(
                f"{slug}: erased {counts.applications} applications,"
                f" {counts.messages} contact messages, {counts.people} inactive people,"
                f" pay data of {counts.pay_data} erased people"
            )
        if not erased:
            click.echo("Nothing to erase.")

    _run(work)


@main.command()
def reminders() -> None:
    """Send the day-before reminders of tomorrow's course sessions, and the elections'
    reminders whose window is open now (each only once)."""

    async def work(settings: Settings, factory: Any) -> None:
        sent = await remind_everywhere(factory, settings.base_url, from_hour=0)
        for slug, count in sent.items():
            click.echo(f"{slug}: sent {count} course reminders")
        told = await send_reminders_everywhere(factory, settings.base_url, round_seconds=None)
        for slug, count in told.items():
            click.echo(f"{slug}: reminded {count} people of their election")
        if not sent and not told:
            click.echo("No reminders due.")

    _run(work)


@main.command()
def worker() -> None:
    """Deliver the outbox (run this beside `serve` when several web processes run)."""

    async def work(settings: Settings, factory: Any) -> None:
        lower_cpu_priority(settings.worker_nice)
        click.echo("Outbox worker running; stop with Ctrl+C.")
        await OutboxWorker(
            factory,
            mail_transport_for(settings),
            sms=sms_transport_for(settings),
            base_url=settings.base_url,
            push=WebPushTransport(settings, factory),
        ).run()

    with contextlib.suppress(KeyboardInterrupt):
        _run(work, serving=True)


if __name__ == "__main__":
    main()
