"""The server's VAPID key (RFC 8292) for Web Push: read from the configuration, or made
once and kept under the data directory. The settings check a configured key with
``load_private_key`` when the process starts; ``app.core.outbox.push`` signs with it."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

#: Where a generated key is kept, under the data directory.
KEY_FILE = "vapid_private.pem"


def load_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM, or from its 32 raw bytes in base64url (the form
    ``web-push generate-vapid-keys`` prints). Raises ValueError saying what is wrong."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        else:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError, binascii.Error) as error:
        raise ValueError("is not a readable private key (PEM, or base64url raw)") from error
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("must be an elliptic-curve key on P-256 (prime256v1)")
    return key


@dataclass(frozen=True)
class VapidKeys:
    private_key: ec.EllipticCurvePrivateKey

    @property
    def application_server_key(self) -> str:
        """The public key as browsers take it in ``pushManager.subscribe()``: the
        uncompressed point in base64url without padding."""
        raw = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def kept_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Read the kept key, or make it. The new key is written to a private temporary file
    and linked into place, so of two processes starting at once exactly one key wins
    and nobody ever reads a half-written file."""
    if not path.exists():
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return load_private_key(path.read_text(encoding="ascii"))
