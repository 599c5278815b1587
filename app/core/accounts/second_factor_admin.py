"""What an administrator decides about second factors in their municipality: whether
administrators and planners must use one, and resetting a member's when they lost it."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.mail import AccountMail, queue_account_email
from app.core.accounts.second_factor import POLICIES, SecondFactorError
from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import (
    AuthSession,
    Membership,
    RecoveryCode,
    RememberedDevice,
    SecondFactor,
    Tenant,
    User,
)


async def set_second_factor_policy(
    session: AsyncSession, actor: Actor, tenant: Tenant, policy: str
) -> None:
    """Require a second factor of the municipality's administrators and planners, or
    leave it to each of them. Audited with the old and the new policy."""
    if policy not in POLICIES:
        raise SecondFactorError(_("Choose one of the options."), "policy")
    old = tenant.second_factor_policy
    if old == policy:
        return
    tenant.second_factor_policy = policy
    await record(
        session,
        actor,
        "tenancy.second_factor_policy.changed",
        tenant,
        data={"from": old, "to": policy},
    )
    await session.commit()


async def reset_second_factor(
    session: AsyncSession, actor: Actor, membership_id: int, locale: str
) -> User:
    """Remove a member's authenticator, recovery codes and remembered browsers, and end
    their sessions: they sign in with their password and enrol again (at once, where it
    is required). They are told by email. A member of another municipality is not
    found; an administrator resets their own on their security page, not here."""
    membership = await session.scalar(select(Membership).where(Membership.id == membership_id))
    if membership is None:
        raise NotFound(_("Not found."))
    user = await session.get(User, membership.user_id)
    if user is None:
        raise NotFound(_("Not found."))
    if user.id == actor.user_id:
        raise SecondFactorError(_("Change your own second factor on your security page."), "user")
    had = await session.scalar(select(SecondFactor.id).where(SecondFactor.user_id == user.id))
    for model in (SecondFactor, RecoveryCode, RememberedDevice, AuthSession):
        await session.execute(delete(model).where(model.user_id == user.id))
    # No secret, no code: only that it happened, to whom and whether there was one.
    entry = await record(
        session, actor, "accounts.second_factor.reset", user, data={"had_one": had is not None}
    )
    await session.flush()
    await queue_account_email(
        session,
        user=user,
        mail=AccountMail(key="second_factor_reset", name=user.name, locale=user.locale or locale),
        idempotency_key=f"second_factor_reset:{entry.id}",
        tenant_id=membership.tenant_id,
    )
    await session.commit()
    return user
