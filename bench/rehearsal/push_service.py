"""A push service on loopback standing in for the browser vendors' (as the tests'
``tests/core/test_push.py``): each subscription its own browser keys and endpoint; every
push received is decrypted and kept as (browser, tag), so the audit can tell a push
delivered twice from two pushes."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass
class Browser:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes


class PushService:
    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        #: (browser name, the push's tag) per push received, in order.
        self.received: list[tuple[str, str]] = []
        self.unreadable = 0
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                service.record(self.path, self.rfile.read(length))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def subscribe(self, name: str) -> dict[str, Any]:
        """A browser's ``PushSubscription`` JSON for a new browser ``name``."""
        browser = self.browsers[name] = Browser(
            ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
        )
        public = browser.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.origin}/push/{name}",
            "keys": {"p256dh": b64url(public), "auth": b64url(browser.auth)},
        }

    def record(self, path: str, body: bytes) -> None:
        name = path.rsplit("/", 1)[-1]
        browser = self.browsers.get(name)
        try:
            assert browser is not None
            plain = http_ece.decrypt(
                body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm"
            )
            tag = str(json.loads(plain)["tag"])
        except Exception:
            with self.lock:
                self.unreadable += 1
            return
        with self.lock:
            self.received.append((name, tag))

    def counted(self) -> Counter[tuple[str, str]]:
        with self.lock:
            return Counter(self.received)
