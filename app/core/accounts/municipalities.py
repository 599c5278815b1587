"""Municipalities (tenants) as accounts know them: the address each one lives at.

Creating a municipality with what it starts with (role types, norm templates) is the
domain's use case, ``app.domain.municipalities.create_municipality``; this module only
checks and adds the row.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.users import AccountsError
from app.core.i18n import _
from app.core.models import Tenant

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


async def add_tenant(
    session: AsyncSession, slug: str, name: str, locale: str, timezone: str
) -> Tenant:
    """Add a municipality's row, flushed so it has an id, without committing: the caller
    adds what the municipality starts with in the same transaction.

    Refuses a malformed, reserved or taken slug, an empty name and an unknown time zone.
    """
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
    return tenant


async def get_tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug))
