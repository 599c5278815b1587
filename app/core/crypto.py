"""Encrypting single values at rest (a bank account) and deriving per-purpose keys.

Every key comes from the app's secret key through HKDF with its own purpose label, so
the key that encrypts bank accounts is never the one that signs cookies. A stored
value reads ``enc1:<key id>:<Fernet token>``: ``enc1`` is the format, the key id names
the key that wrote it, so a value written before the secret key changed can still be
read with the old key (pass it in ``previous``) while new values use the new one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: The stored format; a new format gets a new prefix, and both are read while old rows live.
FORMAT = "enc1"
_SALT = b"stemma"


class DecryptionError(Exception):
    """A value was written with a key this process does not have, or was altered."""


def derive_key(secret: str, purpose: str, length: int = 32) -> bytes:
    """A key for one purpose (``"field-encryption"``, ``"calendar-token"``) from a secret."""
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=_SALT, info=purpose.encode("utf-8")
    ).derive(secret.encode("utf-8"))


def keyed_digest(key: bytes, message: str) -> str:
    """An HMAC-SHA256 of ``message`` as URL-safe text without padding (43 characters)."""
    digest = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _key_id(key: bytes) -> str:
    # Names the key without revealing it: a hash of the key, not of the secret.
    return hashlib.sha256(b"stemma-key-id:" + key).hexdigest()[:8]


class FieldCipher:
    """Encrypts with the current secret's key; decrypts with it or any previous one."""

    PURPOSE = "field-encryption"

    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        keys = [derive_key(s, self.PURPOSE) for s in (secret, *previous) if s]
        if not keys:
            raise ValueError("a secret key is needed to encrypt")
        self._current_id = _key_id(keys[0])
        self._fernets = {
            _key_id(key): Fernet(base64.urlsafe_b64encode(key)) for key in reversed(keys)
        }

    def encrypt(self, plaintext: str) -> str:
        token = self._fernets[self._current_id].encrypt(plaintext.encode("utf-8"))
        return f"{FORMAT}:{self._current_id}:{token.decode('ascii')}"

    def decrypt(self, stored: str) -> str:
        """The plaintext; raises DecryptionError for an unknown key or a tampered value."""
        format_, _sep, rest = stored.partition(":")
        key_id, _sep, token = rest.partition(":")
        fernet = self._fernets.get(key_id) if format_ == FORMAT else None
        if fernet is None:
            raise DecryptionError("written with an unknown key or format")
        try:
            return fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as error:
            raise DecryptionError("the value does not match its key") from error

    def needs_reencryption(self, stored: str) -> bool:
        """Whether a value was written with an older key (re-encrypt it when convenient)."""
        return not stored.startswith(f"{FORMAT}:{self._current_id}:")
