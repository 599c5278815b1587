"""The person register: validation, duplicates, search, and the audited reveal of id numbers."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Text, cast, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.paging import Page, count_rows, shown_page
from app.core.settings import SUPPORTED_LOCALES
from app.core.validation import EMAIL_PATTERN, Cleaner, FieldErrors
from app.domain.models import EXPERIENCE_LEVELS, PERSON_STATUSES, Person
from app.domain.registers.identity import (
    COUNTRIES,
    IdentityError,
    format_national_id,
    parse_mobile,
    parse_national_id,
)

PERSON_FIELDS = (
    "first_name", "last_name", "national_id_country", "national_id", "email", "mobile",
    "street_address", "postal_code", "city", "preferred_language", "spoken_languages",
    "tags", "notes", "status", "experience",
)  # fmt: skip
SORTS = {
    "name": (Person.last_name, Person.first_name),
    "-name": (Person.last_name.desc(), Person.first_name.desc()),
    "created": (Person.created_at,),
    "-created": (Person.created_at.desc(),),
    "status": (Person.status, Person.last_name),
}


ADDRESS_FIELDS = ("street_address", "postal_code", "city")


def clean_person(data: Mapping[str, Any], default_country: str = "SE") -> dict[str, Any]:
    """Check one person's raw input; returns clean values or raises FieldErrors naming
    every bad field. Duplicates are checked separately (they need the database)."""
    cleaner = Cleaner(data)
    values: dict[str, Any] = {
        "first_name": cleaner.text("first_name", 100, required=True),
        "last_name": cleaner.text("last_name", 100, required=True),
        "street_address": cleaner.text("street_address", 200),
        "postal_code": cleaner.text("postal_code", 10),
        "city": cleaner.text("city", 100),
        "notes": cleaner.text("notes", 5000),
        "preferred_language": cleaner.choice("preferred_language", SUPPORTED_LOCALES, "sv"),
        "spoken_languages": cleaner.words("spoken_languages"),
        "tags": cleaner.words("tags"),
        "status": cleaner.choice("status", PERSON_STATUSES, "active"),
    }
    if "experience" in data:
        # Only forms that show it send it; an import or API call leaves it as it was.
        values["experience"] = cleaner.choice("experience", EXPERIENCE_LEVELS, "none")
    if "address_protected_shown" in data:
        # The office's form alone shows the box (an unticked box sends nothing, hence
        # the marker); an import or an application leaves the protection as it was.
        values["address_protected"] = cleaner.boolean("address_protected")
    country = cleaner.raw("national_id_country").upper() or default_country
    raw_id = cleaner.raw("national_id")
    values.update(national_id_country=None, national_id=None, birth_date=None)
    if country not in COUNTRIES:
        cleaner.fail("national_id_country", _("Choose one of the options."))
    elif raw_id:
        try:
            parsed = parse_national_id(country, raw_id)
        except IdentityError as error:
            cleaner.fail("national_id", error.message)
        else:
            values.update(
                national_id_country=parsed.country,
                national_id=parsed.number,
                birth_date=parsed.birth_date,
            )
    email = cleaner.raw("email").lower()
    if email and (len(email) > 254 or not EMAIL_PATTERN.match(email)):
        cleaner.fail("email", _("Enter a valid email address."))
    values["email"] = email or None
    mobile = cleaner.raw("mobile")
    values["mobile"] = None
    if mobile:
        try:
            values["mobile"] = parse_mobile(mobile, country if country in COUNTRIES else "SE")
        except IdentityError as error:
            cleaner.fail("mobile", error.message)
    cleaner.done()
    return values


async def find_duplicates(
    session: AsyncSession, values: Mapping[str, Any], exclude_id: int | None = None
) -> dict[str, str]:
    """Field errors for an id number or email another person already has."""
    errors: dict[str, str] = {}
    checks = (("national_id", Person.national_id), ("email", Person.email))
    for field, column in checks:
        value = values.get(field)
        if not value:
            continue
        statement = select(Person).where(column == value)
        if exclude_id is not None:
            statement = statement.where(Person.id != exclude_id)
        if await session.scalar(statement.limit(1)) is not None:
            # Deliberately not naming the other person: that would turn the form into a
            # way to look up who owns a number.
            errors[field] = (
                _("This identity number is already in the register.")
                if field == "national_id"
                else _("This email address is already in the register.")
            )
    return errors


def search_names(first_name: str, last_name: str) -> dict[str, str]:
    """The lower-cased name columns that make name-prefix search an index range."""
    return {
        "search_name": f"{first_name} {last_name}".lower(),
        "search_name_reversed": f"{last_name} {first_name}".lower(),
    }


def _apply(person: Person, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        setattr(person, key, value)
    for key, value in search_names(person.first_name, person.last_name).items():
        setattr(person, key, value)


async def create_person(
    session: AsyncSession, actor: Actor, data: Mapping[str, Any], default_country: str = "SE"
) -> Person:
    """Register a person. Refuses bad fields and duplicates, all at once."""
    values = clean_person(data, default_country)
    duplicates = await find_duplicates(session, values)
    if duplicates:
        raise FieldErrors(duplicates)
    person = Person()
    _apply(person, values)
    session.add(person)
    try:
        await session.flush()
        await record(session, actor, "people.person.created", person)
        await session.commit()
    except IntegrityError:
        # Someone registered the same number or address a moment ago. The database's
        # message names the number, so it is neither shown nor logged.
        await session.rollback()
        raise FieldErrors(
            {"national_id": _("This person was registered at the same moment; search for them.")}
        ) from None
    return person


async def update_person(
    session: AsyncSession,
    actor: Actor,
    person_id: int,
    data: Mapping[str, Any],
    default_country: str = "SE",
) -> Person:
    """Change a person. An empty id number field keeps the stored number, empty address
    fields a protected person's stored address. An erased
    person stays erased: their row is kept for past elections, not for new details."""
    person = await get_person(session, person_id)
    if person.erased_at is not None:
        raise FieldErrors({"first_name": _("An erased person cannot be changed.")})
    if not str(data.get("national_id") or "").strip() and person.national_id:
        data = {
            **data,
            "national_id": person.national_id,
            "national_id_country": person.national_id_country,
        }
    if person.address_protected and not any(data.get(key) for key in ADDRESS_FIELDS):
        # A protected address is never shown in the form: empty fields keep it.
        data = {**data, **{key: getattr(person, key) for key in ADDRESS_FIELDS}}
    values = clean_person(data, default_country)
    duplicates = await find_duplicates(session, values, exclude_id=person.id)
    if duplicates:
        raise FieldErrors(duplicates)
    changed = sorted(
        key
        for key, value in values.items()
        if getattr(person, key) != value and key != "birth_date"
    )
    _apply(person, values)
    # The audit entry names changed fields, never the id number itself.
    await record(session, actor, "people.person.updated", person, data={"fields": changed})
    await session.commit()
    return person


async def get_person(session: AsyncSession, person_id: int) -> Person:
    person = await session.scalar(select(Person).where(Person.id == person_id))
    if person is None:
        raise NotFound(_("Not found."))
    return person


async def reveal_national_id(session: AsyncSession, actor: Actor, person_id: int) -> str:
    """The whole id number, for someone who needs it; every reveal is in the audit log."""
    person = await get_person(session, person_id)
    if not person.national_id or not person.national_id_country:
        return ""
    await record(session, actor, "people.person.national_id_revealed", person)
    await session.commit()
    return format_national_id(person.national_id_country, person.national_id)


@dataclass(frozen=True)
class PersonPage(Page):
    people: list[Person]


def starts_with(column: Any, prefix: str) -> Any:
    """``column`` begins with ``prefix``, written as a range so a plain index serves it
    on SQLite and PostgreSQL alike (LIKE would need special operator classes)."""
    return (column >= prefix) & (column < prefix[:-1] + chr(ord(prefix[-1]) + 1))


def is_full_id_query(query: str) -> bool:
    """Whether a search holds a whole id number (10 to 12 digits)."""
    return 10 <= len(re.sub(r"[\s\-+]", "", query)) <= 12 and bool(
        re.fullmatch(r"[0-9\s\-+]+", query.strip())
    )


def search_condition(query: str, full_ids: bool = False) -> Any:
    """Name prefix (first or last name first), birth date of the id number, or mobile.

    A search on an id number looks only at its birth-date part, so nobody can
    rebuild a masked number digit by digit; a whole number is matched exactly only
    for those allowed to see whole numbers (``full_ids``).
    """
    query = query.strip()
    digits = re.sub(r"[\s\-+]", "", query)
    conditions: list[Any] = []
    if digits.isascii() and digits.isdigit() and len(digits) >= 6:
        if full_ids and 10 <= len(digits) <= 12:
            conditions.append(Person.national_id.in_([digits, "19" + digits, "20" + digits]))
        elif len(digits) >= 8 and digits[:2] in ("19", "20"):
            conditions.append(starts_with(Person.national_id, digits[:8]))
        else:
            birth = digits[:6]
            conditions.append(starts_with(Person.national_id, birth))
            conditions.append(starts_with(Person.national_id, "19" + birth))
            conditions.append(starts_with(Person.national_id, "20" + birth))
        with contextlib.suppress(IdentityError):
            conditions.append(Person.mobile == parse_mobile(query))
    else:
        prefix = " ".join(query.lower().split())
        conditions.append(starts_with(Person.search_name, prefix))
        conditions.append(starts_with(Person.search_name_reversed, prefix))
        if "@" in prefix:
            conditions.append(Person.email == prefix)
    return or_(*conditions)


def _filtered(
    statement: Select[Any], query: str, status: str | None, tag: str | None, full_ids: bool = False
) -> Select[Any]:
    if query.strip():
        statement = statement.where(search_condition(query, full_ids))
    if status in PERSON_STATUSES:
        statement = statement.where(Person.status == status)
    if tag:
        # Tags are a JSON list; its text form holds each tag in quotes on both databases.
        statement = statement.where(cast(Person.tags, Text).contains(f'"{tag}"', autoescape=True))
    return statement


async def search_people(
    session: AsyncSession,
    query: str = "",
    status: str | None = None,
    tag: str | None = None,
    sort: str = "name",
    page: int = 1,
    per_page: int = 50,
    actor: Actor | None = None,
) -> PersonPage:
    """One page of the register. ``actor`` is the one searching when they may match
    whole id numbers; such a search is written to the audit log (without the number)."""
    full_ids = actor is not None
    total = await count_rows(session, _filtered(select(Person), query, status, tag, full_ids))
    page = shown_page(page, total, per_page)
    if full_ids and actor is not None and is_full_id_query(query):
        await record(session, actor, "people.search.by_national_id", data={"found": total})
        await session.commit()
    people = await session.scalars(
        _filtered(select(Person), query, status, tag, full_ids)
        .order_by(*SORTS.get(sort, SORTS["name"]), Person.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return PersonPage(list(people), page=page, per_page=per_page, total=total)


async def set_status(
    session: AsyncSession, actor: Actor, person_ids: list[int], status: str
) -> int:
    """Bulk action: give many people one status. Returns how many changed."""
    if status not in PERSON_STATUSES:
        raise FieldErrors({"status": _("Choose one of the options.")})
    people = (
        await session.scalars(
            select(Person).where(Person.id.in_(person_ids), Person.erased_at.is_(None))
        )
    ).all()
    changed = 0
    for person in people:
        if person.status != status:
            person.status = status
            changed += 1
            await record(
                session, actor, "people.person.status_changed", person, data={"status": status}
            )
    await session.commit()
    return changed


async def people_for_export(
    session: AsyncSession, query: str = "", status: str | None = None, tag: str | None = None
) -> list[Person]:
    """Everyone matching a search, for a spreadsheet; id numbers stay masked there, and
    the search looks only at the birth-date part of an id number."""
    statement = _filtered(select(Person), query, status, tag).order_by(*SORTS["name"], Person.id)
    # A thousand at a time: loading a city's register at once holds the event loop.
    result = await session.stream_scalars(statement.execution_options(yield_per=1_000))
    found: list[Person] = []
    async for partition in result.partitions():
        found.extend(partition)
    return found
