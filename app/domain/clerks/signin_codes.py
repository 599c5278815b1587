"""Signing in without a password by a one-time code sent by SMS to the clerk's mobile.

The number comes from the person register, so this is the domain's part of sign-in;
the link by email and what both ways share are in ``app.core.accounts.signin_links``.
Like the link, it answers the same whether or not the account exists, so the form
cannot be used to find out who has a phone number with us. Only hashes are stored
(see ``SignInToken``). A code works once for 10 minutes and stops working after 5
wrong tries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import ratelimit
from app.core.accounts.signin_links import SignInError, finish_sign_in, retire_unused_signins
from app.core.accounts.users import member_tenant_ids, normalise_email, record_in_each_tenant
from app.core.across_tenants import tenant_ids as across_tenant_ids
from app.core.audit import Actor
from app.core.i18n import _, locale_scope, ngettext
from app.core.models import Membership, User, utcnow
from app.core.models.signin import SignInToken
from app.core.outbox.sms import queue_sms
from app.core.security import hash_token, new_token
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.core.validation import EMAIL_PATTERN
from app.domain.models import Person

CODE_VALID = timedelta(minutes=10)
CODE_DIGITS = 6
MAX_CODE_TRIES = 5

_HOUR = timedelta(hours=1)
# Per address: generous, since a whole training evening may sign in over one venue's
# Wi-Fi; the per-account limit is what keeps a phone from being flooded.
CODES_PER_ADDRESS = ratelimit.Limit("signin.code.address", 60, _HOUR)
CODES_PER_ACCOUNT = ratelimit.Limit("signin.code.account", 5, _HOUR)
#: Wrong codes from one address across every pending sign-in: stops guessing at scale.
CODE_CHECKS_PER_ADDRESS = ratelimit.Limit("signin.code_check.address", 50, timedelta(minutes=15))
#: Wrong codes an account may receive in a day, over all its codes and addresses; past
#: it, no more codes are sent to that account until the day has passed (links still
#: work). This bounds slow guessing from many addresses at about 10 tries a day.
WRONG_CODES_PER_ACCOUNT = ratelimit.Limit("signin.code_wrong.account", 10, timedelta(days=1))

#: Where a typed mobile number without a country code is taken to be, by language.
_REGION_OF_LOCALE = {"sv": "SE", "da": "DK"}


def _expired() -> SignInError:
    return SignInError(
        _("This code has expired or has already been used. Ask for a new one."), "code"
    )


def _used_up() -> SignInError:
    return SignInError(
        _("Too many wrong tries: this code no longer works. Ask for a new one."), "code"
    )


def _code_hash(settings: Settings, pending_token: str, code: str) -> str:
    """Six digits are guessed from a plain hash in a moment: key the hash with the secret
    key and the pending token, which is only in the requester's cookie."""
    message = f"{pending_token}:{code}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def parse_login(raw: str, locale: str) -> tuple[str, str]:
    """``("email", address)`` or ``("mobile", E.164 number)`` from what was typed.

    Raises SignInError on the ``login`` field when it is neither; that says nothing
    about any account.
    """
    raw = (raw or "").strip()
    if "@" in raw:
        email = normalise_email(raw)
        if not EMAIL_PATTERN.match(email) or len(email) > 254:
            raise SignInError(_("Enter a valid email address."), "login")
        return "email", email
    try:
        number = phonenumbers.parse(raw, _REGION_OF_LOCALE.get(locale, "SE"))
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise SignInError(_("Enter your email address or your mobile number."), "login")
    return "mobile", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


async def _code_recipient(
    session: AsyncSession, kind: str, value: str
) -> tuple[User | None, str | None, int | None]:
    """(user, mobile, tenant id) to send a code to, or Nones.

    The number comes from the user's person record in a municipality where they are
    still a member: deliberately across tenants, since sign-in happens before one is
    chosen. A number shared by several accounts names none of them.

    Only an account that is a poll clerk in exactly one municipality, and nothing else,
    signs in by SMS. A person's mobile can be changed by that municipality's planners
    (and was given in an application): it must never open an account that reaches
    further than that municipality's clerk portal.
    """

    def sms_allowed(memberships: list[tuple[str, int]]) -> bool:
        return len(memberships) == 1 and memberships[0][0] == "clerk"

    if kind == "email":
        user = await session.scalar(select(User).where(User.email == value))
        if user is None or not user.is_active:
            return None, None, None
        with_mobile = (Person.user_id == user.id, Person.mobile.is_not(None), Person.mobile != "")
        found = await _newest_people(
            session, await member_tenant_ids(session, user.id), Person.mobile, *with_mobile
        )
        if not found or not sms_allowed(await _memberships(session, user.id)):
            return user, None, None
        return user, found[0][0], found[0][1]
    tenant_ids = await across_tenant_ids(
        session,
        "stemma_mobile_tenants",
        (value,),
        select(Person.tenant_id)
        .join(Membership, _MEMBER)
        .where(Person.mobile == value, Person.user_id.is_not(None))
        .distinct(),
    )
    rows = await _newest_people(
        session, tenant_ids, Person.user_id, Person.mobile == value, Person.user_id.is_not(None)
    )
    if len({user_id for user_id, _tenant in rows}) != 1:
        return None, None, None
    user_id, tenant_id = rows[0]
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None, None, None
    if not sms_allowed(await _memberships(session, user.id)):
        return user, None, None
    return user, value, tenant_id


#: A person who is a member of the municipality they are registered in.
_MEMBER = and_(Membership.user_id == Person.user_id, Membership.tenant_id == Person.tenant_id)


async def _newest_people(
    session: AsyncSession, tenant_ids: list[int], column: Any, *conditions: Any
) -> list[tuple[Any, int]]:
    """(``column``, tenant id) of the matching people who are members where they are
    registered, in each of these municipalities, the most recently updated first."""
    found: list[Any] = []
    for tenant_id in tenant_ids:
        with tenant_scope(tenant_id):
            rows = await session.execute(
                select(column, Person.tenant_id, Person.updated_at, Person.id)
                .join(Membership, _MEMBER)
                .where(*conditions)
            )
            found.extend(rows.all())
    found.sort(key=lambda row: (row[2], row[3]), reverse=True)
    return [(row[0], row[1]) for row in found]


async def _memberships(session: AsyncSession, user_id: int) -> list[tuple[str, int]]:
    """(role, tenant id) of every membership of the user, across municipalities."""
    memberships = []
    for tenant_id in await member_tenant_ids(session, user_id):
        with tenant_scope(tenant_id):
            role = await session.scalar(
                select(Membership.role).where(Membership.user_id == user_id)
            )
        if role is not None:
            memberships.append((role, tenant_id))
    return memberships


async def request_signin_code(
    session: AsyncSession, settings: Settings, login: str, locale: str, ip_address: str
) -> str:
    """Text a 6-digit code valid 10 minutes to the mobile number of the account named by
    ``login`` (its email, or the number itself), and return the pending-login token that
    the browser keeps to enter the code.

    A token is returned, and a row written, whatever happens: for an unknown account, one
    without a mobile number, or one asked for too often, nobody gets the code and it can
    never work, but the next page behaves the same. Raises SignInError for input that is
    neither an address nor a number, RateLimited when this address asked too often.
    """
    kind, value = parse_login(login, locale)
    user, mobile, tenant_id = await _code_recipient(session, kind, value)
    address = ratelimit.address_key(ip_address)
    account_key = f"user:{user.id}" if user is not None else f"{kind}:{value}"
    ratelimit.hit(session, CODES_PER_ADDRESS, address)
    ratelimit.hit(session, CODES_PER_ACCOUNT, account_key)
    await session.commit()
    await ratelimit.check(session, CODES_PER_ADDRESS, address, counted=True)
    too_often = await ratelimit.retry_after(
        session, CODES_PER_ACCOUNT, account_key, counted=True
    ) or await ratelimit.retry_after(session, WRONG_CODES_PER_ACCOUNT, account_key)
    recipient = user if user is not None and mobile and too_often is None else None
    if recipient is not None:
        # One live code per account: an older one still on the phone stops working.
        await retire_unused_signins(session, recipient.id, kind="code")
    pending_token = new_token()
    code = _new_code()
    row = SignInToken(
        kind="code",
        token_hash=hash_token(pending_token),
        code_hash=_code_hash(settings, pending_token, code),
        user_id=recipient.id if recipient is not None else None,
        expires_at=utcnow() + CODE_VALID,
    )
    session.add(row)
    await session.flush()
    if recipient is not None and mobile and tenant_id is not None:
        with locale_scope(recipient.locale or locale):
            text = _(
                "%(code)s is your Stemma sign-in code. It works for %(minutes)s minutes. "
                "Never give it to anyone.",
                code=code,
                minutes=int(CODE_VALID.total_seconds() // 60),
            )
        # The origin-bound line lets phones offer the code for this site only (autofill).
        host = urlsplit(settings.base_url).hostname
        # The text is the municipality's: written in its scope, as its row policy wants.
        with tenant_scope(tenant_id):
            queue_sms(
                session,
                to=mobile,
                text=f"{text}\n\n@{host} #{code}",
                idempotency_key=f"signin_code:{row.id}",
                sensitive=True,
            )
            await session.flush()
        await record_in_each_tenant(
            session,
            Actor(label="anonymous", ip_address=ip_address),
            "accounts.signin_code.requested",
            recipient,
        )
    await session.commit()
    return pending_token


def clean_code(raw: str) -> str:
    """The digits of a typed code ("123 456" and "123-456" are fine); SignInError else."""
    digits = "".join(character for character in raw or "" if character not in " -")
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        raise SignInError(_("Enter the 6 digits from the text message."), "code")
    return digits


async def sign_in_with_code(
    session: AsyncSession, settings: Settings, pending_token: str, code: str, ip_address: str
) -> User:
    """Check a typed code against the browser's pending sign-in and return the user.

    Each try is counted before the code is compared, so parallel guesses count against
    each other; after 5 wrong tries the code is used up. Raises SignInError (wrong,
    used up, expired) or RateLimited when this address has typed too many codes.
    """
    code = clean_code(code)
    address = ratelimit.address_key(ip_address)
    mark = ratelimit.hit(session, CODE_CHECKS_PER_ADDRESS, address)
    await session.commit()
    await ratelimit.check(session, CODE_CHECKS_PER_ADDRESS, address, counted=True)
    row = await session.scalar(
        select(SignInToken).where(
            SignInToken.token_hash == hash_token(pending_token), SignInToken.kind == "code"
        )
    )
    if row is None or row.used_at is not None or utcnow() >= row.expires_at:
        raise _expired()
    counted = await session.execute(
        update(SignInToken)
        .where(
            SignInToken.id == row.id,
            SignInToken.attempts < MAX_CODE_TRIES,
            SignInToken.used_at.is_(None),
        )
        .values(attempts=SignInToken.attempts + 1)
    )
    await session.commit()
    if getattr(counted, "rowcount", 0) != 1:
        raise _used_up()
    await session.refresh(row)
    right = hmac.compare_digest(row.code_hash or "", _code_hash(settings, pending_token, code))
    if not right or row.user_id is None:
        if row.user_id is not None:
            ratelimit.hit(session, WRONG_CODES_PER_ACCOUNT, f"user:{row.user_id}")
            await session.commit()
        tries_left = MAX_CODE_TRIES - row.attempts
        if tries_left <= 0:
            raise _used_up()
        raise SignInError(
            ngettext(
                "The code is wrong. You can try once more.",
                "The code is wrong. You can try %(num)s more times.",
                tries_left,
            ),
            "code",
        )
    claimed = await session.execute(
        update(SignInToken)
        .where(SignInToken.id == row.id, SignInToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    user = await session.get(User, row.user_id)
    if getattr(claimed, "rowcount", 0) != 1 or user is None or not user.is_active:
        await session.rollback()
        raise _expired()
    # A right code is no failure: it does not count against this address.
    await session.delete(mark)
    await finish_sign_in(session, user, "accounts.login.sms_code", ip_address)
    return user
