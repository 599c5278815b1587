"""An application whose identity number (or email) is already a person in the register.

Anyone who knows someone's identity number can send an application in their name, so an
application never re-keys an existing person: approving it links it to the person and
keeps the register's name and contact details, unless the office, looking at both side
by side, chooses to take the application's value for a field. Such a change is audited
(which fields, never the values) and the person's old address and old mobile are told.
A matched person is invited to the portal only when the office chooses to, and only at
the register's (kept or accepted) address.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.i18n import _, lazy_gettext, locale_scope
from app.core.models import Tenant
from app.core.settings import SUPPORTED_LOCALES
from app.domain.messaging.fields import merge_fields
from app.domain.messaging.queue import queue_message
from app.domain.models import Application, Person

#: The register's fields an application may carry a new value for, in the order shown.
COMPARED_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "mobile",
    "street_address",
    "postal_code",
    "city",
    "preferred_language",
)
#: The fields a clerk signs in with (a mailed link, an SMS code): for a person with a
#: portal account, only the clerk changes them, signed in.
SIGN_IN_FIELDS = frozenset({"email", "mobile"})
#: Fields whose change the person's old address and mobile are told about.
CONTACT_FIELDS = frozenset({"email", "mobile", "street_address", "postal_code", "city"})

FIELD_LABELS = {
    "first_name": lazy_gettext("First name"),
    "last_name": lazy_gettext("Last name"),
    "email": lazy_gettext("Email"),
    "mobile": lazy_gettext("Mobile"),
    "street_address": lazy_gettext("Street address"),
    "postal_code": lazy_gettext("Postal code"),
    "city": lazy_gettext("City"),
    "preferred_language": lazy_gettext("Language for messages"),
}


@dataclass(frozen=True)
class ComparedField:
    name: str
    in_register: str
    in_application: str
    #: The application's value may be taken (it differs, and it is no sign-in field of
    #: a person with a portal account).
    takeable: bool

    @property
    def differs(self) -> bool:
        return _same(self.name, self.in_register) != _same(self.name, self.in_application)


@dataclass(frozen=True)
class RegisterMatch:
    """The register person an application matches, and the two sets of details."""

    person: Person
    #: ``"national_id"`` or ``"email"``: what matched.
    by: str
    fields: list[ComparedField]

    @property
    def has_account(self) -> bool:
        return self.person.user_id is not None

    @property
    def differences(self) -> list[ComparedField]:
        return [f for f in self.fields if f.differs]

    @property
    def can_invite(self) -> bool:
        """Whether a portal invitation could go to the register's address."""
        return not self.has_account and bool(self.person.email)


@dataclass(frozen=True)
class MatchDecision:
    """What the office chose on the application's page for a matched person."""

    #: Fields whose application value replaces the register's.
    take: frozenset[str] = field(default_factory=frozenset)
    #: Invite the person to the portal (at the register's address after ``take``).
    invite: bool = False
    #: ``times_submitted`` of the application the office looked at: a decision about
    #: values it never saw is refused.
    seen_submission: int | None = None


def _same(name: str, value: str | None) -> str:
    value = (value or "").strip()
    return value.casefold() if name in ("email", "first_name", "last_name", "city") else value


async def register_people_for(
    session: AsyncSession, application: Application
) -> tuple[Person | None, Person | None]:
    """(the person with the application's identity number, the person with its email)."""
    by_id = await session.scalar(
        select(Person).where(
            Person.national_id_country == application.national_id_country,
            Person.national_id == application.national_id,
        )
    )
    by_email = await session.scalar(select(Person).where(Person.email == application.email))
    return by_id, by_email


def compare(person: Person, application: Application, by: str) -> RegisterMatch:
    has_account = person.user_id is not None
    fields = []
    for name in COMPARED_FIELDS:
        in_register = str(getattr(person, name) or "")
        in_application = str(getattr(application, name) or "")
        differs = _same(name, in_register) != _same(name, in_application)
        takeable = differs and not (has_account and name in SIGN_IN_FIELDS)
        fields.append(ComparedField(name, in_register, in_application, takeable))
    return RegisterMatch(person, by, fields)


async def register_match(session: AsyncSession, application: Application) -> RegisterMatch | None:
    """The register person this application would be approved into, with both sets of
    details side by side; None for an applicant new to the register (or one already
    handled)."""
    if application.person_id is not None:
        person = await session.scalar(select(Person).where(Person.id == application.person_id))
        return compare(person, application, "national_id") if person is not None else None
    by_id, by_email = await register_people_for(session, application)
    if by_id is not None:
        return compare(by_id, application, "national_id")
    if by_email is not None:
        return compare(by_email, application, "email")
    return None


async def matched_ids(session: AsyncSession, applications: Sequence[Application]) -> set[int]:
    """Which of these open applications match a person in the register (by identity
    number or email), so the inbox can say so before anyone approves them in bulk."""
    waiting = [a for a in applications if a.person_id is None]
    if not waiting:
        return set()
    national_ids = {a.national_id for a in waiting}
    emails = {a.email for a in waiting}
    rows = await session.execute(
        select(Person.national_id_country, Person.national_id, Person.email).where(
            or_(Person.national_id.in_(national_ids), Person.email.in_(emails))
        )
    )
    ids: set[tuple[str | None, str | None]] = set()
    known_emails: set[str | None] = set()
    for country, national_id, email in rows:
        ids.add((country, national_id))
        known_emails.add(email)
    return {
        a.id
        for a in waiting
        if (a.national_id_country, a.national_id) in ids or a.email in known_emails
    }


def refused_choice(match: RegisterMatch, take: Collection[str]) -> str | None:
    """Why the office cannot take these fields, or None."""
    takeable = {f.name for f in match.fields if f.takeable}
    for name in take:
        if name in takeable:
            continue
        if name in SIGN_IN_FIELDS and match.has_account:
            return str(
                _(
                    "This person signs in to the portal with their email and mobile: only "
                    "they can change them, signed in."
                )
            )
        return str(_("Choose only details that differ from the register."))
    return None


async def take_chosen_fields(
    session: AsyncSession,
    actor: Actor,
    tenant: Tenant,
    match: RegisterMatch,
    application: Application,
    take: Collection[str],
) -> list[str]:
    """Write the chosen application values into the person (checked by
    ``refused_choice`` before); tell the old email and mobile when contact details
    change. Returns the fields changed. Does not commit."""
    person = match.person
    changed = [f.name for f in match.fields if f.name in take and f.takeable]
    if not changed:
        return []
    old_email, old_mobile = person.email, person.mobile
    locale = person.preferred_language if person.preferred_language in SUPPORTED_LOCALES else "sv"
    for name in changed:
        setattr(person, name, getattr(application, name))
    contact = [name for name in changed if name in CONTACT_FIELDS]
    if contact:
        await _tell_old_contact(
            session, tenant, person, application, contact, old_email, old_mobile, locale
        )
    await record(
        session,
        actor,
        "people.person.contact_taken_from_application",
        person,
        data={"application": application.id, "fields": changed},
    )
    return changed


async def _tell_old_contact(
    session: AsyncSession,
    tenant: Tenant,
    person: Person,
    application: Application,
    contact: list[str],
    old_email: str | None,
    old_mobile: str | None,
    locale: str,
) -> None:
    """The person's old email (and old mobile, when the mobile changes) hears that the
    office changed their contact details from an application, in their language."""
    with locale_scope(locale):
        names = ", ".join(str(FIELD_LABELS[name]) for name in contact)
    key = f"{application.id}:{application.times_submitted}"
    fields = await merge_fields(
        session, person=person, locale=locale, extra={"person.changed": names}
    )
    sends = [("email", old_email, f"person-contact-changed:{key}")]
    if old_mobile and "mobile" in contact and old_mobile != person.mobile:
        sends.append(("sms", old_mobile, f"person-contact-changed-sms:{key}"))
    for channel, to, once in sends:
        if to:
            await queue_message(
                session,
                key="person_contact_changed",
                channel=channel,
                to=to,
                locale=locale,
                fields=fields,
                idempotency_key=once,
            )
