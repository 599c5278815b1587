"""API tokens: a municipality's bearer secrets for the JSON API. Only a hash is kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.core.accounts.users import AccountsError
from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import ApiToken, utcnow
from app.core.security import hash_token, new_token
from app.core.tenancy import ALL_TENANTS, tenant_scope

API_TOKEN_PREFIX = "stm_"  # noqa: S105 - a public prefix, not a secret


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
