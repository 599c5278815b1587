"""Browsers a user asked us to remember for 30 days after a second step, and what a
sign-in needs after the password: nothing more, the second step, or enrolment.

The cookie's token is random and signed together with the user's id by the face
(``app.core.auth``); here only its hash is kept, with its user and its end, so
forgetting a browser or an administrator's reset ends it whatever the cookie says.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.second_factor import has_second_factor, second_factor_required
from app.core.accounts.users import record_in_each_tenant
from app.core.audit import Actor
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import RememberedDevice, User, utcnow
from app.core.security import hash_token

NextStep = Literal["sign_in", "verify", "enrol"]


async def device_is_remembered(session: AsyncSession, user_id: int, token: str) -> bool:
    """Whether the token is a remembered browser of this user, still in its 30 days.
    An expired one is removed."""
    device = await session.scalar(
        select(RememberedDevice).where(
            RememberedDevice.token_hash == hash_token(token),
            RememberedDevice.user_id == user_id,
        )
    )
    if device is None:
        return False
    now = utcnow()
    if now >= device.expires_at:
        await session.delete(device)
        await session.commit()
        return False
    device.last_used_at = now
    await session.commit()
    return True


async def next_step_after_password(
    session: AsyncSession, user: User, device_token: str | None
) -> NextStep:
    """What a sign-in needs once the first factor (password, link, SMS code) passed:
    the second step for a user with a second factor (unless this browser is
    remembered), enrolment for one who must have one and has not, else nothing."""
    if await has_second_factor(session, user.id):
        if device_token and await device_is_remembered(session, user.id, device_token):
            return "sign_in"
        return "verify"
    if await second_factor_required(session, user.id):
        return "enrol"
    return "sign_in"


async def list_devices(session: AsyncSession, user_id: int) -> list[RememberedDevice]:
    rows = await session.scalars(
        select(RememberedDevice)
        .where(RememberedDevice.user_id == user_id, RememberedDevice.expires_at > utcnow())
        .order_by(RememberedDevice.created_at.desc())
    )
    return list(rows)


async def forget_device(session: AsyncSession, actor: Actor, user: User, device_id: int) -> None:
    """The user forgets one of their remembered browsers: it must take the second step
    again. Another user's device is not found."""
    device = await session.scalar(
        select(RememberedDevice).where(
            RememberedDevice.id == device_id, RememberedDevice.user_id == user.id
        )
    )
    if device is None:
        raise NotFound(_("Not found."))
    await session.execute(delete(RememberedDevice).where(RememberedDevice.id == device.id))
    await record_in_each_tenant(session, actor, "accounts.remembered_device.forgotten", user)
    await session.commit()
