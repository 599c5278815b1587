"""Choosing a password by a mailed link: the invitation of a new member, and the reset of
a forgotten password. Both links are single-use tokens opened on the same page."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import ratelimit
from app.core.accounts.mail import AccountMail, queue_account_email
from app.core.accounts.users import (
    AccountsError,
    check_password_strength,
    create_user,
    mail_tenant_id,
    normalise_email,
    record_in_each_tenant,
    user_to_mail,
)
from app.core.audit import Actor
from app.core.events import record_access_change
from app.core.i18n import _
from app.core.models import AuthSession, PasswordResetToken, Tenant, User, utcnow
from app.core.security import hash_password, hash_token, new_token
from app.core.settings import Settings
from app.core.tenancy import tenant_scope


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
    await record_in_each_tenant(
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
    """Queue an email with a single-use link that sets the user's password, in the words
    of ``tenant`` (else of the municipality the user joined first)."""
    token = new_token()
    reset = PasswordResetToken(
        token_hash=hash_token(token), user_id=user.id, expires_at=utcnow() + valid_for
    )
    session.add(reset)
    await session.flush()
    await queue_account_email(
        session,
        user=user,
        mail=AccountMail(
            key=template,
            name=user.name,
            locale=user.locale or locale,
            # In the query, not the path: access logs record paths only.
            link=f"{settings.base_url}/password/reset?token={token}",
            valid_for=valid_for,
            base_url=settings.base_url,
        ),
        idempotency_key=f"{template}:{reset.id}",
        tenant_id=tenant.id if tenant else await mail_tenant_id(session, user.id),
        municipality=tenant.name if tenant else "",
        sensitive=True,
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
    # Signed out everywhere: the open sockets of those sessions close too.
    record_access_change(session, user.id)
    await record_in_each_tenant(
        session,
        Actor(label=user.email, user_id=user.id, ip_address=ip_address),
        "accounts.password_reset.completed",
        user,
    )
    await session.commit()
    return user
