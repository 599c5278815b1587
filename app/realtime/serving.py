"""How Hypercorn serves the live sockets: pings, message size, no compression, a
garbage collector that does not stop the process for seconds at 5,000 sockets, and a
clean stop (sockets told to reconnect elsewhere, requests under way answered)."""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import signal
import ssl
import threading
import time
import weakref
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any, Protocol

import hypercorn.protocol.ws_stream
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.typing import AppWrapper
from wsproto.extensions import PerMessageDeflate

log = logging.getLogger(__name__)

#: Pings keep idle sockets open through proxies and NAT that drop quiet connections
#: (often after 60 s), and make a vanished phone's connection fail sooner. 25 s, as
#: Socket.IO's default: well inside those limits, and each ping costs every idle
#: socket a little CPU (bench --only realtime, idle CPU at 5,000 sockets).
PING_SECONDS = 25.0
#: Clients only send small subscription requests; a large message is refused.
MAX_MESSAGE_BYTES = 64 * 1024


def configure_websockets(config: Config) -> None:
    """Apply the live sockets' settings to a Hypercorn config (``stemma serve``, tests)."""
    config.websocket_ping_interval = PING_SECONDS
    config.websocket_max_message_size = MAX_MESSAGE_BYTES
    decline_permessage_deflate()


class _DeclinedPerMessageDeflate(PerMessageDeflate):
    def accept(self, offer: str) -> None:
        return None


def decline_permessage_deflate() -> None:
    """Answer every permessage-deflate offer with "no": sockets go uncompressed.

    Hypercorn hard-codes ``PerMessageDeflate()`` with wsproto's defaults: 32 KiB
    windows and context takeover, so each socket keeps a zlib compressor (about
    256 KiB) and a decompressor (about 40 KiB) for its whole life, some 300 KiB per
    socket, 3 GB for 10,000 phones. Our messages are small fragments, and the hub
    renders each once for all subscribers, while compression would redo the work for
    every socket. Hypercorn has no setting for it, so its handshake's extension class
    is replaced; wsproto then accepts no extension and frames go out as they are.
    Called from the app factory too, so each worker process of ``--workers N``
    (started fresh by multiprocessing's spawn) declines as well.
    """
    module: Any = hypercorn.protocol.ws_stream
    module.PerMessageDeflate = _DeclinedPerMessageDeflate


#: Python collects its youngest objects after 700 new ones by default, and an object
#: that lived through two such collections is old: with a request in flight for a few
#: tens of milliseconds, nearly all of its objects grow old before they die, and the
#: full collections they bring walk every object of every open socket. At 5,000
#: sockets one took 1.5 s, every few seconds of traffic (bench --only realtime).
#: The young collections stay small too, since each also stops the process: every
#: message a socket gets re-makes what its sender waits on (a coroutine, a future),
#: which outlives the youngest collection. With 20,000 new objects per young
#: collection and the middle generation collected every tenth, the middle one walked
#: some 150,000 such objects, 90-170 ms every 5 s of traffic and the bulk of the
#: check-in latency's p99; at 10,000 and every second, the longest pause was 65 ms, at
#: the same CPU. Full collections never start by themselves (the last number is out
#: of reach) ...
GC_THRESHOLDS = (10_000, 2, 1_000_000_000)
#: ... but run on this schedule: at 5,000 sockets one stops the process for about half
#: a second, so once in five minutes, not whenever old objects have piled up.
FULL_COLLECTION_SECONDS = 300.0


def tune_garbage_collector() -> None:
    """Set the serving process's collector: the startup's objects (modules, templates,
    the app) frozen, never walked again; young objects collected less often; the full
    collections on a schedule, by a thread of their own.

    Call once the app is built, before serving (``stemma serve``, each worker of
    ``--workers N``). Memory stays bounded: garbage without cycles is freed at once
    whatever the thresholds, young cycles by the young collections, and cycles among
    old objects (a socket long gone) by the next scheduled full collection.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    threading.Thread(target=_collect_on_schedule, name="gc-full", daemon=True).start()


def _collect_on_schedule() -> None:
    while True:
        time.sleep(FULL_COLLECTION_SECONDS)
        gc.collect()


# --- a clean stop ---------------------------------------------------------------------


class ClosesForRestart(Protocol):
    def close_for_restart(self) -> None: ...


#: What holds live sockets in this process (each app's hub), told when the server stops.
_ON_STOP: weakref.WeakSet[Any] = weakref.WeakSet()


def close_on_stop(holder: ClosesForRestart) -> None:
    """Have ``holder.close_for_restart()`` called when this process's server stops."""
    _ON_STOP.add(holder)


async def serve(
    app: AppWrapper,
    config: Config,
    *,
    sockets: Sockets | None = None,
    ready: ProcessEvent | None = None,
) -> None:
    """Serve ``app`` until SIGTERM or SIGINT (or, in a worker, until its supervisor is
    gone), then stop cleanly: listening stops, every live socket is told to reconnect
    elsewhere (close code 1012), requests under way are answered within the graceful
    timeout, and the app's shutdown runs. ``ready`` is set once the sockets listen.

    Hypercorn's own stop left open websockets alone until the graceful timeout, then
    cut them, each with an ERROR traceback; a phone holding its socket heard nothing
    that told it to reconnect elsewhere.
    """
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_about_cut_connections)
    stopping = asyncio.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stopping.set)
    parent = multiprocessing.parent_process()
    if parent is not None:
        # A worker outlives no supervisor (killed or not): it stops as if told to.
        loop.add_reader(parent.sentinel, stopping.set)

    async def stop_requested() -> None:
        if ready is not None:
            ready.set()
        await stopping.wait()
        log.info("stopping: live sockets are told to reconnect, requests under way finish")
        # Hypercorn stops listening in the next turns of the loop; clients wait a short
        # random moment before they reconnect, and reach another worker (or, with one
        # process, the server once it is started again; they retry until then).
        loop.call_soon(_close_live_sockets)

    try:
        await worker_serve(app, config, sockets=sockets, shutdown_trigger=stop_requested)
    finally:
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signal_number)
        if parent is not None:
            loop.remove_reader(parent.sentinel)


def _close_live_sockets() -> None:
    for holder in list(_ON_STOP):
        holder.close_for_restart()
    _stop_pinging()


def _stop_pinging() -> None:
    """End Hypercorn's ping tasks: stopping, no socket needs them.

    Each live socket has one, which pings and then sleeps PING_SECONDS without looking
    whether its socket closed meanwhile; its connection ends only when it wakes. The
    stop then waited for the graceful timeout and cut those connections (each logged as
    an ERROR traceback, below). A ping task cancelled ends quietly within its connection.
    """
    code = hypercorn.protocol.ws_stream.WSStream._send_pings.__code__
    for task in asyncio.all_tasks():
        if getattr(task.get_coro(), "cr_code", None) is code:
            task.cancel()


def _quiet_about_cut_connections(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's handler of uncaught errors: a connection cut at the end of the graceful
    timeout is a warning, not an ERROR traceback. (Python 3.12.1's ``asyncio.streams``
    asks a cancelled connection's task for its exception, which raises CancelledError
    into the loop's handler; Hypercorn cuts what is still open when the time is up.)"""
    if isinstance(context.get("exception"), asyncio.CancelledError):
        log.warning("stopping: a connection still open at the graceful timeout was cut")
        return
    if isinstance(context.get("exception"), ssl.SSLError):
        return  # a failed TLS handshake, as Hypercorn's own handler has it
    loop.default_exception_handler(context)
