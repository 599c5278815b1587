"""Importing people, rooms and an election's districts and stations from CSV or XLSX.

Two steps: ``stage_import`` reads the file, validates every row and keeps the batch;
``commit_import`` validates again and writes every row or none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.db import refresh_statistics
from app.core.documents.spreadsheets import in_worker_thread, read_fields
from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.models import utcnow
from app.core.validation import Cleaner, FieldErrors
from app.domain.elections.elections import get_election
from app.domain.labels import STATION_KIND
from app.domain.models import Building, District, ImportBatch, Room, Station
from app.domain.registers import import_people, import_rooms
from app.domain.registers.import_preview import (
    ChoiceReader,
    ImportPreview,
    add_problems,
    write_in_batches,
)

KINDS = ("people", "rooms", "structure")

#: Accepted column names (Swedish, Danish, English) for each field.
ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name", "förnamn", "fornavn", "first name"),
    "last_name": ("last_name", "efternamn", "efternavn", "last name", "surname"),
    "national_id": (
        "national_id",
        "personnummer",
        "cpr",
        "fødselsnummer",
        "identity number",
        "id number",
    ),
    "national_id_country": ("national_id_country", "land", "country"),
    "email": ("email", "e-post", "e-mail", "epost", "mail"),
    "mobile": ("mobile", "mobil", "mobilnummer", "mobiltelefon", "telefon", "phone"),
    "street_address": ("street_address", "adress", "gatuadress", "adresse", "address"),
    "postal_code": ("postal_code", "postnummer", "postnr", "postal code", "zip"),
    "city": ("city", "ort", "postort", "by"),
    "preferred_language": ("preferred_language", "språk", "sprog", "language"),
    "spoken_languages": ("spoken_languages", "talar", "taler", "languages spoken"),
    "tags": ("tags", "taggar", "etiketter"),
    "notes": ("notes", "anteckningar", "noter", "bemærkninger"),
    "status": ("status",),
    "building": ("building", "byggnad", "bygning", "lokal", "fastighet"),
    "room": ("room", "rum", "lokale", "sal"),
    "capacity": ("capacity", "kapacitet", "platser"),
    "district_code": (
        "district_code",
        "distriktskod",
        "valdistrikt kod",
        "kod",
        "kode",
        "code",
        "district code",
    ),
    "district_name": ("district_name", "valdistrikt", "distrikt", "afstemningsområde", "district"),
    "eligible_voters": ("eligible_voters", "röstberättigade", "vælgere", "voters"),
    "station_name": ("station_name", "vallokal", "röstningslokal", "afstemningssted", "station"),
    "station_kind": ("station_kind", "typ", "type", "kind"),
}
STATION_KIND_WORDS = {
    "polling": "polling", "vallokal": "polling", "valdag": "polling", "afstemningssted": "polling",
    "advance": "advance", "förtid": "advance", "förtidsröstning": "advance",
    "förtidsröstningslokal": "advance", "brevstemme": "advance", "brevstemmested": "advance",
}  # fmt: skip


async def stage_import(
    session: AsyncSession,
    actor: Actor,
    kind: str,
    filename: str,
    content: bytes,
    election_id: int | None = None,
    default_country: str = "SE",
) -> ImportPreview:
    """Read and check a file; keep it as a batch for ``commit_import``."""
    if kind not in KINDS:
        raise FieldErrors({"kind": _("Choose what the file contains.")})
    if kind == "structure" and election_id is None:
        raise FieldErrors({"election_id": _("Choose the election.")})
    if election_id is not None:
        await _election_of_this_municipality(session, election_id)
    # Reading a large file takes seconds of CPU: a worker thread does it.
    rows = await in_worker_thread(read_fields, filename, content, ALIASES)
    batch = ImportBatch(
        kind=kind,
        # Only a structure import belongs to an election.
        election_id=election_id if kind == "structure" else None,
        filename=filename[:255],
        rows=rows,
        created_by_id=actor.user_id,
    )
    session.add(batch)
    await session.flush()
    preview = await _check(session, batch, default_country)
    await session.commit()
    return preview


async def _election_of_this_municipality(session: AsyncSession, election_id: int) -> None:
    """Refuse an election id that is not one of this municipality's: another
    municipality's and one that does not exist get the same answer."""
    try:
        await get_election(session, election_id)
    except NotFound:
        raise FieldErrors(
            {"election_id": _("There is no such election; choose one from the list.")}
        ) from None


async def get_batch(
    session: AsyncSession, batch_id: int, kinds: tuple[str, ...] = KINDS
) -> ImportBatch:
    """A staged file of these kinds (a candidate file's batch is opened only by the
    candidate import, ``registers.candidates``)."""
    batch = await session.scalar(
        select(ImportBatch).where(ImportBatch.id == batch_id, ImportBatch.kind.in_(kinds))
    )
    if batch is None:
        raise NotFound(_("Not found."))
    return batch


def unclaimed(batch: ImportBatch) -> ImportBatch:
    """The staged file, refused when it has been imported already."""
    if batch.committed_at is not None:
        raise DomainError(_("This file has already been imported."))
    return batch


async def claim_batch(session: AsyncSession, batch: ImportBatch) -> None:
    """Mark a checked file imported before its rows are written (every staged kind does).

    Conditional, so a second click at the same moment cannot import the file twice: the
    later one is rolled back and refused."""
    now = utcnow()
    claimed = await session.execute(
        update(ImportBatch)
        .where(ImportBatch.id == batch.id, ImportBatch.committed_at.is_(None))
        .values(committed_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        await session.rollback()
        raise DomainError(_("This file has already been imported."))
    batch.committed_at = now  # what the database now holds, for the pages that follow


async def preview_batch(
    session: AsyncSession, batch_id: int, default_country: str = "SE"
) -> ImportPreview:
    return await _check(session, await get_batch(session, batch_id), default_country)


async def commit_import(
    session: AsyncSession, actor: Actor, batch_id: int, default_country: str = "SE"
) -> ImportPreview:
    """Write every row of the batch, or nothing when any row is wrong now."""
    batch = unclaimed(await get_batch(session, batch_id))
    preview = await _check(session, batch, default_country, writer=actor)
    if not preview.ok:
        # Rows are written only when every row is right, so nothing needs undoing.
        return preview
    await claim_batch(session, batch)
    # The raw rows (with whole id numbers) are not kept once imported.
    batch.rows = []
    await record(
        session,
        actor,
        f"imports.{batch.kind}.committed",
        batch,
        data={
            "file": batch.filename,
            **preview.summary,
            **({"fields": preview.fields} if preview.fields else {}),
        },
    )
    try:
        await session.commit()
    except IntegrityError:
        # A person added meanwhile clashes with a row; the database's message names the
        # number, so it is neither shown nor logged.
        await session.rollback()
        raise DomainError(
            _("The register changed while importing; check the file again.")
        ) from None
    if preview.total >= 1000:
        await refresh_statistics(session, "people", "buildings", "rooms", "districts", "stations")
    return preview


async def _check(
    session: AsyncSession,
    batch: ImportBatch,
    default_country: str,
    writer: Actor | None = None,
) -> ImportPreview:
    """The batch's preview; with a ``writer``, its rows are written when all are right."""
    preview = ImportPreview(batch=batch, total=len(batch.rows))
    write = writer is not None
    if batch.kind == "people":
        await _people(session, batch, preview, default_country, writer)
    elif batch.kind == "rooms":
        await _rooms(session, batch, preview, writer)
    else:
        assert batch.election_id is not None
        await _structure(session, batch.election_id, batch.rows, preview, write)
    return preview


async def _people(
    session: AsyncSession,
    batch: ImportBatch,
    preview: ImportPreview,
    default_country: str,
    writer: Actor | None,
) -> None:
    """Sort the rows into new people and changes; with a ``writer``, write them."""
    ids, emails = await in_worker_thread(import_people.keys_of, batch.rows, default_country)
    known = await import_people.known_people(session, ids, emails)
    sorted_rows = await in_worker_thread(
        import_people.sort_rows, batch.rows, known, preview, default_country
    )
    preview.summary = {
        "people": preview.added,
        "changed": len(preview.changed),
        "unchanged": preview.unchanged,
    }
    if writer is not None and not preview.problems:
        fields = await import_people.write_people(session, writer, batch.id, sorted_rows)
        # The batch's audit entry names the fields changed, never a value.
        preview.fields = fields


async def _rooms(
    session: AsyncSession, batch: ImportBatch, preview: ImportPreview, writer: Actor | None
) -> None:
    """Sort the rows into new buildings and rooms and changes; with a ``writer``, write them."""
    known = await import_rooms.known_premises(session)
    sorted_rows = await in_worker_thread(import_rooms.sort_rows, batch.rows, known, preview)
    preview.summary = {
        "buildings": len(sorted_rows.new_buildings),
        "rooms": preview.added,
        "changed": len(preview.changed),
        "unchanged": preview.unchanged,
    }
    if writer is not None and not preview.problems:
        preview.fields = await import_rooms.write_premises(session, writer, batch.id, sorted_rows)


@dataclass
class _StructureSoFar:
    """What a structure file meets: the election's districts and stations and the
    register's rooms, and what the rows read so far would add."""

    districts: dict[str, District]
    station_names: set[str]
    rooms: dict[tuple[str, str], int]
    new_districts: dict[str, dict[str, Any]] = field(default_factory=dict)
    district_rows: dict[str, int] = field(default_factory=dict)
    new_stations: list[dict[str, Any]] = field(default_factory=list)
    seen_stations: dict[str, int] = field(default_factory=dict)


@dataclass
class _StructureRow:
    """One row of a structure file, read."""

    code: str
    name: str
    voters: int
    station_name: str
    kind: str
    room_id: int | None


async def _structure(
    session: AsyncSession,
    election_id: int,
    rows: list[dict[str, Any]],
    preview: ImportPreview,
    write: bool,
) -> None:
    """Check the rows of an election's districts and stations; with ``write``, add them."""
    known = await _structure_of(session, election_id)
    await in_worker_thread(_structure_rows, rows, known, preview)
    preview.summary = {"districts": len(known.new_districts), "stations": len(known.new_stations)}
    if write and not preview.problems:
        await _write_structure(session, election_id, known)


async def _structure_of(session: AsyncSession, election_id: int) -> _StructureSoFar:
    """The election's districts by code, its station names, and the rooms by building."""
    districts = {
        d.code: d
        for d in await session.scalars(select(District).where(District.election_id == election_id))
    }
    stations = {
        s.lower()
        for s in await session.scalars(
            select(Station.name).where(Station.election_id == election_id)
        )
    }
    rooms = {
        (building.lower(), room.lower()): room_id
        for room_id, building, room in await session.execute(
            select(Room.id, Building.name, Room.name).join(
                Building, Room.building_id == Building.id
            )
        )
    }
    return _StructureSoFar(districts, stations, rooms)


def _structure_rows(
    rows: list[dict[str, Any]], known: _StructureSoFar, preview: ImportPreview
) -> None:
    kinds = ChoiceReader(STATION_KIND, STATION_KIND_WORDS)
    for number, row in enumerate(rows, start=2):
        cleaner, read = _read_structure_row(row, known, kinds)
        if cleaner.errors:
            add_problems(preview, number, FieldErrors(cleaner.errors))
            continue
        _add_structure_row(known, number, read, preview)


def _read_structure_row(
    row: Mapping[str, Any], known: _StructureSoFar, kinds: ChoiceReader
) -> tuple[Cleaner, _StructureRow]:
    """Read one row and check it against the register and the rows before it; the
    cleaner holds the row's problems."""
    cleaner = Cleaner(row)
    code = cleaner.text("district_code", 20)
    name = cleaner.text("district_name", 200)
    voters = cleaner.integer("eligible_voters", 0, 10_000_000)
    station_name = cleaner.text("station_name", 200)
    kind = kinds.read(cleaner.raw("station_kind"))
    if kind is None:
        cleaner.fail("station_kind", kinds.refusal())
    kind = kind or ("polling" if code else "advance")
    if kind == "polling":
        if not code:
            cleaner.fail("district_code", _("A polling station needs its district's code."))
        elif code not in known.districts and code not in known.new_districts and not name:
            cleaner.fail("district_code", _("Unknown district; give its name to create it."))
    room_key = (cleaner.raw("building").lower(), cleaner.raw("room").lower())
    room_id = None
    if any(room_key):
        room_id = known.rooms.get(room_key)
        if room_id is None:
            cleaner.fail("room", _("No such building and room in the register."))
    if station_name:
        if station_name.lower() in known.station_names:
            cleaner.fail("station_name", _("The election already has this station."))
        elif station_name.lower() in known.seen_stations:
            cleaner.fail(
                "station_name",
                _("Same as row %(row)s.", row=known.seen_stations[station_name.lower()]),
            )
    return cleaner, _StructureRow(code, name, voters, station_name, kind, room_id)


def _add_structure_row(
    known: _StructureSoFar, number: int, read: _StructureRow, preview: ImportPreview
) -> None:
    """Note the district and station a good row adds, unless it names a new district
    differently from an earlier row."""
    code, name = read.code, read.name
    if read.kind == "polling" and code not in known.districts and code not in known.new_districts:
        known.new_districts[code] = {"code": code, "name": name, "eligible_voters": read.voters}
    elif code in known.new_districts and name and known.new_districts[code]["name"] != name:
        preview.problems.append(
            (
                number,
                "district_name",
                _(
                    "The district already has another name on row %(row)s.",
                    row=known.district_rows[code],
                ),
            )
        )
        return
    known.district_rows.setdefault(code, number)
    if read.station_name:
        known.seen_stations[read.station_name.lower()] = number
        known.new_stations.append(
            {
                "name": read.station_name,
                "kind": read.kind,
                "district_code": code if read.kind == "polling" else None,
                "room_id": read.room_id,
            }
        )


async def _write_structure(session: AsyncSession, election_id: int, known: _StructureSoFar) -> None:
    """Add the new districts, then the stations that serve them."""
    district_ids = {code: district.id for code, district in known.districts.items()}
    made = await write_in_batches(
        session,
        list(known.new_districts.values()),
        lambda values: District(election_id=election_id, **values),
    )
    district_ids.update((district.code, district.id) for district in made)
    await write_in_batches(
        session,
        [
            {
                "election_id": election_id,
                "district_id": district_ids[code] if (code := values["district_code"]) else None,
                **{key: value for key, value in values.items() if key != "district_code"},
            }
            for values in known.new_stations
        ],
        lambda values: Station(**values),
    )
