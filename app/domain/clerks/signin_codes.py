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
from contextlib import nullcontext
from dataclasses import dataclass
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
from app.core.models import Membership, Tenant, User, utcnow
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


@dataclass(frozen=True)
class Recipient:
    """Who a code goes to: the accounts it may open and the number it is texted to."""

    users: list[User]
    mobile: str | None
    #: The municipality the text is sent for, when all the accounts are in one.
    tenant_id: int | None


async def _code_recipient(session: AsyncSession, kind: str, value: str) -> Recipient:
    """The accounts a code for ``value`` may open, and the number to text it to.

    The number comes from the user's person record in a municipality where they are
    still a member: deliberately across tenants, since sign-in happens before one is
    chosen. A number several accounts share (a family's one phone, or the same clerk in
    two municipalities) opens each of them, and the clerk chooses after the right code:
    only whoever holds the phone reads the code, and every one of those accounts gave
    that number. So one municipality typing someone's number into its register can
    neither stop their sign-in elsewhere nor open their account there.

    Only an account that is a poll clerk in exactly one municipality, and nothing else,
    signs in by SMS. A person's mobile can be changed by that municipality's planners
    (and was given in an application): it must never open an account that reaches
    further than that municipality's clerk portal.
    """
    if kind == "email":
        user = await session.scalar(select(User).where(User.email == value))
        if user is None or not user.is_active:
            return Recipient([], None, None)
        with_mobile = (Person.user_id == user.id, Person.mobile.is_not(None), Person.mobile != "")
        found = await _newest_people(
            session, await member_tenant_ids(session, user.id), Person.mobile, *with_mobile
        )
        if not found or not await _sms_allowed(session, user):
            return Recipient([user], None, None)
        return Recipient([user], found[0][0], found[0][1])
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
    users: list[User] = []
    tenants: set[int] = set()
    for user_id, tenant_id in sorted(rows):
        user = await session.get(User, user_id)
        if user is None or user in users or not await _sms_allowed(session, user):
            continue
        users.append(user)
        tenants.add(tenant_id)
    if not users:
        return Recipient([], None, None)
    return Recipient(users, value, tenants.pop() if len(tenants) == 1 else None)


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


async def _sms_allowed(session: AsyncSession, user: User) -> bool:
    if not user.is_active:
        return False
    memberships = await _memberships(session, user.id)
    return len(memberships) == 1 and memberships[0][0] == "clerk"


async def _memberships(session: AsyncSession, user_id: int) -> list[tuple[str, int]]:
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
    found = await _code_recipient(session, kind, value)
    address = ratelimit.address_key(ip_address)
    account_key = f"user:{found.users[0].id}" if len(found.users) == 1 else f"{kind}:{value}"
    ratelimit.hit(session, CODES_PER_ADDRESS, address)
    ratelimit.hit(session, CODES_PER_ACCOUNT, account_key)
    await session.commit()
    await ratelimit.check(session, CODES_PER_ADDRESS, address, counted=True)
    too_often = await ratelimit.retry_after(session, CODES_PER_ACCOUNT, account_key, counted=True)
    for user in found.users:
        too_often = too_often or await ratelimit.retry_after(
            session, WRONG_CODES_PER_ACCOUNT, f"user:{user.id}"
        )
    recipients = found.users if found.mobile and too_often is None else []
    for user in recipients:
        # One live code per account: an older one still on the phone stops working.
        await retire_unused_signins(session, user.id, kind="code")
    pending_token = new_token()
    code = _new_code()
    row = SignInToken(
        kind="code",
        token_hash=hash_token(pending_token),
        code_hash=_code_hash(settings, pending_token, code),
        user_id=recipients[0].id if len(recipients) == 1 else None,
        choices=[user.id for user in recipients] if len(recipients) > 1 else None,
        expires_at=utcnow() + CODE_VALID,
    )
    session.add(row)
    await session.flush()
    if recipients and found.mobile:
        mobile, tenant_id = found.mobile, found.tenant_id
        with locale_scope(recipients[0].locale or locale):
            text = _(
                "%(code)s is your Stemma sign-in code. It works for %(minutes)s minutes. "
                "Never give it to anyone.",
                code=code,
                minutes=int(CODE_VALID.total_seconds() // 60),
            )
        # The origin-bound line lets phones offer the code for this site only (autofill).
        host = urlsplit(settings.base_url).hostname
        # The text is the municipality's when all the accounts are in one: written in
        # its scope, as its row policy wants; a number shared across municipalities is
        # texted as the system's (no municipality's row).
        with tenant_scope(tenant_id) if tenant_id is not None else nullcontext():
            queue_sms(
                session,
                to=mobile,
                text=f"{text}\n\n@{host} #{code}",
                idempotency_key=f"signin_code:{row.id}",
                sensitive=True,
            )
            await session.flush()
        for user in recipients:
            await record_in_each_tenant(
                session,
                Actor(label="anonymous", ip_address=ip_address),
                "accounts.signin_code.requested",
                user,
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
) -> User | None:
    """Check a typed code against the browser's pending sign-in and return the user, or
    None when the code is right and the number opens several accounts: the clerk then
    chooses one of ``account_choices`` with ``sign_in_with_choice``.

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
    if row.verified_at is not None:
        raise _expired()  # the right code was typed already; an account is to be chosen
    accounts = [row.user_id] if row.user_id is not None else list(row.choices or [])
    if not right or not accounts:
        for user_id in accounts:
            ratelimit.hit(session, WRONG_CODES_PER_ACCOUNT, f"user:{user_id}")
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
    if row.user_id is None:
        # Several accounts share the number: the code is right, and the clerk now
        # chooses which of them to open (``account_choices``, ``sign_in_with_choice``).
        verified = await session.execute(
            update(SignInToken)
            .where(
                SignInToken.id == row.id,
                SignInToken.used_at.is_(None),
                SignInToken.verified_at.is_(None),
            )
            .values(verified_at=utcnow())
        )
        if getattr(verified, "rowcount", 0) != 1:
            await session.rollback()
            raise _expired()
        await session.delete(mark)
        await session.commit()
        return None
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


@dataclass(frozen=True)
class AccountChoice:
    user_id: int
    name: str
    municipality: str


async def _verified_row(session: AsyncSession, pending_token: str) -> SignInToken | None:
    row = await session.scalar(
        select(SignInToken).where(
            SignInToken.token_hash == hash_token(pending_token or ""), SignInToken.kind == "code"
        )
    )
    if row is None or row.used_at is not None or row.verified_at is None:
        return None
    if utcnow() >= row.expires_at or not row.choices:
        return None
    return row


async def account_choices(session: AsyncSession, pending_token: str) -> list[AccountChoice]:
    """The accounts a right code for a shared number may open, by name and municipality;
    empty when there is no such verified, unused and unexpired code in this browser."""
    row = await _verified_row(session, pending_token)
    if row is None:
        return []
    choices: list[AccountChoice] = []
    for user_id in row.choices or []:
        user = await session.get(User, user_id)
        if user is None or not user.is_active:
            continue
        for _role, tenant_id in await _memberships(session, user_id):
            tenant = await session.get(Tenant, tenant_id)
            if tenant is not None:
                choices.append(AccountChoice(user.id, user.name, tenant.name))
    return sorted(choices, key=lambda choice: (choice.municipality, choice.name, choice.user_id))


async def sign_in_with_choice(
    session: AsyncSession, pending_token: str, user_id: int | None, ip_address: str
) -> User:
    """Sign in to the account chosen after a right code for a shared number; the code
    is used up. Raises SignInError when the code is gone or the account is not one it
    may open (still a clerk of one municipality only, active)."""
    row = await _verified_row(session, pending_token)
    if row is None:
        raise _expired()
    if user_id is None or user_id not in (row.choices or []):
        raise SignInError(_("Choose one of the accounts."), "account")
    user = await session.get(User, user_id)
    if user is None or not await _sms_allowed(session, user):
        raise SignInError(_("Choose one of the accounts."), "account")
    claimed = await session.execute(
        update(SignInToken)
        .where(SignInToken.id == row.id, SignInToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if getattr(claimed, "rowcount", 0) != 1:
        await session.rollback()
        raise _expired()
    await finish_sign_in(session, user, "accounts.login.sms_code", ip_address)
    return user
