"""A clerk's own profile: contact details, language and bank account, and their
request to be removed. Their data as JSON and PDF is in ``personal_data`` and
``personal_data_pdf``.

Every function takes the clerk's own person record (found through their account), so
nothing here can reach anyone else's data. The bank account is stored encrypted
(``app.core.crypto``) and leaves this module only masked, except to the payroll code
that will need it whole (``bank_account_of``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import iban
from stdnum.exceptions import InvalidChecksum, ValidationError

from app.core.audit import Actor, record
from app.core.crypto import DecryptionError, FieldCipher
from app.core.i18n import _
from app.core.models import Tenant, User
from app.core.models.base import utcnow
from app.core.settings import SUPPORTED_LOCALES
from app.core.validation import Cleaner
from app.domain.messaging.queue import queue_with_fields
from app.domain.models import Person
from app.domain.registers.identity import COUNTRIES, IdentityError, format_phone, parse_mobile
from app.domain.site.webparts import site_settings

#: The fields a clerk may change themselves; the rest of the record is the office's.
PROFILE_FIELDS = ("mobile", "street_address", "postal_code", "city", "preferred_language")
MAX_REMOVAL_MESSAGE = 2000
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}")


# --- the bank account -------------------------------------------------------------------


def clean_iban(raw: str) -> str:
    """An IBAN in its compact form (``SE4550000000058398257466``); raises ValueError with
    a translated message.

    Swedish clearing and account numbers are not taken: python-stdnum has no validator
    for them, and the IBAN (shown in every Swedish internet bank) carries the same account.
    """
    compact = re.sub(r"[\s.\-]", "", raw).upper()
    if compact[:1].isdigit():
        # A domestic account number (clearing number first), not an IBAN.
        raise ValueError(
            _(
                "Enter the account as an IBAN: it starts with the country code (SE, DK) and"
                " your internet bank shows it."
            )
        )
    if not _IBAN_SHAPE.fullmatch(compact):
        raise ValueError(_("An IBAN starts with two letters and two digits, e.g. SE45 5000 …"))
    try:
        return str(iban.validate(compact))
    except InvalidChecksum:
        raise ValueError(_("The check digits do not match; check the account number.")) from None
    except ValidationError:
        raise ValueError(_("This is not a valid IBAN for its country; check it.")) from None


def mask_bank_account(account: str) -> str:
    """The country and the last four characters: enough to recognise, useless to misuse."""
    return f"{account[:2]} •••• {account[-4:]}"


@dataclass(frozen=True)
class StoredBankAccount:
    #: ``SE •••• 7466``; empty when none is stored.
    masked: str
    #: Stored but written with a key this server no longer has: the clerk enters it again.
    unreadable: bool = False


def stored_bank_account(cipher: FieldCipher, person: Person) -> StoredBankAccount:
    if not person.bank_account_encrypted:
        return StoredBankAccount("")
    try:
        return StoredBankAccount(mask_bank_account(cipher.decrypt(person.bank_account_encrypted)))
    except DecryptionError:
        return StoredBankAccount("", unreadable=True)


def bank_account_of(cipher: FieldCipher, person: Person) -> str | None:
    """The whole IBAN, for paying the person; never for a page, an export or a log."""
    if not person.bank_account_encrypted:
        return None
    return cipher.decrypt(person.bank_account_encrypted)


# --- editing the profile ----------------------------------------------------------------


def profile_values(person: Person) -> dict[str, Any]:
    """The form's starting values (the bank account field starts empty: it is never
    sent back to the browser)."""
    values: dict[str, Any] = {key: getattr(person, key) or "" for key in PROFILE_FIELDS}
    values["mobile"] = format_phone(person.mobile)
    values["bank_account"] = ""
    return values


def _default_region(person: Person, tenant: Tenant) -> str:
    if person.national_id_country in COUNTRIES:
        return person.national_id_country
    return "DK" if tenant.locale == "da" else "SE"


async def update_profile(
    session: AsyncSession,
    actor: Actor,
    cipher: FieldCipher,
    tenant: Tenant,
    person: Person,
    user: User,
    data: Mapping[str, Any],
) -> list[str]:
    """Save the clerk's own contact details, language and bank account.

    Every field is checked before anything changes; bad ones raise FieldErrors naming
    each. An empty bank account field keeps the stored account; ``remove_bank_account``
    removes it. The language is also the account's, for pages and emails. The audit
    entry names the changed fields, never their values. Returns the changed fields.
    """
    cleaner = Cleaner(data)
    values: dict[str, Any] = {
        "street_address": cleaner.text("street_address", 200),
        "postal_code": cleaner.text("postal_code", 10),
        "city": cleaner.text("city", 100),
        "preferred_language": cleaner.choice(
            "preferred_language", SUPPORTED_LOCALES, person.preferred_language
        ),
        "mobile": None,
    }
    mobile = cleaner.raw("mobile")
    if not mobile:
        cleaner.fail("mobile", _("Enter your mobile number, so that the office can reach you."))
    else:
        try:
            values["mobile"] = parse_mobile(mobile, _default_region(person, tenant))
        except IdentityError as error:
            cleaner.fail("mobile", error.message)
    account: str | None = None
    raw_account = cleaner.raw("bank_account")
    if raw_account:
        try:
            account = clean_iban(raw_account)
        except ValueError as error:
            cleaner.fail("bank_account", str(error))
    cleaner.done()

    changed = sorted(key for key, value in values.items() if getattr(person, key) != value)
    for key in changed:
        setattr(person, key, values[key])
    if account is not None:
        try:
            same = bank_account_of(cipher, person) == account
        except DecryptionError:
            same = False
        if not same:
            person.bank_account_encrypted = cipher.encrypt(account)
            changed.append("bank_account")
    elif cleaner.boolean("remove_bank_account") and person.bank_account_encrypted:
        person.bank_account_encrypted = None
        changed.append("bank_account")
    if user.locale != person.preferred_language:
        user.locale = person.preferred_language
    changed.sort()
    if changed:
        await record(session, actor, "portal.profile.updated", person, data={"fields": changed})
    await session.commit()
    return changed


# --- asking to be removed ---------------------------------------------------------------


async def request_removal(
    session: AsyncSession,
    actor: Actor,
    tenant: Tenant,
    person: Person,
    message: str,
    person_link: str,
) -> bool:
    """Record the clerk's wish to be removed, audit it and mail the office.

    Nothing is erased here: the office decides, since an appointed clerk may have duties
    left (an election to work, pay to receive). Returns whether the office was mailed
    (it is not when the municipality has no office address; the request is still on
    the person's record and in the audit log).
    """
    cleaner = Cleaner({"message": message})
    text = cleaner.text("message", MAX_REMOVAL_MESSAGE)
    cleaner.done()
    now = utcnow()
    person.removal_requested_at = now
    office = (await site_settings(session)).office_email
    if office:
        await queue_with_fields(
            session,
            key="portal_removal_request",
            channel="email",
            to=office,
            locale=tenant.locale,
            idempotency_key=f"removal-request:{person.id}:{now.isoformat()}",
            person=person,
            extra={
                "person.email": person.email or "",
                "removal.message": text,
                "removal.link": person_link,
            },
        )
    await record(
        session,
        actor,
        "portal.removal.requested",
        person,
        data={"office_mailed": bool(office), "with_message": bool(text)},
    )
    await session.commit()
    return bool(office)
