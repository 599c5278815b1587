"""Use cases for municipalities, accounts, sign-in, password reset and API tokens."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from app.core import ratelimit
from app.core.audit import Actor, record
from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.models import (
    ApiToken,
    AuthSession,
    Membership,
    PasswordResetToken,
    Tenant,
    User,
    utcnow,
)
from app.core.outbox.mail import queue_email
from app.core.permissions import ROLES
from app.core.security import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    hash_token,
    new_token,
    password_needs_rehash,
    verify_password,
)
from app.core.settings import Settings
from app.core.tenancy import ALL_TENANTS, tenant_scope
from app.core.validation import EMAIL_PATTERN
from app.domain.elections.norm_templates import standard_templates
from app.domain.models import NormTemplate
from app.domain.registers.roles import default_role_types

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
#: First path segments the app itself uses; a tenant may not take them as its slug.
RESERVED_SLUGS = frozenset(
    {
        "api",
        "static",
        "login",
        "logout",
        "password",
        "lang",
        "healthz",
        "readyz",
        "admin",
        "planning",
        "portal",
        "account",
        "openapi.json",
        "favicon.ico",
        "robots.txt",
        "sw.js",
    }
)
API_TOKEN_PREFIX = "stm_"  # noqa: S105 - a public prefix, not a secret


class AccountsError(DomainError):
    pass


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_password_strength(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountsError(
            _(
                "The password must be at least %(count)s characters long.",
                count=MIN_PASSWORD_LENGTH,
            ),
            field,
        )


# --- municipalities -----------------------------------------------------------------


async def create_tenant(
    session: AsyncSession,
    actor: Actor,
    slug: str,
    name: str,
    locale: str = "sv",
    timezone: str = "Europe/Stockholm",
) -> Tenant:
    """Create a municipality. Refuses a malformed, reserved or taken slug."""
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise AccountsError(
            _("Use lowercase letters, digits and hyphens only (at most 63)."), "slug"
        )
    if slug in RESERVED_SLUGS:
        raise AccountsError(_("This address is reserved; choose another."), "slug")
    if not name.strip():
        raise AccountsError(_("Enter a name."), "name")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise AccountsError(_("Unknown time zone."), "timezone") from None
    if await session.scalar(select(Tenant.id).where(Tenant.slug == slug)):
        raise AccountsError(_("This address is already taken."), "slug")
    tenant = Tenant(slug=slug, name=name.strip(), locale=locale, timezone=timezone)
    session.add(tenant)
    await session.flush()
    with tenant_scope(tenant.id):
        session.add_all(default_role_types(tenant.id, locale))
        session.add_all(
            NormTemplate(tenant_id=tenant.id, name=name, station_kind=kind, shifts=shifts)
            for name, kind, shifts in standard_templates(locale)
        )
        await record(session, actor, "tenancy.tenant.created", tenant, data={"slug": slug})
        await session.commit()
    return tenant


async def get_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug))


# --- users and memberships ------------------------------------------------------------


async def create_user(
    session: AsyncSession,
    actor: Actor,
    tenant: Tenant,
    email: str,
    name: str,
    role: str,
    password: str | None = None,
) -> User:
    """Add a person who signs in to ``tenant`` with ``role``.

    An existing account (same email) is given a membership instead of a second
    account; a second membership in the same tenant is refused.
    """
    email = normalise_email(email)
    if not EMAIL_PATTERN.match(email):
        raise AccountsError(_("Enter a valid email address."), "email")
    if role not in ROLES:
        raise AccountsError(_("Choose a role."), "role")
    if password is not None:
        check_password_strength(password)
    user = await session.scalar(select(User).where(User.email == email))
    with tenant_scope(tenant.id):
        if user is None:
            if not name.strip():
                raise AccountsError(_("Enter a name."), "name")
            user = User(
                email=email,
                name=name.strip(),
                password_hash=hash_password(password) if password else None,
            )
            session.add(user)
            await session.flush()
        elif await session.scalar(select(Membership.id).where(Membership.user_id == user.id)):
            raise AccountsError(_("This person already has an account here."), "email")
        membership = Membership(user_id=user.id, role=role, tenant_id=tenant.id)
        session.add(membership)
        await session.flush()
        await record(session, actor, "accounts.user.added", user, data={"role": role})
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            raise AccountsError(_("This person already has an account here."), "email") from None
    return user


async def invite_user(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    tenant: Tenant,
    email: str,
    name: str,
    role: str,
    locale: str,
) -> User:
    """Add a member and mail them a link (valid 7 days) to choose their password.

    An address that already has an account (in another municipality) is refused:
    joining it here would show this municipality that person's account details and
    sign-ins without their consent. An operator can add it with ``stemma user create``.
    """
    if await session.scalar(select(User.id).where(User.email == normalise_email(email))):
        raise AccountsError(
            _("This address already has a Stemma account. Ask your operator to add it."),
            "email",
        )
    user = await create_user(session, actor, tenant, email, name, role)
    if user.password_hash is None:
        with tenant_scope(tenant.id):
            await _mail_password_link(
                session, settings, user, "invitation", locale, timedelta(days=7), tenant
            )
            await session.commit()
    return user


async def memberships_of(session: AsyncSession, user: User) -> list[Membership]:
    """Every tenant the user belongs to: deliberately across tenants, for sign-in."""
    rows = await session.scalars(
        select(Membership)
        .where(Membership.user_id == user.id)
        .options(selectinload(Membership.tenant))
        .order_by(Membership.id)
        .execution_options(**{ALL_TENANTS: True})
    )
    return list(rows)


async def membership_in(session: AsyncSession, user_id: int, tenant_id: int) -> Membership | None:
    with tenant_scope(tenant_id):
        return await session.scalar(select(Membership).where(Membership.user_id == user_id))


async def active_membership(
    session: AsyncSession, user_id: int, tenant_id: int
) -> Membership | None:
    """The membership of an active user in the tenant, with its user loaded (one query),
    or None for a stranger, a deactivated account or an unknown id."""
    with tenant_scope(tenant_id):
        return await session.scalar(
            select(Membership)
            .join(Membership.user)
            .options(contains_eager(Membership.user))
            .where(Membership.user_id == user_id, User.is_active.is_(True))
        )


async def _record_in_each_tenant(
    session: AsyncSession, actor: Actor, code: str, user: User
) -> None:
    """Account events belong to no single municipality: each one the user is in sees them."""
    tenant_ids = await session.scalars(
        select(Membership.tenant_id)
        .where(Membership.user_id == user.id)
        .execution_options(**{ALL_TENANTS: True})
    )
    targets = list(tenant_ids.all())
    if not targets:
        await record(session, actor, code, user)
    for tenant_id in targets:
        # Written inside each tenant's scope so PostgreSQL's row policies accept it.
        with tenant_scope(tenant_id):
            await record(session, actor, code, user)
            await session.flush()


# --- signing in -------------------------------------------------------------------------


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
    # Argon2 takes a noticeable fraction of a second: keep it off the event loop.
    ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        return None
    if password_needs_rehash(user.password_hash or ""):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    user.last_login_at = utcnow()
    for mark in marks:
        await session.delete(mark)
    await ratelimit.clear(session, limits.per_account_and_address, f"{email}|{address}")
    await _record_in_each_tenant(session, Actor.for_user(user, ip_address), "accounts.login", user)
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


async def resume_session(session: AsyncSession, token: str, settings: Settings) -> User | None:
    """The user of a session token, or None when it is unknown, idle too long or expired."""
    auth = await session.scalar(
        select(AuthSession).where(AuthSession.token_hash == hash_token(token))
    )
    if auth is None:
        return None
    now = utcnow()
    idle_limit = auth.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if now >= auth.expires_at or now >= idle_limit:
        await session.delete(auth)
        await session.commit()
        return None
    user = await session.get(User, auth.user_id)
    if user is None or not user.is_active:
        return None
    # Touch at most once a minute so browsing does not write on every request.
    if now - auth.last_seen_at > timedelta(minutes=1):
        auth.last_seen_at = now
        await session.commit()
    return user


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(AuthSession).where(AuthSession.token_hash == hash_token(token)))
    await session.commit()


# --- password reset ---------------------------------------------------------------------


async def user_to_mail(
    session: AsyncSession,
    email: str,
    ip_address: str,
    per_address: ratelimit.Limit,
    per_account: ratelimit.Limit,
) -> User | None:
    """The active account to mail a link to (a reset or a sign-in link), or None.

    Both requests are counted and committed first, so parallel requests count against
    each other. Raises RateLimited when this address asked too often; an account asked
    for too often is simply not mailed, exactly as an unknown one, so the answer never
    tells whether an account exists.
    """
    email = normalise_email(email)
    address = ratelimit.address_key(ip_address)
    ratelimit.hit(session, per_address, address)
    ratelimit.hit(session, per_account, email)
    await session.commit()
    await ratelimit.check(session, per_address, address, counted=True)
    user = await session.scalar(select(User).where(User.email == email))
    if (
        user is None
        or not user.is_active
        or await ratelimit.retry_after(session, per_account, email, counted=True)
    ):
        return None
    return user


async def request_password_reset(
    session: AsyncSession,
    settings: Settings,
    email: str,
    locale: str,
    ip_address: str,
) -> None:
    """Mail a reset link when the account exists; say nothing either way.

    Limited per address and per email like sign-in, so the form cannot be used
    to flood someone's inbox.
    """
    window = timedelta(hours=1)
    user = await user_to_mail(
        session,
        email,
        ip_address,
        ratelimit.Limit("reset.address", 20, window),
        ratelimit.Limit("reset.account", 3, window),
    )
    if user is None:
        return
    await _mail_password_link(
        session,
        settings,
        user,
        "password_reset",
        locale,
        timedelta(minutes=settings.password_reset_minutes),
    )
    # The requester is anonymous: whoever typed the address, not necessarily its owner.
    await _record_in_each_tenant(
        session,
        Actor(label="anonymous", ip_address=ip_address),
        "accounts.password_reset.requested",
        user,
    )
    await session.commit()


async def _mail_password_link(
    session: AsyncSession,
    settings: Settings,
    user: User,
    template: str,
    locale: str,
    valid_for: timedelta,
    tenant: Tenant | None = None,
) -> None:
    """Queue an email with a single-use link that sets the user's password."""
    token = new_token()
    reset = PasswordResetToken(
        token_hash=hash_token(token), user_id=user.id, expires_at=utcnow() + valid_for
    )
    session.add(reset)
    await session.flush()
    queue_email(
        session,
        to=user.email,
        template=template,
        locale=user.locale or locale,
        idempotency_key=f"{template}:{reset.id}",
        sensitive=True,
        tenant_id=tenant.id if tenant else None,
        name=user.name,
        # In the query, not the path: access logs record paths only.
        link=f"{settings.base_url}/password/reset?token={token}",
        hours=max(1, int(valid_for.total_seconds() // 3600)),
        minutes=int(valid_for.total_seconds() // 60),
        municipality=tenant.name if tenant else "",
    )


async def find_reset_token(session: AsyncSession, token: str) -> PasswordResetToken | None:
    """The reset token if it is unused and not expired."""
    reset = await session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == hash_token(token))
    )
    if reset is None or reset.used_at is not None or utcnow() >= reset.expires_at:
        return None
    return reset


async def reset_password(
    session: AsyncSession, token: str, new_password: str, ip_address: str
) -> User:
    """Set a new password with a mailed token. The token works once; every session ends."""
    reset = await find_reset_token(session, token)
    if reset is None:
        raise AccountsError(_("This link has expired or has already been used."), "token")
    check_password_strength(new_password)
    user = await session.get(User, reset.user_id)
    if user is None or not user.is_active:
        raise AccountsError(_("This link has expired or has already been used."), "token")
    # Conditional, so two requests with the same token cannot both succeed; and every
    # other unused link of this user stops working too.
    claimed = await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == reset.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise AccountsError(_("This link has expired or has already been used."), "token")
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    user.password_hash = await asyncio.to_thread(hash_password, new_password)
    await session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    await _record_in_each_tenant(
        session,
        Actor(label=user.email, user_id=user.id, ip_address=ip_address),
        "accounts.password_reset.completed",
        user,
    )
    await session.commit()
    return user


# --- API tokens -------------------------------------------------------------------------


async def create_api_token(session: AsyncSession, actor: Actor, name: str) -> tuple[ApiToken, str]:
    """Create a token for the current tenant; the secret is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountsError(_("Enter a name of at most 100 characters."), "name")
    secret = API_TOKEN_PREFIX + new_token()
    token = ApiToken(
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[: len(API_TOKEN_PREFIX) + 6],
        created_by_id=actor.user_id,
    )
    session.add(token)
    await session.flush()
    await record(session, actor, "api.token.created", token, data={"name": name})
    await session.commit()
    return token, secret


async def list_api_tokens(session: AsyncSession) -> list[ApiToken]:
    return list(await session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))


async def revoke_api_token(session: AsyncSession, actor: Actor, token_id: int) -> ApiToken:
    token = await session.scalar(select(ApiToken).where(ApiToken.id == token_id))
    if token is None:
        raise NotFound(_("Not found."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await record(session, actor, "api.token.revoked", token, data={"name": token.name})
        await session.commit()
    return token


async def authenticate_api_token(session: AsyncSession, secret: str) -> ApiToken | None:
    """The live token for a bearer secret, across tenants (the token decides the tenant)."""
    # Its municipality comes in the same query: every API call needs both.
    token = await session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.tenant))
        .where(ApiToken.token_hash == hash_token(secret), ApiToken.revoked_at.is_(None))
        .execution_options(**{ALL_TENANTS: True})
    )
    if token is None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        with tenant_scope(token.tenant_id):
            token.last_used_at = now
            await session.commit()
    return token


async def set_user_locale(session: AsyncSession, user: User, locale: str) -> None:
    """Remember the language a user chose, for every device and for their emails."""
    if user.locale != locale:
        user.locale = locale
        await session.commit()


async def list_members(session: AsyncSession) -> list[Membership]:
    """Everyone with an account in the current tenant, by name."""
    rows = await session.scalars(
        select(Membership)
        .join(Membership.user)
        .options(selectinload(Membership.user))
        .order_by(User.name, User.email)
    )
    return list(rows)


async def change_role(
    session: AsyncSession, actor: Actor, membership_id: int, role: str
) -> Membership:
    """Give a member another role. An administrator cannot demote the last administrator."""
    if role not in ROLES:
        raise AccountsError(_("Choose a role."), "role")
    membership = await session.scalar(select(Membership).where(Membership.id == membership_id))
    if membership is None:
        raise NotFound(_("Not found."))
    if membership.role == "admin" and role != "admin":
        admins = await session.scalars(select(Membership.id).where(Membership.role == "admin"))
        if len(list(admins)) <= 1:
            raise AccountsError(_("The municipality must keep at least one administrator."), "role")
    old = membership.role
    membership.role = role
    await record(
        session,
        actor,
        "accounts.membership.role_changed",
        membership,
        data={"from": old, "to": role},
    )
    await session.commit()
    return membership
