"""Signing in with a password, within the login rate limits, and the sessions that
keep a browser signed in."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import ratelimit
from app.core.accounts.users import normalise_email, record_in_each_tenant
from app.core.audit import Actor
from app.core.events import record_access_change
from app.core.models import AuthSession, User, utcnow
from app.core.security import (
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    verify_password,
)
from app.core.settings import Settings


@dataclass(frozen=True)
class LoginLimits:
    #: Failures for one account from one address: the guessing limit.
    per_account_and_address: ratelimit.Limit
    #: Failures for one account from anywhere: high, so others cannot easily lock it.
    per_account: ratelimit.Limit
    #: Failures from one address for any account: stops spraying many accounts.
    per_address: ratelimit.Limit

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        window = timedelta(minutes=settings.login_window_minutes)
        failures = settings.login_failures_per_account
        return cls(
            per_account_and_address=ratelimit.Limit("login.account_address", failures, window),
            per_account=ratelimit.Limit("login.account", failures * 10, window),
            per_address=ratelimit.Limit("login.address", settings.login_attempts_per_ip, window),
        )


async def authenticate(
    session: AsyncSession,
    limits: LoginLimits,
    email: str,
    password: str,
    ip_address: str,
) -> User | None:
    """Check a password. Unknown accounts and wrong passwords look the same.

    Every attempt is recorded and committed *before* the password is checked, so
    parallel guesses count against each other; a successful sign-in then removes its
    own marks. Raises RateLimited without checking the password when any limit is
    exceeded; a known and an unknown email are limited alike.
    """
    email = normalise_email(email)
    address = ratelimit.address_key(ip_address)
    counted = [
        (limits.per_account_and_address, f"{email}|{address}"),
        (limits.per_account, email),
        (limits.per_address, address),
    ]
    marks = [ratelimit.hit(session, limit, key) for limit, key in counted]
    await session.commit()
    for limit, key in counted:
        wait = await ratelimit.retry_after(session, limit, key, counted=True)
        if wait is not None:
            raise ratelimit.RateLimited(wait)
    user = await session.scalar(select(User).where(User.email == email))
    # Argon2 takes a noticeable fraction of a second: keep it off the event loop, and
    # give the connection back first (nothing is written here): under a burst of
    # sign-ins, connections held through the hash starved the pool, and check-ins
    # waited 30 s for one and failed.
    await session.commit()
    ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        return None
    if password_needs_rehash(user.password_hash or ""):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    user.last_login_at = utcnow()
    for mark in marks:
        await session.delete(mark)
    await ratelimit.clear(session, limits.per_account_and_address, f"{email}|{address}")
    await record_in_each_tenant(session, Actor.for_user(user, ip_address), "accounts.login", user)
    await session.commit()
    return user


async def start_session(session: AsyncSession, user: User, settings: Settings) -> str:
    """Create a new signed-in session and return its token (for the cookie)."""
    token = new_token()
    now = utcnow()
    session.add(
        AuthSession(
            token_hash=hash_token(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_max_hours),
        )
    )
    await session.commit()
    return token


def session_lapses_at(auth: AuthSession, settings: Settings) -> datetime:
    """When a session stops being good unless it is used meanwhile: its end, or its
    idle limit counted from its last use, whichever comes first."""
    idle_limit = auth.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    return min(auth.expires_at, idle_limit)


async def resume_signed_in(
    session: AsyncSession, token: str, settings: Settings
) -> tuple[User, AuthSession] | None:
    """The user of a session token and its session, or None when it is unknown, idle
    too long or expired (then it is deleted) or its user was deactivated."""
    auth = await session.scalar(
        select(AuthSession).where(AuthSession.token_hash == hash_token(token))
    )
    if auth is None:
        return None
    now = utcnow()
    if now >= session_lapses_at(auth, settings):
        await session.delete(auth)
        record_access_change(session, auth.user_id)
        await session.commit()
        return None
    user = await session.get(User, auth.user_id)
    if user is None or not user.is_active:
        return None
    # Touch at most once a minute so browsing does not write on every request.
    if now - auth.last_seen_at > timedelta(minutes=1):
        auth.last_seen_at = now
        await session.commit()
    return user, auth


async def resume_session(session: AsyncSession, token: str, settings: Settings) -> User | None:
    """The user of a session token, or None when it is unknown, idle too long or expired."""
    found = await resume_signed_in(session, token, settings)
    return found[0] if found is not None else None


async def end_session(session: AsyncSession, token: str) -> None:
    """Sign a browser out: its session is deleted, and its user's open sockets are
    checked again (the one this session opened closes)."""
    ended = await session.scalars(
        delete(AuthSession)
        .where(AuthSession.token_hash == hash_token(token))
        .returning(AuthSession.user_id)
    )
    for user_id in ended.all():
        record_access_change(session, user_id)
    await session.commit()
