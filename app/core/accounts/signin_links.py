"""Signing in without a password by a one-time link mailed to the account's address, and
what every passwordless way in shares: its error, and the finish that uses up a user's
other links and codes.

A link answers the same whether or not the account exists, so the form cannot be used
to find out who has an account with us. Only hashes are stored (see ``SignInToken``).
A link works once for 15 minutes. The other way, a code by SMS, reads the person
register and is the domain's: ``app.domain.clerks.signin_codes``.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import ratelimit
from app.core.accounts.mail import AccountMail, queue_account_email
from app.core.accounts.users import mail_tenant_id, record_in_each_tenant, user_to_mail
from app.core.audit import Actor
from app.core.errors import DomainError
from app.core.i18n import _
from app.core.models import User, utcnow
from app.core.models.signin import SignInToken
from app.core.security import hash_token, new_token
from app.core.settings import Settings

LINK_VALID = timedelta(minutes=15)

# Per address: generous, since a whole training evening may sign in over one venue's
# Wi-Fi; the per-account limit is what keeps a mailbox from being flooded.
LINKS_PER_ADDRESS = ratelimit.Limit("signin.link.address", 60, timedelta(hours=1))
LINKS_PER_ACCOUNT = ratelimit.Limit("signin.link.account", 5, timedelta(hours=1))


class SignInError(DomainError):
    pass


async def retire_unused_signins(
    session: AsyncSession, user_id: int, kind: str | None = None
) -> None:
    """Stop every other unused link or code of the user (of ``kind`` only, if given)."""
    statement = update(SignInToken).where(
        SignInToken.user_id == user_id, SignInToken.used_at.is_(None)
    )
    if kind is not None:
        statement = statement.where(SignInToken.kind == kind)
    await session.execute(statement.values(used_at=utcnow()))


async def finish_sign_in(session: AsyncSession, user: User, code: str, ip_address: str) -> None:
    """What every way in does after it succeeded: one token used means all are done."""
    await retire_unused_signins(session, user.id)
    user.last_login_at = utcnow()
    await record_in_each_tenant(session, Actor.for_user(user, ip_address), code, user)
    await session.commit()


async def request_signin_link(
    session: AsyncSession, settings: Settings, email: str, locale: str, ip_address: str
) -> None:
    """Mail a sign-in link valid 15 minutes when an active account has this address;
    say nothing either way.

    Raises RateLimited when the address asked too often; an account asked for too often
    is simply not mailed again, exactly as an unknown one.
    """
    user = await user_to_mail(session, email, ip_address, LINKS_PER_ADDRESS, LINKS_PER_ACCOUNT)
    if user is None:
        return
    token = new_token()
    link = SignInToken(
        kind="link",
        token_hash=hash_token(token),
        user_id=user.id,
        expires_at=utcnow() + LINK_VALID,
    )
    session.add(link)
    await session.flush()
    await queue_account_email(
        session,
        user=user,
        mail=AccountMail(
            key="signin_link",
            name=user.name,
            locale=user.locale or locale,
            # In the query, not the path: access logs record paths only.
            link=f"{settings.base_url}/login/link/open?token={token}",
            valid_for=LINK_VALID,
            base_url=settings.base_url,
        ),
        idempotency_key=f"signin_link:{link.id}",
        tenant_id=await mail_tenant_id(session, user.id),
        sensitive=True,
    )
    await record_in_each_tenant(
        session,
        Actor(label="anonymous", ip_address=ip_address),
        "accounts.signin_link.requested",
        user,
    )
    await session.commit()


async def user_of_signin_link(session: AsyncSession, token: str) -> User | None:
    """Whose link this is, while it is unused and not expired; it is not used up here."""
    link = await session.scalar(
        select(SignInToken).where(
            SignInToken.token_hash == hash_token(token), SignInToken.kind == "link"
        )
    )
    if link is None or link.used_at is not None or utcnow() >= link.expires_at:
        return None
    if link.user_id is None:
        return None
    user = await session.get(User, link.user_id)
    return user if user is not None and user.is_active else None


async def sign_in_with_link(session: AsyncSession, token: str, ip_address: str) -> User:
    """Use up a mailed link and return its user; every other unused link and code of
    theirs stops working too. Raises SignInError when it has expired or been used."""
    gone = SignInError(_("This link has expired or has already been used."), "token")
    user = await user_of_signin_link(session, token)
    if user is None:
        raise gone
    # Conditional, so two requests with the same link cannot both sign in.
    claimed = await session.execute(
        update(SignInToken)
        .where(
            SignInToken.token_hash == hash_token(token),
            SignInToken.kind == "link",
            SignInToken.used_at.is_(None),
            SignInToken.expires_at > utcnow(),
        )
        .values(used_at=utcnow())
    )
    if getattr(claimed, "rowcount", 0) != 1:
        await session.rollback()
        raise gone
    await finish_sign_in(session, user, "accounts.login.link", ip_address)
    return user
