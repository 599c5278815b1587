"""A clerk's own profile: contact details, language and bank account; their data as
JSON and PDF; and their request to be removed.

Every function takes the clerk's own person record (found through their account), so
nothing here can reach anyone else's data. The bank account is stored encrypted
(``app.core.crypto``) and leaves this module only masked, except to the payroll code
that will need it whole (``bank_account_of``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from stdnum import iban
from stdnum.exceptions import InvalidChecksum, ValidationError

from app.core.audit import Actor, record
from app.core.crypto import DecryptionError, FieldCipher
from app.core.i18n import _, get_locale
from app.core.models import Tenant, User
from app.core.models.base import utcnow
from app.core.outbox.mail import queue_email
from app.core.settings import SUPPORTED_LOCALES
from app.core.validation import Cleaner
from app.domain.models import (
    Application,
    Assignment,
    District,
    Election,
    Person,
    Reserve,
    RoleType,
    Shift,
    Station,
)
from app.domain.recruitment.own_application import application_data
from app.domain.registers.availability import for_person
from app.domain.registers.identity import (
    COUNTRIES,
    IdentityError,
    format_phone,
    mask_national_id,
    parse_mobile,
)
from app.domain.site.webparts import site_settings
from app.domain.staffing.reports import StemmaPDF, pdf_text

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
        queue_email(
            session,
            to=office,
            template="portal_removal_request",
            locale=tenant.locale,
            idempotency_key=f"removal-request:{person.id}:{now.isoformat()}",
            tenant_id=tenant.id,
            name=person.full_name,
            email=person.email or "",
            message=text,
            link=person_link,
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


# --- the person's own data --------------------------------------------------------------


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat() if value is not None else None


async def my_data(
    session: AsyncSession, cipher: FieldCipher, tenant: Tenant, person: Person, user: User | None
) -> dict[str, Any]:
    """Everything stored about the person, for them to download (GDPR, article 15).

    The id number and the bank account are masked: the file ends up in a downloads
    folder, and the person knows both. Proposals the office has not sent yet are left
    out (they are drafts, not decisions about the person).
    """
    bank = stored_bank_account(cipher, person)
    availability = await for_person(session, person.id)
    assignments = await session.execute(
        select(Assignment, Election, Station, Shift, RoleType)
        .join(Election, Election.id == Assignment.election_id)
        .join(Station, Station.id == Assignment.station_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .where(
            Assignment.person_id == person.id,
            Assignment.state != "proposed",
            or_(Assignment.state != "withdrawn", Assignment.offered_at.is_not(None)),
        )
        .order_by(Shift.day, Shift.starts_at, Assignment.id)
    )
    reserves = await session.execute(
        select(Reserve, Election, District)
        .join(Election, Election.id == Reserve.election_id)
        .outerjoin(District, District.id == Reserve.district_id)
        .where(Reserve.person_id == person.id)
        .order_by(Election.election_day)
    )
    applications = await session.scalars(
        select(Application)
        .where(Application.person_id == person.id)
        .options(
            selectinload(Application.choices),
            selectinload(Application.days),
            selectinload(Application.districts),
        )
        .order_by(Application.submitted_at)
    )
    return {
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "municipality": tenant.name,
        "person": {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "national_id": mask_national_id(person.national_id_country, person.national_id),
            "birth_date": _iso(person.birth_date),
            "email": person.email,
            "mobile": person.mobile,
            "street_address": person.street_address,
            "postal_code": person.postal_code,
            "city": person.city,
            "preferred_language": person.preferred_language,
            "spoken_languages": list(person.spoken_languages),
            "experience": person.experience,
            "status": person.status,
            "tags": list(person.tags),
            "notes": person.notes,
            "bank_account": bank.masked or None,
            "calendar_feed": person.calendar_token_hash is not None,
            "removal_requested_at": _iso(person.removal_requested_at),
            "registered_at": _iso(person.created_at),
            "updated_at": _iso(person.updated_at),
        },
        "account": {
            "email": user.email,
            "name": user.name,
            "language": user.locale,
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
        }
        if user is not None
        else None,
        "availability": [
            {
                "election": entry.election.name,
                "days": [
                    {"day": day.isoformat(), "work_kinds": list(kinds)}
                    for day, kinds in sorted(entry.days.items())
                ],
                "district_wishes": [f"{d.code} {d.name}" for d in entry.districts],
            }
            for entry in availability
        ],
        "assignments": [
            {
                "election": election.name,
                "station": station.name,
                "role": role.name,
                "day": shift.day.isoformat(),
                "starts_at": shift.starts_at.strftime("%H:%M"),
                "ends_at": shift.ends_at.strftime("%H:%M"),
                "state": assignment.state,
                "offered_at": _iso(assignment.offered_at),
                "responded_at": _iso(assignment.responded_at),
                "decline_reason": assignment.decline_reason,
            }
            for assignment, election, station, shift, role in assignments
        ],
        "reserves": [
            {
                "election": election.name,
                "district": f"{district.code} {district.name}" if district else None,
                "note": reserve.note,
            }
            for reserve, election, district in reserves
        ],
        "applications": [
            await application_data(session, application) for application in applications
        ],
    }


def _day(value: str | None) -> str:
    if not value:
        return "–"
    return format_date(dt.date.fromisoformat(value[:10]), format="long", locale=get_locale())


def _moment(value: str | None, zone: ZoneInfo) -> str:
    """A stored UTC time as the municipality's clock shows it, in the reader's language."""
    if not value:
        return "–"
    moment = dt.datetime.fromisoformat(value)
    return format_datetime(moment, format="medium", tzinfo=zone, locale=get_locale())


def _label(labels: Mapping[str, Any], code: str | None) -> str:
    return str(labels.get(code, code)) if code else "–"


def write_my_data_pdf(
    data: Mapping[str, Any], labels: Mapping[str, Mapping[str, Any]], timezone: str
) -> bytes:
    """The same data as the JSON file, on A4 for reading and printing.

    ``labels`` names the fixed choices in the reader's language: ``language``,
    ``work_kind``, ``state``, ``status``, ``experience``, ``application_status``.
    """
    zone = ZoneInfo(timezone)

    def moment(value: str | None) -> str:
        return _moment(value, zone)

    person = data["person"]
    name = f"{person['first_name']} {person['last_name']}"
    pdf = StemmaPDF(running_text=f"{data['municipality']} · {_('My data')} · {name}")
    pdf.set_title(pdf_text(f"{_('My data')} – {name}"))
    pdf.set_author(pdf_text(data["municipality"]))
    pdf.add_page()
    pdf.text_line(data["municipality"], 11, "B")
    pdf.text_line(_("My data"), 20, "B", height=10)
    when = moment(data["exported_at"])
    pdf.paragraph(_("Everything stored about %(name)s, as of %(when)s.", name=name, when=when), 10)

    def heading(text: str) -> None:
        pdf.ln(5)
        pdf.text_line(text, 13, "B", height=8)

    def row(label: str, value: object) -> None:
        pdf.paragraph(f"{label}: {value if value not in (None, '') else '–'}", 10, line_height=5.5)

    heading(_("In the register"))
    address = ", ".join(
        part
        for part in (person["street_address"], f"{person['postal_code']} {person['city']}".strip())
        if part
    )
    row(_("Name"), name)
    row(_("Identity number"), person["national_id"])
    row(_("Date of birth"), _day(person["birth_date"]) if person["birth_date"] else "")
    row(_("Email"), person["email"])
    row(_("Mobile"), person["mobile"])
    row(_("Address"), address)
    row(_("Language"), _label(labels["language"], person["preferred_language"]))
    row(_("Languages spoken"), ", ".join(person["spoken_languages"]))
    row(_("Experience"), _label(labels["experience"], person["experience"]))
    row(_("Status"), _label(labels["status"], person["status"]))
    row(_("Tags"), ", ".join(person["tags"]))
    row(_("Notes from the election office"), person["notes"])
    row(_("Bank account"), person["bank_account"])
    row(_("Calendar feed"), _("in use") if person["calendar_feed"] else _("not in use"))
    if person["removal_requested_at"]:
        row(_("Asked to be removed"), moment(person["removal_requested_at"]))
    row(_("Registered"), moment(person["registered_at"]))
    row(_("Last changed"), moment(person["updated_at"]))
    account = data["account"]
    if account:
        heading(_("Account"))
        row(_("Email"), account["email"])
        row(_("Language"), _label(labels["language"], account["language"]))
        row(_("Created"), moment(account["created_at"]))
        row(_("Last signed in"), moment(account["last_login_at"]))
    heading(_("Availability and district wishes"))
    if not data["availability"]:
        row(_("Availability"), _("none given"))
    for entry in data["availability"]:
        pdf.text_line(entry["election"], 11, "B", height=6.5)
        for day in entry["days"]:
            kinds = ", ".join(_label(labels["work_kind"], kind) for kind in day["work_kinds"])
            row(_day(day["day"]), kinds)
        if entry["district_wishes"]:
            row(_("District wishes"), ", ".join(entry["district_wishes"]))
    heading(_("Assignments"))
    if not data["assignments"]:
        row(_("Assignments"), _("none"))
    for item in data["assignments"]:
        row(
            f"{_day(item['day'])} {item['starts_at']}–{item['ends_at']}",
            f"{item['role']} · {item['station']} ({item['election']}),"
            f" {_label(labels['state'], item['state'])}"
            + (f" – {item['decline_reason']}" if item["decline_reason"] else ""),
        )
    if data["reserves"]:
        heading(_("Reserve"))
        for reserve in data["reserves"]:
            row(
                reserve["election"], ", ".join(filter(None, (reserve["district"], reserve["note"])))
            )
    if data["applications"]:
        heading(_("Applications"))
        for application in data["applications"]:
            row(_("Sent"), moment(application["submitted_at"]))
            row(_("Status"), _label(labels["application_status"], application["status"]))
            for choice in application["elections"]:
                kinds = ", ".join(_label(labels["work_kind"], k) for k in choice["work_kinds"])
                days = ", ".join(_day(day) for day in choice["days"])
                row(choice["election"] or "–", "; ".join(filter(None, (kinds, days))))
                if choice["districts"]:
                    row(_("District wishes"), ", ".join(choice["districts"]))
            for key, label in (
                ("preferred_areas", _("Preferred areas")),
                ("experience_notes", _("About your experience")),
                ("message", _("Message")),
            ):
                if application[key]:
                    row(label, application[key])
    return bytes(pdf.output())


def export_filename(extension: str, today: dt.date | None = None) -> str:
    return f"my-data-{(today or dt.date.today()).isoformat()}.{extension}"


async def record_export(session: AsyncSession, actor: Actor, person: Person, kind: str) -> None:
    """Downloads of one's own data are in the audit log, as every export of personal data."""
    await record(session, actor, "portal.data.exported", person, data={"format": kind})
    await session.commit()
