"""Users and their memberships: who signs in, and with which role in which municipality."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager, selectinload

from app.core import ratelimit
from app.core.across_tenants import tenant_ids
from app.core.audit import Actor, record
from app.core.errors import DomainError, NotFound
from app.core.events import record_access_change
from app.core.i18n import _
from app.core.models import AuthSession, Membership, Tenant, User
from app.core.permissions import ROLES
from app.core.security import MIN_PASSWORD_LENGTH, hash_password
from app.core.tenancy import tenant_scope
from app.core.validation import EMAIL_PATTERN


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


async def memberships_of(session: AsyncSession, user: User) -> list[Membership]:
    """Every tenant the user belongs to: deliberately across tenants, for sign-in."""
    memberships = []
    for tenant_id in await member_tenant_ids(session, user.id):
        with tenant_scope(tenant_id):
            membership = await session.scalar(
                select(Membership)
                .where(Membership.user_id == user.id)
                .options(selectinload(Membership.tenant))
            )
        if membership is not None:
            memberships.append(membership)
    return memberships


async def member_tenant_ids(session: AsyncSession, user_id: int) -> list[int]:
    """The ids of the municipalities the user is a member of, oldest membership first."""
    return await tenant_ids(
        session,
        "stemma_membership_tenants",
        (user_id,),
        select(Membership.tenant_id).where(Membership.user_id == user_id).order_by(Membership.id),
    )


async def mail_tenant_id(session: AsyncSession, user_id: int) -> int | None:
    """The municipality whose words and sender an account's own mail (a sign-in link, a
    password reset) carries: the one the user joined first; None for no membership."""
    tenant_ids = await member_tenant_ids(session, user_id)
    return tenant_ids[0] if tenant_ids else None


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


async def record_in_each_tenant(session: AsyncSession, actor: Actor, code: str, user: User) -> None:
    """Account events belong to no single municipality: each one the user is in sees them."""
    targets = await member_tenant_ids(session, user.id)
    if not targets:
        await record(session, actor, code, user)
    for tenant_id in targets:
        # Written inside each tenant's scope so PostgreSQL's row policies accept it.
        with tenant_scope(tenant_id):
            await record(session, actor, code, user)
            await session.flush()


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
    # Their open sockets are checked against the new role at once.
    record_access_change(session, membership.user_id)
    await session.commit()
    return membership


async def deactivate_user(session: AsyncSession, actor: Actor, user_id: int) -> User:
    """Stop an account from signing in anywhere: it is marked inactive, every session
    of it ends, and its open sockets close. Recorded in each municipality it is in.
    System use (the command line, support): an account spans municipalities, so no one
    municipality's administrator decides it."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(_("Not found."))
    if user.is_active:
        user.is_active = False
        await session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
        await record_in_each_tenant(session, actor, "accounts.user.deactivated", user)
    record_access_change(session, user.id)
    await session.commit()
    return user
