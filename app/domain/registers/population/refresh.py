"""Refreshing the register from the population register, and what it changes.

Two steps, as every import: ``stage_extract`` reads an extract file, checks every row
and shows what it would change; ``commit_extract`` checks it again and writes every
change or none. ``refresh_people`` does the work for any ``PopulationRegister`` (the
command line and the tests call it directly).

For each person here with an identity number of the register's country the register
holds: the name and address are refreshed, the day they died or moved out of the
municipality is kept (and cleared when the register no longer says so), and protected
identity is marked. A protected person's address and home coordinates are removed (the
register gives none) and never shown again (``registers.protection``); the register
never lifts the protection, only the office does. Under 18 on the coming election day
is shown from the birth date (the optimiser and the board already keep them off).

Every lookup is audited with its source and counts, every changed person with the
fields changed; no identity number, name or address goes into the audit log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.documents.spreadsheets import in_worker_thread, read_table
from app.core.models import utcnow
from app.domain.models import Election, ImportBatch, Person
from app.domain.registers.identity import age_on
from app.domain.registers.imports import claim_batch, get_batch, unclaimed
from app.domain.registers.people import search_names
from app.domain.registers.population import PopulationRegister, RegisterEntry
from app.domain.registers.population.extract import (
    ExtractReading,
    ExtractRegister,
    decode,
    fixed_width_rows,
    is_fixed_width,
    read_rows,
)

KIND = "population"
MINIMUM_AGE = 18
#: The fields a change names (in the preview and the audit log).
CHANGE_FIELDS = ("name", "address", "protected", "died", "moved_out", "birth_date")


@dataclass
class PersonChange:
    """What the register changes of one person; ``fields`` from ``CHANGE_FIELDS``."""

    person_id: int
    name: str
    entry: RegisterEntry
    fields: list[str]
    under_age: bool = False


@dataclass
class Refresh:
    """A lookup's outcome: how many were asked about and found, and the changes."""

    source: str
    looked_up: int = 0
    found: int = 0
    found_ids: list[int] = field(default_factory=list)
    changes: list[PersonChange] = field(default_factory=list)
    election: Election | None = None

    @property
    def under_age(self) -> list[PersonChange]:
        return [change for change in self.changes if change.under_age]

    def count(self, name: str) -> int:
        return sum(1 for change in self.changes if name in change.fields)


@dataclass
class ExtractPreview:
    batch: ImportBatch
    reading: ExtractReading
    refresh: Refresh | None = None

    @property
    def ok(self) -> bool:
        return self.reading.ok


async def coming_election(session: AsyncSession, today: dt.date) -> Election | None:
    """The first election whose day is today or later."""
    return await session.scalar(
        select(Election)
        .where(Election.election_day >= today)
        .order_by(Election.election_day, Election.id)
        .limit(1)
    )


def _changed_fields(person: Person, entry: RegisterEntry) -> list[str]:
    fields: list[str] = []
    if (person.first_name, person.last_name) != (entry.first_name, entry.last_name):
        fields.append("name")
    if entry.protected and not person.address_protected:
        fields.append("protected")
    shown = (entry.street_address, entry.postal_code, entry.city)
    if entry.protected or person.address_protected:
        if (person.street_address, person.postal_code, person.city) != ("", "", ""):
            fields.append("address")
    elif any(shown) and shown != (person.street_address, person.postal_code, person.city):
        fields.append("address")
    if person.died_on != entry.died_on:
        fields.append("died")
    if person.moved_out_on != entry.moved_out_on:
        fields.append("moved_out")
    if person.birth_date != entry.birth_date:
        fields.append("birth_date")
    return fields


async def plan_refresh(
    session: AsyncSession, register: PopulationRegister, country: str, today: dt.date
) -> Refresh:
    """Ask the register about everyone here with a number of its country (not erased)
    and compare; writes nothing."""
    refresh = Refresh(source=register.source, election=await coming_election(session, today))
    people = list(
        await session.scalars(
            select(Person)
            .where(
                Person.national_id.is_not(None),
                Person.national_id_country == country,
                Person.erased_at.is_(None),
            )
            .order_by(Person.last_name, Person.first_name, Person.id)
        )
    )
    refresh.looked_up = len(people)
    answers = await register.look_up([person.national_id or "" for person in people])
    refresh.found = len(answers)
    election_day = refresh.election.election_day if refresh.election else None
    for person in people:
        entry = answers.get(person.national_id or "")
        if entry is None:
            continue
        refresh.found_ids.append(person.id)
        under_age = (
            election_day is not None
            and entry.died_on is None
            and age_on(entry.birth_date, election_day) < MINIMUM_AGE
        )
        fields = _changed_fields(person, entry)
        if fields or under_age:
            refresh.changes.append(
                PersonChange(person.id, person.full_name, entry, fields, under_age)
            )
    return refresh


def _apply(person: Person, change: PersonChange) -> None:
    entry = change.entry
    if "name" in change.fields:
        person.first_name, person.last_name = entry.first_name, entry.last_name
        for key, value in search_names(entry.first_name, entry.last_name).items():
            setattr(person, key, value)
    if entry.protected:
        person.address_protected = True
    if "address" in change.fields:
        if person.address_protected:
            person.street_address = person.postal_code = person.city = ""
        else:
            person.street_address = entry.street_address
            person.postal_code = entry.postal_code
            person.city = entry.city
        # Coordinates of the old home: wrong now, and a protected person's home.
        person.latitude = person.longitude = None
    person.died_on, person.moved_out_on = entry.died_on, entry.moved_out_on
    person.birth_date = entry.birth_date


async def write_refresh(session: AsyncSession, actor: Actor, refresh: Refresh) -> None:
    """Write a planned refresh and its audit entries; does not commit."""
    ids = [change.person_id for change in refresh.changes if change.fields]
    people = {
        person.id: person
        for person in await session.scalars(select(Person).where(Person.id.in_(ids)))
    }
    for change in refresh.changes:
        person = people.get(change.person_id)
        if person is None or not change.fields:
            continue
        _apply(person, change)
        await record(
            session,
            actor,
            "people.person.register_refreshed",
            person,
            data={
                "source": refresh.source,
                "fields": change.fields,
                "died_on": person.died_on.isoformat() if person.died_on else None,
                "moved_out_on": person.moved_out_on.isoformat() if person.moved_out_on else None,
            },
        )
    for start in range(0, len(refresh.found_ids), 500):
        await session.execute(
            update(Person)
            .where(Person.id.in_(refresh.found_ids[start : start + 500]))
            .values(register_checked_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    await record(
        session,
        actor,
        "people.register.refreshed",
        data={
            "source": refresh.source,
            "looked_up": refresh.looked_up,
            "found": refresh.found,
            "changed": len(ids),
        },
    )


async def refresh_people(
    session: AsyncSession,
    actor: Actor,
    register: PopulationRegister,
    country: str,
    today: dt.date,
) -> Refresh:
    """Look everyone up in ``register`` and write what changed, in one transaction."""
    refresh = await plan_refresh(session, register, country, today)
    await write_refresh(session, actor, refresh)
    await session.commit()
    return refresh


async def look_up_people(
    session: AsyncSession,
    actor: Actor,
    register: PopulationRegister,
    country: str,
    today: dt.date,
) -> Refresh:
    """Look everyone up and show what would change, writing only the lookup's audit
    entry (a dry run)."""
    refresh = await plan_refresh(session, register, country, today)
    await record(
        session,
        actor,
        "people.register.looked_up",
        data={"source": refresh.source, "looked_up": refresh.looked_up, "found": refresh.found},
    )
    await session.commit()
    return refresh


# --- an extract file: staged, previewed, confirmed -----------------------------------


async def read_extract(filename: str, content: bytes, country: str) -> ExtractReading:
    """Read a whole file (no staging): the command line's way in."""
    return await in_worker_thread(
        read_rows, await _raw_rows(filename, content), is_fixed_width(filename), country
    )


async def _raw_rows(filename: str, content: bytes) -> list[dict[str, str]]:
    if is_fixed_width(filename):
        return fixed_width_rows(decode(content))
    raw_rows = await in_worker_thread(read_table, filename, content)
    return [
        {key: "" if value is None else str(value) for key, value in raw.items()} for raw in raw_rows
    ]


async def stage_extract(
    session: AsyncSession,
    actor: Actor,
    filename: str,
    content: bytes,
    country: str,
    today: dt.date,
) -> ExtractPreview:
    """Keep an extract file for ``commit_extract`` and show what it would change; the
    lookup is audited. A file that cannot be read at all is refused (``DomainError``
    at the file)."""
    batch = ImportBatch(
        kind=KIND,
        filename=filename[:255],
        rows=await _raw_rows(filename, content),
        created_by_id=actor.user_id,
    )
    session.add(batch)
    await session.flush()
    preview = await _check(session, batch, country, today)
    await record(
        session,
        actor,
        "people.register.looked_up",
        batch,
        data={
            "source": batch.filename,
            "rows": len(preview.reading.entries),
            "problems": len(preview.reading.problems),
            "looked_up": preview.refresh.looked_up if preview.refresh else 0,
            "found": preview.refresh.found if preview.refresh else 0,
        },
    )
    await session.commit()
    return preview


async def get_extract_batch(session: AsyncSession, batch_id: int) -> ImportBatch:
    return await get_batch(session, batch_id, (KIND,))


async def preview_extract(
    session: AsyncSession, batch_id: int, country: str, today: dt.date
) -> ExtractPreview:
    return await _check(session, await get_extract_batch(session, batch_id), country, today)


async def _check(
    session: AsyncSession, batch: ImportBatch, country: str, today: dt.date
) -> ExtractPreview:
    reading = await in_worker_thread(read_rows, batch.rows, is_fixed_width(batch.filename), country)
    preview = ExtractPreview(batch=batch, reading=reading)
    if reading.ok and batch.committed_at is None:
        register = ExtractRegister((entry for _row, entry in reading.entries), batch.filename)
        preview.refresh = await plan_refresh(session, register, country, today)
    return preview


async def commit_extract(
    session: AsyncSession, actor: Actor, batch_id: int, country: str, today: dt.date
) -> ExtractPreview:
    """Write what a checked extract changes, every change or none; the file's rows
    (whole identity numbers) are not kept afterwards."""
    batch = unclaimed(await get_extract_batch(session, batch_id))
    preview = await _check(session, batch, country, today)
    if not preview.ok or preview.refresh is None:
        return preview
    await claim_batch(session, batch)
    await write_refresh(session, actor, preview.refresh)
    batch.rows = []
    await session.commit()
    return preview
