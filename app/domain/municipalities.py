"""Creating a municipality with what every one starts with."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.municipalities import add_tenant
from app.core.audit import Actor, record
from app.core.models import Tenant
from app.core.tenancy import tenant_scope
from app.domain.elections.norm_templates import standard_templates
from app.domain.models import NormTemplate
from app.domain.registers.roles import default_role_types


async def create_municipality(
    session: AsyncSession,
    actor: Actor,
    slug: str,
    name: str,
    locale: str = "sv",
    timezone: str = "Europe/Stockholm",
    second_factor_policy: str = "required",
) -> Tenant:
    """Create a municipality with the standard role types and norm templates, named in
    its language. Refuses a malformed, reserved or taken slug with an AccountsError.

    A new municipality requires a second factor of its administrators and planners;
    only the demo (and tests about other things) leave it optional."""
    tenant = await add_tenant(session, slug, name, locale, timezone)
    tenant.second_factor_policy = second_factor_policy
    with tenant_scope(tenant.id):
        session.add_all(default_role_types(tenant.id, locale))
        session.add_all(
            NormTemplate(tenant_id=tenant.id, name=template_name, station_kind=kind, shifts=shifts)
            for template_name, kind, shifts in standard_templates(locale)
        )
        await record(
            session,
            actor,
            "tenancy.tenant.created",
            tenant,
            data={"slug": tenant.slug, "second_factor_policy": second_factor_policy},
        )
        await session.commit()
    return tenant
