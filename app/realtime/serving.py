"""How Hypercorn serves the live sockets: pings, message size, no compression."""

from __future__ import annotations

from typing import Any

import hypercorn.protocol.ws_stream
from hypercorn.config import Config
from wsproto.extensions import PerMessageDeflate

#: Pings keep idle sockets open through proxies and NAT that drop quiet connections
#: (often after 60 s), and make a vanished phone's connection fail sooner.
PING_SECONDS = 20.0
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
