"""Stemma: election planning and election-day operations for municipalities."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined
from quart import Quart, Response, abort, g, request, session
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from werkzeug.routing import IntegerConverter

from app import planning, portal, public
from app.api import register_api
from app.core.accounts.mail import use_account_mail_renderer
from app.core.accounts.municipalities import get_tenant_by_slug
from app.core.accounts.users import membership_in
from app.core.auth import can, load_user
from app.core.csrf import csrf_is_valid
from app.core.db import create_engine, create_session_factory
from app.core.db_role import refuse_privileged_role
from app.core.error_pages import register_error_pages
from app.core.headers import add_security_headers
from app.core.health import blueprint as health
from app.core.hygiene import StemmaRequest, body_too_large, check_request
from app.core.i18n import pick_locale, set_locale
from app.core.outbox.mail import MailTransport, mail_transport_for
from app.core.outbox.push import WebPushTransport
from app.core.outbox.rows import OUTBOX_QUEUED
from app.core.outbox.sms import SmsTransport, sms_transport_for
from app.core.settings import SUPPORTED_LOCALES, Settings, load_settings
from app.core.templating import configure_jinja
from app.core.tenant_gate import enter_request_tenant, leave_request_tenant
from app.core.web import db, is_api_request
from app.domain import models as _domain_models  # noqa: F401  (every table known to the ORM)
from app.domain.labels import ASSIGNMENT_STATE
from app.domain.messaging.account_mail import render_account_mail
from app.domain.registers.population.flags import FLAG_LABELS
from app.domain.registers.protection import NAME_PERMISSION, postal_address, shown_name
from app.jobs.outbox import OutboxWorker
from app.realtime.broker import Broker, create_broker
from app.realtime.ws import register_realtime

ROOT = Path(__file__).resolve().parent.parent

log = logging.getLogger(__name__)


class BoundedIntConverter(IntegerConverter):
    """``<int:...>`` in URLs stops at the database's integer range: a longer number is
    a plain 404, not an overflow deep in a query."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


@dataclass
class Runtime:
    """What one app process holds: settings, the engine, the broker, the workers."""

    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    broker: Broker
    mail: MailTransport
    sms: SmsTransport
    outbox_worker: OutboxWorker
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


def create_app(settings: Settings | None = None) -> Quart:
    settings = settings or load_settings()
    app = Quart(
        __name__,
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
    )
    app.url_map.converters["int"] = BoundedIntConverter
    app.request_class = StemmaRequest
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="stemma",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=settings.session_max_hours * 3600,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
    )
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    session_factory = create_session_factory(engine)
    mail = mail_transport_for(settings)
    sms = sms_transport_for(settings)
    app.extensions["stemma"] = Runtime(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        broker=create_broker(settings.redis_url, settings.redis_channel_prefix),
        mail=mail,
        sms=sms,
        outbox_worker=OutboxWorker(
            session_factory,
            mail,
            sms=sms,
            base_url=settings.base_url,
            push=WebPushTransport(settings, session_factory),
        ),
    )

    # The accounts' mail (core) in the municipality's own words (the domain's messages).
    use_account_mail_renderer(render_account_mail)
    _configure_templates(app)
    _register_request_hooks(app)
    _register_blueprints(app)
    _register_lifecycle(app)
    register_error_pages(app)
    return app


def _configure_templates(app: Quart) -> None:
    app.jinja_env.undefined = StrictUndefined
    configure_jinja(app)
    # The words for an assignment's state, for every template: a fragment drawn after
    # an HTMX change must not depend on its view passing them (it printed the codes).
    app.jinja_env.globals["assignment_states"] = ASSIGNMENT_STATE
    # A person's address is read only through this (None: protected or none known).
    app.jinja_env.globals["postal_address"] = postal_address
    # A protected person's name for the office only; "Protected person" to others.
    app.jinja_env.globals["register_flag_labels"] = FLAG_LABELS
    app.jinja_env.globals["person_name"] = lambda person: shown_name(person, can(NAME_PERMISSION))


def _register_request_hooks(app: Quart) -> None:
    runtime: Runtime = app.extensions["stemma"]

    @app.url_value_preprocessor
    def _take_tenant_slug(_endpoint: str | None, values: dict[str, Any] | None) -> None:
        g.tenant_slug = values.pop("tenant", None) if values else None

    @app.url_defaults
    def _add_tenant_slug(endpoint: str, values: dict[str, Any]) -> None:
        tenant = g.get("tenant")
        if (
            "tenant" not in values
            and tenant is not None
            and app.url_map.is_endpoint_expecting(endpoint, "tenant")
        ):
            values["tenant"] = tenant.slug

    @app.before_request
    async def _prepare_request() -> Response | None:
        g.tenant = None
        g.membership = None
        g.user = None
        if request.path.startswith("/static/"):
            return None
        g.locale_token = set_locale(runtime.settings.default_locale)
        # Before anything reads the body: its limit, and text that cannot be stored.
        await check_request()
        # A body past its view's limit is never read, so neither is its token: the
        # view answers it without reading it (``body_too_large()``).
        if not is_api_request() and not body_too_large() and not await csrf_is_valid():
            abort(400, description="csrf")
        await load_user()
        slug = g.get("tenant_slug")
        if slug is not None:
            tenant = await get_tenant_by_slug(db(), slug)
            if tenant is None:
                abort(404)
            enter_request_tenant(tenant)
            if g.user is not None:
                g.membership = await membership_in(db(), g.user.id, tenant.id)
        user = g.user
        tenant = g.tenant
        set_locale(
            pick_locale(
                session.get("lang"),
                user.locale if user else None,
                _browser_language(),
                tenant.locale if tenant else None,
                runtime.settings.default_locale,
            )
        )
        return None

    @app.after_request
    async def _finish_response(response: Response) -> Response:
        database = g.get("_db")
        if database is not None and database.info.pop(OUTBOX_QUEUED, False):
            runtime.outbox_worker.wake()
        return add_security_headers(response, runtime.settings.secure_cookies)

    @app.teardown_request
    async def _close_request(_error: BaseException | None) -> None:
        database = g.pop("_db", None)
        if database is not None:
            await database.close()
        leave_request_tenant()


def _browser_language() -> str | None:
    """On the public site, a visitor who has chosen no language yet (nor signed in)
    reads the site in their browser's language, if the municipality offers it."""
    if request.blueprint != "public":
        return None
    return request.accept_languages.best_match(SUPPORTED_LOCALES)


def _register_blueprints(app: Quart) -> None:
    app.register_blueprint(health)
    app.register_blueprint(public.create_accounts_blueprint())
    app.register_blueprint(planning.create_blueprint(), url_prefix="/<tenant>/planning")
    app.register_blueprint(portal.create_blueprint(), url_prefix="/<tenant>/portal")
    register_api(app)
    register_realtime(app)
    # Registered last: "/<tenant>/" must not shadow anything above.
    app.register_blueprint(public.create_site_blueprint(), url_prefix="/<tenant>")


def _register_lifecycle(app: Quart) -> None:
    runtime: Runtime = app.extensions["stemma"]

    @app.before_serving
    async def _start_workers() -> None:
        # Before anything is served: as a role past row-level security, nothing is.
        await refuse_privileged_role(
            runtime.engine, runtime.settings.allow_privileged_database_role
        )
        if runtime.settings.run_worker_in_process:
            runtime.tasks.append(asyncio.create_task(runtime.outbox_worker.run()))

    @app.after_serving
    async def _stop() -> None:
        for task in runtime.tasks:
            task.cancel()
        for task in runtime.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        runtime.tasks.clear()
        await runtime.broker.close()
        await runtime.engine.dispose()
