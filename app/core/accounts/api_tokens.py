"""API tokens: a municipality's bearer secrets for the JSON API. Only a hash is kept."""

from __future__ import annotations

import copy
import time as monotonic_clock
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.core.accounts.users import AccountsError
from app.core.across_tenants import tenant_id as across_tenant_id
from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _, lazy_gettext
from app.core.models import ApiToken, Tenant, utcnow
from app.core.models.accounts import API_TOKEN_LIFETIME
from app.core.security import hash_token, new_token
from app.core.tenancy import require_tenant_id, tenant_scope

API_TOKEN_PREFIX = "stm_"  # noqa: S105 - a public prefix, not a secret

#: What a token may be allowed, one area of the API each: read, or write (change). The
#: API asks ``<area>:read`` of a GET and ``<area>:write`` of anything else
#: (``app.api.scopes``); a municipality's website, which only submits applications,
#: gets ``applications:write`` alone and reads nothing back.
SCOPES = (
    "applications:read",
    "applications:write",
    "registers:read",
    "registers:write",
    "staffing:read",
    "staffing:write",
    "courses:read",
    "dispatches:read",
    "dispatches:write",
    "messaging:read",
    "pay:read",
    "materials:read",
    "checkins:write",
    "realtime:read",
    "audit:read",
)

#: What each scope lets a token do, as the token page shows it.
SCOPE_LABELS = {
    "applications:read": lazy_gettext("Read applications"),
    "applications:write": lazy_gettext("Submit applications (the municipality's website)"),
    "registers:read": lazy_gettext("Read people, premises and elections"),
    "registers:write": lazy_gettext("Change people, premises and elections"),
    "staffing:read": lazy_gettext("Read staffing"),
    "staffing:write": lazy_gettext("Change staffing"),
    "courses:read": lazy_gettext("Read courses and qualifications"),
    "dispatches:read": lazy_gettext("Read dispatches and their messages' states"),
    "dispatches:write": lazy_gettext("Create and send dispatches"),
    "messaging:read": lazy_gettext("Read message templates"),
    "pay:read": lazy_gettext("Read pay per district and the approved lines (no id numbers)"),
    "materials:read": lazy_gettext("Read materials: articles, rules, needs and deliveries"),
    "checkins:write": lazy_gettext("Check in on election day"),
    "realtime:read": lazy_gettext("Open live updates for a member"),
    "audit:read": lazy_gettext("Read the audit log"),
}

#: The longest a token may be made to work.
LONGEST_LIFETIME = timedelta(days=3 * 366)


async def create_api_token(
    session: AsyncSession,
    actor: Actor,
    name: str,
    scopes: Iterable[str] | None = None,
    expires_on: date | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for the current tenant; the secret is returned once and never stored.

    ``scopes`` (default: all) says what it may do; it works to the end of
    ``expires_on`` in the municipality's time zone (default: a year from now).
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountsError(_("Enter a name of at most 100 characters."), "name")
    chosen = list(SCOPES) if scopes is None else [scope for scope in SCOPES if scope in scopes]
    if not chosen or (scopes is not None and set(scopes) - set(SCOPES)):
        raise AccountsError(_("Choose what the token may do."), "scopes")
    now = utcnow()
    expires_at = now + API_TOKEN_LIFETIME
    if expires_on is not None:
        tenant = await session.get(Tenant, require_tenant_id())
        zone = ZoneInfo(tenant.timezone if tenant else "UTC")
        expires_at = datetime.combine(expires_on, time(23, 59, 59), zone)
        if expires_at <= now or expires_at > now + LONGEST_LIFETIME:
            raise AccountsError(
                _("Choose a day after today, at most three years ahead."), "expires_on"
            )
    secret = API_TOKEN_PREFIX + new_token()
    token = ApiToken(
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[: len(API_TOKEN_PREFIX) + 6],
        created_by_id=actor.user_id,
        scopes=chosen,
        expires_at=expires_at.astimezone(UTC),
    )
    session.add(token)
    await session.flush()
    await record(
        session,
        actor,
        "api.token.created",
        token,
        data={"name": name, "scopes": chosen, "expires_at": token.expires_at.isoformat()},
    )
    await session.commit()
    return token, secret


async def list_api_tokens(session: AsyncSession) -> list[ApiToken]:
    return list(await session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))


async def revoke_api_token(session: AsyncSession, actor: Actor, token_id: int) -> ApiToken:
    token = await session.scalar(select(ApiToken).where(ApiToken.id == token_id))
    if token is None:
        raise NotFound(_("Not found."))
    _forget_trusted(token.id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await record(session, actor, "api.token.revoked", token, data={"name": token.name})
        await session.commit()
    return token


#: The municipality and row of each token found by its hash, most recently used last: a
#: token never changes its municipality nor its hash, so once found, later calls read
#: its row directly instead of first asking across municipalities. Every check-in and
#: live-socket ticket of a busy election day comes with a token (bench --only costs).
#: Only found tokens are kept, so unknown secrets never fill it; bounded all the same.
_FOUND: OrderedDict[str, tuple[int, int]] = OrderedDict()
FOUND_KEPT = 1024
#: For this long after its row was read, a token is trusted as it was then, in this
#: process, without reading it again: a revocation reaches the other processes within
#: as long (this one's at once, ``revoke_api_token``); an expiry is checked every call.
TRUSTED_SECONDS = 5.0
#: Each token trusted so: until when (``monotonic_clock.monotonic()``), and its row's and its
#: municipality's columns as read, to make each call's own objects from.
_TRUSTED: dict[str, tuple[float, dict[str, Any], dict[str, Any]]] = {}


async def authenticate_api_token(session: AsyncSession, secret: str) -> ApiToken | None:
    """The unrevoked token for a bearer secret, across tenants (the token decides the
    tenant), expired or not: the caller answers an expired one with 401."""
    digest = hash_token(secret)
    trusted = _TRUSTED.get(digest)
    if trusted is not None and monotonic_clock.monotonic() < trusted[0]:
        return await _as_read(session, trusted[1], trusted[2])
    found = _FOUND.get(digest)
    token = None
    if found is not None:
        tenant_id, token_id = found
        token = await _unrevoked(session, tenant_id, digest, ApiToken.id == token_id)
        if token is None:
            # Revoked (or gone): asked across municipalities as any unknown secret is.
            _FOUND.pop(digest, None)
    if token is None:
        _TRUSTED.pop(digest, None)
        owner = await across_tenant_id(
            session,
            "stemma_api_token_tenant",
            (digest,),
            select(ApiToken.tenant_id).where(
                ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)
            ),
        )
        if owner is None:
            return None
        token = await _unrevoked(session, owner, digest)
        if token is None:
            return None
        _FOUND[digest] = (token.tenant_id, token.id)
        while len(_FOUND) > FOUND_KEPT:
            _FOUND.popitem(last=False)
    _FOUND.move_to_end(digest)
    now = utcnow()
    if token.expired(now):
        return token
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        with tenant_scope(token.tenant_id):
            token.last_used_at = now
            await session.commit()
    _trust(digest, token)
    return token


def _trust(digest: str, token: ApiToken) -> None:
    now = monotonic_clock.monotonic()
    for stale in [key for key, (until, _t, _m) in _TRUSTED.items() if until <= now]:
        del _TRUSTED[stale]
    if len(_TRUSTED) < FOUND_KEPT:
        _TRUSTED[digest] = (
            now + TRUSTED_SECONDS,
            _columns(token),
            _columns(token.tenant),
        )


def _forget_trusted(token_id: int) -> None:
    for key in [key for key, (_u, columns, _m) in _TRUSTED.items() if columns["id"] == token_id]:
        del _TRUSTED[key]


def _columns(instance: Any) -> dict[str, Any]:
    """The instance's column values as loaded (lists copied: a call may not change
    what the next one is made from)."""
    return {
        column.key: copy.copy(getattr(instance, column.key))
        for column in sa_inspect(type(instance)).column_attrs
    }


async def _as_read(
    session: AsyncSession, token_columns: dict[str, Any], tenant_columns: dict[str, Any]
) -> ApiToken:
    """The token and its municipality as they were read, as this session's own
    objects, without a query: as if loaded (nothing to write back)."""
    tenant = Tenant(**copy.deepcopy(tenant_columns))
    token = ApiToken(**copy.deepcopy(token_columns))
    set_committed_value(token, "tenant", tenant)
    make_transient_to_detached(tenant)
    make_transient_to_detached(token)
    with tenant_scope(tenant.id):
        return await session.merge(token, load=False)


async def _unrevoked(
    session: AsyncSession, tenant_id: int, digest: str, *where: ColumnElement[bool]
) -> ApiToken | None:
    """The municipality's unrevoked token of ``digest``, with its municipality: every
    API call needs both."""
    with tenant_scope(tenant_id):
        return await session.scalar(
            select(ApiToken)
            .options(joinedload(ApiToken.tenant))
            .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None), *where)
        )
