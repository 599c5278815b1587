"""A second factor for signing in: an authenticator app (TOTP, RFC 6238) and its
recovery codes; who must have one; an administrator's reset.

The secret is kept encrypted (``FieldCipher``). A code is accepted for the current
30-second step and one step either side (clocks drift), and only for a step later than
the last one accepted, so a code that was seen cannot be used again. Every attempt is
counted before it is checked, as at the password. Recovery codes are long random words,
so a plain SHA-256 keeps them as safely as sign-in tokens; each works once.

A secret being enrolled is not stored until its first code is right: the enrolling
browser holds it, encrypted. Remembered browsers are
``app.core.accounts.remembered_devices``; the pages that walk the two steps are the
public face's (``app.public.second_factor``).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import ratelimit
from app.core.accounts.users import (
    AccountsError,
    member_tenant_ids,
    membership_in,
    record_in_each_tenant,
)
from app.core.audit import Actor
from app.core.crypto import DecryptionError, FieldCipher
from app.core.i18n import _
from app.core.models import (
    AuthSession,
    RecoveryCode,
    RememberedDevice,
    SecondFactor,
    Tenant,
    User,
    utcnow,
)
from app.core.security import hash_token, new_token

ISSUER = "Stemma"
STEP_SECONDS = 30
#: Steps accepted either side of the current one: a phone's clock a little off.
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
#: Four groups of four from an alphabet without look-alikes (0/o, 1/l/i): about 79 bits.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_GROUPS = 4
#: How long a browser may skip the second step once its user asked us to remember it.
REMEMBER_FOR = timedelta(days=30)

#: The roles that must sign in with a second factor where the municipality requires it.
REQUIRED_FOR_ROLES = ("admin", "planner")
POLICIES = ("required", "optional")

#: Wrong codes for one account: six digits and three steps open, so five tries in a
#: quarter of an hour leave a guesser years from a likely hit.
CODES_PER_ACCOUNT = ratelimit.Limit("second_factor.account", 5, timedelta(minutes=15))
CODES_PER_ADDRESS = ratelimit.Limit("second_factor.address", 50, timedelta(minutes=15))


class SecondFactorError(AccountsError):
    pass


@dataclass(frozen=True)
class SecondStep:
    """A passed second step: which way (``totp`` or ``recovery``), and the token of the
    remembered browser's cookie when the user asked to be remembered."""

    method: str
    device_token: str | None


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret as text and as an ``otpauth:`` address."""

    secret: str
    uri: str
    #: The secret encrypted, for the enrolling browser to hold until it is confirmed.
    sealed: str


def current_step(now: datetime | None = None) -> int:
    return int((now or utcnow()).timestamp()) // STEP_SECONDS


def _matching_step(secret: str, code: str, now: datetime | None = None) -> int | None:
    """The time step whose code ``code`` is, within the drift allowed, or None."""
    code = "".join(code.split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    step = current_step(now)
    found = None
    # Every candidate is compared, so the time taken does not tell which step matched.
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            found = candidate
    return found


def _normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _new_recovery_code() -> str:
    groups = (
        "".join(secrets.choice(RECOVERY_ALPHABET) for _i in range(4))
        for _g in range(RECOVERY_GROUPS)
    )
    return "-".join(groups)


def _recovery_hash(code: str) -> str:
    return hash_token("recovery:" + _normalise_recovery_code(code))


# --- reading ------------------------------------------------------------------------------


async def user_waiting(session: AsyncSession, user_id: int) -> User | None:
    """The active user of a sign-in held between its two steps, or None."""
    user = await session.get(User, user_id)
    return user if user is not None and user.is_active else None


async def confirmed_factor(session: AsyncSession, user_id: int) -> SecondFactor | None:
    return await session.scalar(
        select(SecondFactor).where(
            SecondFactor.user_id == user_id, SecondFactor.confirmed_at.is_not(None)
        )
    )


async def has_second_factor(session: AsyncSession, user_id: int) -> bool:
    return await confirmed_factor(session, user_id) is not None


async def second_factor_required(session: AsyncSession, user_id: int) -> bool:
    """Whether the user is an administrator or planner in a municipality that requires
    a second factor (any of theirs: the account is one for all of them)."""
    # Membership rows are each municipality's: asked one municipality at a time (on
    # PostgreSQL no setting shows the app another municipality's rows).
    for tenant_id in await member_tenant_ids(session, user_id):
        membership = await membership_in(session, user_id, tenant_id)
        if membership is None or membership.role not in REQUIRED_FOR_ROLES:
            continue
        tenant = await session.get(Tenant, tenant_id)
        if tenant is not None and tenant.second_factor_policy == "required":
            return True
    return False


async def users_with_second_factor(session: AsyncSession, user_ids: list[int]) -> set[int]:
    """Which of these users sign in with a second factor (for the members' list)."""
    if not user_ids:
        return set()
    rows = await session.scalars(
        select(SecondFactor.user_id).where(
            SecondFactor.user_id.in_(user_ids), SecondFactor.confirmed_at.is_not(None)
        )
    )
    return set(rows)


async def unused_recovery_codes(session: AsyncSession, user_id: int) -> int:
    count = await session.scalar(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
    )
    return int(count or 0)


# --- enrolment ----------------------------------------------------------------------------


def new_enrolment(cipher: FieldCipher, user: User) -> Enrolment:
    """A new secret for the user's authenticator. Nothing is stored: the page keeps it
    sealed (encrypted) in the enrolling browser's own signed cookie until a first code
    proves the app has it, so nobody else who signs in as this user (with a stolen
    password) can see the secret the owner is about to confirm."""
    enrolment = enrolment_from(cipher, user, cipher.encrypt(pyotp.random_base32()))
    assert enrolment is not None  # sealed just now with the current key
    return enrolment


def enrolment_from(cipher: FieldCipher, user: User, sealed: str) -> Enrolment | None:
    """The enrolment a browser holds (``sealed``, as ``new_enrolment`` made it), or None
    when it was sealed with a key this process no longer has."""
    try:
        secret = cipher.decrypt(sealed)
    except DecryptionError:
        return None
    uri = pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=ISSUER
    )
    return Enrolment(secret=secret, uri=uri, sealed=sealed)


async def _count_attempt(session: AsyncSession, user_id: int, ip_address: str) -> None:
    """Count one attempt and commit it before the code is checked, so parallel guesses
    count against each other; raises RateLimited past either limit."""
    address = ratelimit.address_key(ip_address)
    counted = [(CODES_PER_ACCOUNT, str(user_id)), (CODES_PER_ADDRESS, address)]
    for limit, key in counted:
        ratelimit.hit(session, limit, key)
    await session.commit()
    for limit, key in counted:
        await ratelimit.check(session, limit, key, counted=True)


async def _claim_step(session: AsyncSession, factor_id: int, step: int) -> bool:
    """Record ``step`` as used, only if it is later than the last one: conditional, so
    two requests with the same code cannot both pass."""
    claimed = await session.execute(
        update(SecondFactor)
        .where(
            SecondFactor.id == factor_id,
            or_(SecondFactor.last_used_step.is_(None), SecondFactor.last_used_step < step),
        )
        .values(last_used_step=step)
    )
    return getattr(claimed, "rowcount", 0) == 1


def _wrong_code() -> SecondFactorError:
    return SecondFactorError(_("The code is not right. Try the newest code in the app."), "code")


async def _write_recovery_codes(session: AsyncSession, user_id: int) -> list[str]:
    """Replace the user's recovery codes with new ones; returns them (shown once)."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [_new_recovery_code() for _i in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user_id, code_hash=_recovery_hash(c)) for c in codes)
    return codes


async def _end_other_sessions(session: AsyncSession, user_id: int, keep_token: str | None) -> None:
    statement = delete(AuthSession).where(AuthSession.user_id == user_id)
    if keep_token:
        statement = statement.where(AuthSession.token_hash != hash_token(keep_token))
    await session.execute(statement)


async def confirm_enrolment(
    session: AsyncSession,
    cipher: FieldCipher,
    actor: Actor,
    user: User,
    sealed: str,
    code: str,
    ip_address: str,
    keep_session: str | None = None,
) -> list[str]:
    """Turn the second factor on with the enrolment the browser holds (``sealed``) and a
    first code from the app; returns the ten recovery codes, to be shown once. Ends the
    user's other sessions (all of them but ``keep_session``, the token of the browser
    enrolling, if it is signed in)."""
    if await has_second_factor(session, user.id):
        raise SecondFactorError(_("You already use an authenticator app."), "code")
    try:
        secret = cipher.decrypt(sealed)
    except DecryptionError:
        raise SecondFactorError(_("Start again: the enrolment has expired."), "code") from None
    await _count_attempt(session, user.id, ip_address)
    step = _matching_step(secret, code)
    if step is None:
        raise _wrong_code()
    session.add(
        SecondFactor(
            user_id=user.id,
            kind="totp",
            secret_encrypted=cipher.encrypt(secret),
            last_used_step=step,
            confirmed_at=utcnow(),
        )
    )
    codes = await _write_recovery_codes(session, user.id)
    await _end_other_sessions(session, user.id, keep_session)
    await ratelimit.clear(session, CODES_PER_ACCOUNT, str(user.id))
    await record_in_each_tenant(session, actor, "accounts.second_factor.enrolled", user)
    try:
        await session.commit()
    except IntegrityError:
        # One row per user: another browser confirmed at the same moment.
        await session.rollback()
        raise SecondFactorError(_("You already use an authenticator app."), "code") from None
    return codes


# --- the second step ----------------------------------------------------------------------


def _write_remembered_device(session: AsyncSession, user_id: int, label: str) -> str:
    token = new_token()
    now = utcnow()
    session.add(
        RememberedDevice(
            user_id=user_id,
            token_hash=hash_token(token),
            label=label[:200],
            created_at=now,
            expires_at=now + REMEMBER_FOR,
        )
    )
    return token


async def verify_second_factor(
    session: AsyncSession,
    cipher: FieldCipher,
    user: User,
    code: str,
    ip_address: str,
    remember_as: str | None = None,
    now: datetime | None = None,
) -> SecondStep:
    """Check a code from the app or a recovery code at sign-in. A recovery code is used
    up. With ``remember_as`` (a label such as "Firefox on Windows") the browser is
    remembered for 30 days. Raises SecondFactorError for a wrong, reused or used-up
    code and RateLimited past the limits."""
    factor = await confirmed_factor(session, user.id)
    if factor is None:
        raise _wrong_code()
    await _count_attempt(session, user.id, ip_address)
    step = _matching_step(cipher.decrypt(factor.secret_encrypted), code, now)
    if step is not None:
        # A refusal here has nothing to undo: the attempt is committed, the claim and
        # the recovery code's update below changed no row.
        if not await _claim_step(session, factor.id, step):
            raise SecondFactorError(
                _("This code has been used already. Wait for the next one in the app."), "code"
            )
        method = "totp"
    else:
        claimed = await session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _recovery_hash(code),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
        )
        if getattr(claimed, "rowcount", 0) != 1:
            raise _wrong_code()
        method = "recovery"
    device_token = _write_remembered_device(session, user.id, remember_as) if remember_as else None
    await ratelimit.clear(session, CODES_PER_ACCOUNT, str(user.id))
    await record_in_each_tenant(
        session, Actor.for_user(user, ip_address), f"accounts.login.second_factor.{method}", user
    )
    await session.commit()
    return SecondStep(method=method, device_token=device_token)


# --- the user's own settings --------------------------------------------------------------


async def regenerate_recovery_codes(session: AsyncSession, actor: Actor, user: User) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    if not await has_second_factor(session, user.id):
        raise SecondFactorError(_("Turn on an authenticator app first."), "code")
    codes = await _write_recovery_codes(session, user.id)
    await record_in_each_tenant(session, actor, "accounts.second_factor.codes_renewed", user)
    await session.commit()
    return codes


async def _remove_everything(session: AsyncSession, user_id: int) -> None:
    for model in (SecondFactor, RecoveryCode, RememberedDevice):
        await session.execute(delete(model).where(model.user_id == user_id))


async def turn_off_second_factor(
    session: AsyncSession, actor: Actor, user: User, keep_session: str | None
) -> None:
    """The user stops using their authenticator: allowed only where no municipality of
    theirs requires one for their role. Ends their other sessions."""
    if await second_factor_required(session, user.id):
        raise SecondFactorError(
            _("Your municipality requires a second factor for your role."), "code"
        )
    await _remove_everything(session, user.id)
    await _end_other_sessions(session, user.id, keep_session)
    await record_in_each_tenant(session, actor, "accounts.second_factor.removed", user)
    await session.commit()
