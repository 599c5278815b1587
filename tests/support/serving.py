"""Serving the app over real HTTP in a test, for callers that are other programs (the
local SMS gateway posting its callbacks, WebSocket clients)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import hypercorn.asyncio
from hypercorn.config import Config
from quart import Quart

from tests.factories import free_port


@contextlib.asynccontextmanager
async def served(
    application: Quart, configure: Callable[[Config], None] | None = None
) -> AsyncIterator[str]:
    """Serve ``application`` with Hypercorn on loopback (``configure`` may change the
    configuration first); yields its ``http://`` base."""
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.graceful_timeout = 2
    config.accesslog = None
    if configure is not None:
        configure(config)
    stop = asyncio.Event()
    server = asyncio.create_task(
        hypercorn.asyncio.serve(application, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
    )
    try:
        for _ in range(200):
            if server.done():
                server.result()
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            await writer.wait_closed()
            break
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(server, 15)
