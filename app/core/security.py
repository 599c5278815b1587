"""Password hashing and random tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()

# A real hash verified when the account does not exist, so an unknown email costs
# as much time as a known one and timing does not tell them apart. Made once, at the
# hasher's parameters, from a random password nobody kept (hashing at import cost
# every process, each command and server, a fifth of a second of CPU).
_DUMMY_AT_REAL_COSTS = (
    "$argon2id$v=19$m=65536,t=3,p=4$SEVWXoIQBs9AvyRZCLm+uA$WQp4Xw"
    "uNPB6svqzaOOq83g/yoAuDY1bLAf9kNH9L1Sk"
)
_DUMMY_HASH = _DUMMY_AT_REAL_COSTS

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """Tokens are long and random, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
