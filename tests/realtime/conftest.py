"""Live-socket fixtures: the app served by a real Hypercorn on a free port, and clients.

The ``app`` fixture is replaced here: sockets need a real server, and Hypercorn runs
the app's startup and shutdown itself (so no ``test_app()`` around it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypercorn.config import Config
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import ClientConnection, connect

from app import create_app
from app.core.accounts.sessions import start_session
from app.core.events import record_event, wait_for_publishing
from app.core.models import Event, User
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.realtime.serving import configure_websockets
from tests.support.serving import served

#: The origin of the test settings' base URL (``http://localhost``).
ORIGIN = "http://localhost"


@contextlib.asynccontextmanager
async def serving(application: Quart) -> AsyncIterator[str]:
    """Serve ``application`` with Hypercorn as ``stemma serve`` configures it; yields
    the ``ws://`` base address."""

    def live(config: Config) -> None:
        configure_websockets(config)
        # Hypercorn's ping task keeps a closed connection's task until its next tick; a
        # short interval lets the server stop at once (and exercises the pings).
        config.websocket_ping_interval = 0.2

    async with served(application, live) as base:
        try:
            yield "ws://" + base.removeprefix("http://")
        finally:
            await wait_for_publishing()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Quart]:
    application = create_app(settings)
    # Not TESTING: a socket handler's error is then logged with its traceback (and fails
    # the test) instead of propagating into Quart's debug page, which needs a request.
    async with serving(application) as url:
        application.config["TEST_WS_URL"] = url
        yield application


async def session_cookie(app: Quart, user: User) -> str:
    """A signed-in browser's cookie for ``user``, as the login page would set it."""
    runtime = app.extensions["stemma"]
    async with runtime.session_factory() as db:
        token = await start_session(db, user, runtime.settings)
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return f"stemma={serializer.dumps({'auth': token})}"


def ws_url(app: Quart, tenant: str = "lund", **query: Any) -> str:
    from urllib.parse import urlencode

    address = f"{app.config['TEST_WS_URL']}/{tenant}/ws"
    return f"{address}?{urlencode(query)}" if query else address


def open_socket(
    app: Quart,
    cookie: str | None = None,
    origin: str | None = ORIGIN,
    tenant: str = "lund",
    **query: Any,
) -> Any:
    """A client socket (an async context manager) the way a browser page opens one."""
    headers = {"Cookie": cookie} if cookie else None
    return connect(
        ws_url(app, tenant, **query),
        origin=origin,  # type: ignore[arg-type]
        additional_headers=headers,
        proxy=None,
        open_timeout=5,
    )


async def receive(socket: ClientConnection, seconds: float = 5) -> dict[str, Any]:
    message = await asyncio.wait_for(socket.recv(), seconds)
    data = json.loads(message)
    assert isinstance(data, dict)
    return data


async def receive_event(socket: ClientConnection, seconds: float = 5) -> dict[str, Any]:
    """The next event, skipping the server's ``ws.*`` notices."""
    while True:
        message = await receive(socket, seconds)
        if not str(message.get("type", "")).startswith("ws."):
            return message


async def record(
    db: AsyncSession, tenant_id: int, topic: str, type: str = "test.happened", **payload: Any
) -> Event:
    """Record one event and commit it, as a domain service would."""
    with tenant_scope(tenant_id):
        event = await record_event(db, topic=topic, type=type, payload=payload)
        await db.commit()
    return event
