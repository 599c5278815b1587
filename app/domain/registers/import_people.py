"""Importing people: each row meets the register by its identity number, and adds a
person or changes the one it names. The preview shows what each row changes."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.i18n import _
from app.core.phones import format_phone
from app.core.validation import FieldErrors
from app.domain.labels import COUNTRY, LANGUAGE, PERSON_STATUS, SPOKEN_LANGUAGES
from app.domain.models import Person
from app.domain.registers.identity import (
    COUNTRIES,
    IdentityError,
    mask_national_id,
    parse_national_id,
)
from app.domain.registers.import_preview import (
    WRITE_BATCH,
    ChoiceReader,
    FieldChange,
    ImportPreview,
    RowChange,
    add_problems,
    read_choices,
    write_in_batches,
)
from app.domain.registers.people import clean_person, search_names

#: The fields a row may change on a person already in the register. The id number is
#: how the row finds them, so it is never changed by an import.
UPDATABLE = (
    "first_name", "last_name", "email", "mobile", "street_address", "postal_code", "city",
    "preferred_language", "spoken_languages", "tags", "notes", "status",
)  # fmt: skip


@dataclass
class Known:
    """What the register holds of the people a file names: each one's values by id
    number, and the person each email address belongs to."""

    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    email_owners: dict[str, int] = field(default_factory=dict)


@dataclass
class PeopleRows:
    """A file's rows, sorted: new people's values, and each change by person id."""

    new: list[dict[str, Any]] = field(default_factory=list)
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)


def readers() -> dict[str, ChoiceReader]:
    """The people's columns with a fixed list of values."""
    return {
        "status": ChoiceReader(PERSON_STATUS),
        "preferred_language": ChoiceReader(LANGUAGE),
        "national_id_country": ChoiceReader(COUNTRY),
    }


def keys_of(rows: list[dict[str, Any]], default_country: str) -> tuple[set[str], set[str]]:
    """The identity numbers and email addresses the rows name, as the register keeps
    them; a number that does not parse is left to the row's own check."""
    ids: set[str] = set()
    emails: set[str] = set()
    countries = readers()["national_id_country"]
    for row in rows:
        country = countries.read(str(row.get("national_id_country") or "")) or default_country
        raw_id = str(row.get("national_id") or "")
        if raw_id.strip() and country in COUNTRIES:
            with contextlib.suppress(IdentityError):
                ids.add(parse_national_id(country, raw_id).number)
        email = str(row.get("email") or "").strip().lower()
        if email:
            emails.add(email)
    return ids, emails


async def known_people(session: AsyncSession, ids: set[str], emails: set[str]) -> Known:
    known = Known()
    for chunk in _chunks(ids):
        for person in await session.scalars(select(Person).where(Person.national_id.in_(chunk))):
            assert person.national_id is not None
            known.people[person.national_id] = {
                "id": person.id,
                "national_id_country": person.national_id_country,
                **{name: getattr(person, name) for name in UPDATABLE},
            }
    for chunk in _chunks(emails):
        rows = await session.execute(select(Person.email, Person.id).where(Person.email.in_(chunk)))
        known.email_owners.update((email, person_id) for email, person_id in rows if email)
    return known


def _chunks(values: set[str], size: int = 500) -> list[list[str]]:
    listed = sorted(values)
    return [listed[start : start + size] for start in range(0, len(listed), size)]


def sort_rows(
    rows: list[dict[str, Any]], known: Known, preview: ImportPreview, default_country: str
) -> PeopleRows:
    """Check each row, and sort it into a new person, a change or nothing to do; a bad
    row's problems go to the preview. Pure work, for a worker thread."""
    sorted_rows = PeopleRows()
    choice_readers = readers()
    seen_ids: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    for number, raw in enumerate(rows, start=2):
        row, refused = read_choices(raw, choice_readers)
        matched = _match(row, known, default_country)
        if matched is not None:
            # A change needs no name: the person has one.
            for name in ("first_name", "last_name"):
                row[name] = row.get(name) or matched[name]
        try:
            values = clean_person(row, default_country)
        except FieldErrors as error:
            add_problems(preview, number, FieldErrors({**error.errors, **refused}))
            continue
        if refused:
            add_problems(preview, number, FieldErrors(refused))
            continue
        problems = _clashes(number, values, matched, known, seen_ids, seen_emails)
        if problems:
            add_problems(preview, number, FieldErrors(problems))
        elif matched is None:
            sorted_rows.new.append(values)
        else:
            _sort_change(number, raw, values, matched, preview, sorted_rows)
    preview.added = len(sorted_rows.new)
    return sorted_rows


def _match(row: dict[str, Any], known: Known, default_country: str) -> dict[str, Any] | None:
    """The person in the register the row's id number names, if any."""
    country = str(row.get("national_id_country") or "") or default_country
    raw_id = str(row.get("national_id") or "")
    if not raw_id.strip() or country not in COUNTRIES:
        return None
    try:
        number = parse_national_id(country, raw_id).number
    except IdentityError:
        return None
    return known.people.get(number)


def _clashes(
    number: int,
    values: dict[str, Any],
    matched: dict[str, Any] | None,
    known: Known,
    seen_ids: dict[str, int],
    seen_emails: dict[str, int],
) -> dict[str, str]:
    """An id number or email on an earlier row, or an email of another person."""
    problems: dict[str, str] = {}
    national_id, email = values["national_id"], values["email"]
    if national_id and national_id in seen_ids:
        problems["national_id"] = _("Same as row %(row)s.", row=seen_ids[national_id])
    owner = known.email_owners.get(email) if email else None
    if owner is not None and (matched is None or owner != matched["id"]):
        # Deliberately not naming the other person.
        problems["email"] = _("Another person in the register has this email address.")
    elif email and email in seen_emails:
        problems["email"] = _("Same as row %(row)s.", row=seen_emails[email])
    if not problems:
        if national_id:
            seen_ids[national_id] = number
        if email:
            seen_emails[email] = number
    return problems


def _sort_change(
    number: int,
    raw: dict[str, Any],
    values: dict[str, Any],
    matched: dict[str, Any],
    preview: ImportPreview,
    sorted_rows: PeopleRows,
) -> None:
    """Note what the row changes of the person it names. Only the columns the row fills
    count: an empty cell leaves the register's value as it is."""
    changes = {
        name: values[name]
        for name in UPDATABLE
        if str(raw.get(name) or "").strip() and values[name] != matched[name]
    }
    if not changes:
        preview.unchanged += 1
        return
    sorted_rows.updates[matched["id"]] = changes
    label = f"{matched['first_name']} {matched['last_name']}".strip()
    masked = mask_national_id(matched["national_id_country"], values["national_id"])
    preview.changed.append(
        RowChange(
            number,
            f"{label} ({masked})" if masked else label,
            [
                FieldChange(name, shown(name, matched[name]), shown(name, new))
                for name, new in changes.items()
            ],
        )
    )


def shown(name: str, value: Any) -> str:
    """A person's value as the preview shows it."""
    if value is None or value == "" or value == []:
        return "–"
    if name == "mobile":
        return format_phone(value)
    if name == "status":
        return str(PERSON_STATUS.get(value, value))
    if name == "preferred_language":
        return LANGUAGE.get(value, value)
    if name == "spoken_languages":
        return ", ".join(str(SPOKEN_LANGUAGES.get(code, code)) for code in value)
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


async def write_people(
    session: AsyncSession, actor: Actor, batch_id: int, sorted_rows: PeopleRows
) -> list[str]:
    """Add the new people and change the others, auditing each change by the names of
    its fields (never their values). Returns the fields changed; nothing is committed."""
    await write_in_batches(session, sorted_rows.new, _new_person)
    fields: set[str] = set()
    ids = sorted(sorted_rows.updates)
    for start in range(0, len(ids), WRITE_BATCH):
        chunk = ids[start : start + WRITE_BATCH]
        for person in await session.scalars(select(Person).where(Person.id.in_(chunk))):
            changes = sorted_rows.updates[person.id]
            for name, value in changes.items():
                setattr(person, name, value)
            for name, value in search_names(person.first_name, person.last_name).items():
                setattr(person, name, value)
            fields.update(changes)
            await record(
                session,
                actor,
                "people.person.updated",
                person,
                data={"fields": sorted(changes), "import": batch_id},
            )
        await session.flush()
        await asyncio.sleep(0)
    return sorted(fields)


def _new_person(values: dict[str, Any]) -> Person:
    person = Person(**values)
    for key, value in search_names(person.first_name, person.last_name).items():
        setattr(person, key, value)
    return person
