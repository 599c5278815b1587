"""How Hypercorn serves the live sockets: pings, message size, no compression, and a
garbage collector that does not stop the process for seconds at 5,000 sockets."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

import hypercorn.protocol.ws_stream
from hypercorn.config import Config
from wsproto.extensions import PerMessageDeflate

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
