"""Passwords: Argon2id at real costs in the app (the tests run with the lowest ones)."""

from __future__ import annotations

from argon2 import PasswordHasher

from app.core import security


def test_the_app_hashes_passwords_with_argon2id_at_recommended_costs(
    cheap_password_hashing: PasswordHasher,
) -> None:
    real = cheap_password_hashing
    # RFC 9106's second recommendation, argon2-cffi's default: 64 MiB, 3 passes, 4 lanes.
    assert real.memory_cost >= 65536 and real.time_cost >= 3 and real.parallelism >= 4
    stored = real.hash("correct horse battery staple")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    # A hash made at the real costs verifies under the tests' cheap hasher too.
    assert security.verify_password(stored, "correct horse battery staple")
    assert not security.verify_password(stored, "wrong")


def test_an_unknown_account_is_checked_at_the_real_costs(
    cheap_password_hashing: PasswordHasher,
) -> None:
    """The hash an unknown email is checked against is made at the hasher's parameters
    (were they raised, it would cost less than a real account's and tell them apart)."""
    real = cheap_password_hashing
    assert not real.check_needs_rehash(security._DUMMY_AT_REAL_COSTS)
    assert security._DUMMY_AT_REAL_COSTS.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
