"""Importing an election's candidates and matching them against the register.

The authority publishes each election's candidates (name, birth date or identity
number, party, list). A file is read whole and checked row by row: a column the import
does not know or a row it cannot read is a problem at that row, and nothing is saved
until every row is right. Each candidate meets the register by identity number (a
certain match) or else by name and birth date (a likely one, for a person to check);
a matched person is kept off the election's stations (see ``staffing.kept_off``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.documents.spreadsheets import in_worker_thread, read_table
from app.core.errors import DomainError, NotFound
from app.core.i18n import _
from app.core.models import utcnow
from app.domain.elections.elections import get_election
from app.domain.models import Candidate, CandidateList, Election, ImportBatch, Person
from app.domain.registers.identity import COUNTRIES, IdentityError, parse_national_id
from app.domain.registers.imports import claim_batch, get_batch, unclaimed

KIND = "candidates"

#: Accepted column names (Swedish, Danish, English) for each field of a candidate file.
ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name", "förnamn", "fornavn", "first name", "given name"),
    "last_name": ("last_name", "efternamn", "efternavn", "last name", "surname"),
    "name": ("name", "namn", "navn", "kandidat", "candidate", "full name"),
    "birth_date": (
        "birth_date", "födelsedatum", "födelsedag", "fødselsdato", "birth date", "born",
    ),
    "national_id": (
        "national_id", "personnummer", "cpr", "cpr-nummer", "identity number", "id number",
    ),
    "party": ("party", "parti", "partibeteckning", "partinamn"),
    "list_name": ("list_name", "lista", "liste", "valsedel", "list", "kandidatliste"),
    # Columns the published files carry that the import reads past.
    "ignored": (
        "ålder", "alder", "age", "kön", "køn", "gender", "hemkommun", "kommun", "kommune",
        "valkrets", "storkreds", "constituency", "ordning", "nr", "number", "placering",
        "ort", "by", "city", "valtyp",
    ),
}  # fmt: skip
FIELD_OF = {alias: name for name, names in ALIASES.items() for alias in names}


@dataclass
class CandidateRow:
    row: int
    first_name: str
    last_name: str
    birth_date: dt.date | None
    national_id: str
    party: str
    list_name: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class CandidateMatch:
    """A candidate row that met a person in the register, and how surely."""

    row: int
    candidate: str
    party: str
    person_id: int
    person_name: str
    matched_by: str  # "national_id" (certain) or "name_birth_date" (check it)


@dataclass
class CandidatePreview:
    batch: ImportBatch
    total: int
    #: (row number in the file, column, message); row 1 is the header.
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    #: The file's columns and the field each is read as ("" when left out).
    columns: list[tuple[str, str]] = field(default_factory=list)
    matches: list[CandidateMatch] = field(default_factory=list)
    rows: list[CandidateRow] = field(default_factory=list)
    list_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unmatched(self) -> int:
        return len(self.rows) - len({match.row for match in self.matches})


def read_rows(
    raw_rows: list[dict[str, Any]], default_country: str
) -> tuple[list[tuple[str, str]], list[CandidateRow], list[tuple[int, str, str]]]:
    """The columns as read, each good row, and the problems. Pure work, for a thread."""
    headers: list[str] = []
    for raw in raw_rows:
        headers.extend(key for key in raw if key not in headers)
    columns = [(header, FIELD_OF.get(header, "")) for header in headers]
    problems: list[tuple[int, str, str]] = [
        (1, header, _("Unknown column %(column)s.", column=header))
        for header, name in columns
        if not name
    ]
    rows: list[CandidateRow] = []
    for number, raw in enumerate(raw_rows, start=2):
        values: dict[str, str] = {}
        for key, value in raw.items():
            name = FIELD_OF.get(key)
            if name and name != "ignored" and name not in values:
                if isinstance(value, dt.datetime):
                    value = value.date()
                if isinstance(value, dt.date):
                    value = value.isoformat()
                values[name] = "" if value is None else str(value).strip()
        read, row_problems = _read_row(number, values, default_country)
        problems.extend((number, name, message) for name, message in row_problems.items())
        if read is not None and not row_problems:
            rows.append(read)
    return columns, rows, problems


def _read_row(
    number: int, values: dict[str, str], default_country: str
) -> tuple[CandidateRow | None, dict[str, str]]:
    problems: dict[str, str] = {}
    first, last = values.get("first_name", ""), values.get("last_name", "")
    if not (first or last) and values.get("name"):
        first, _space, last = values["name"].rpartition(" ")
        if not first:
            first, last = last, ""
    if not (first or last):
        problems["name"] = _("The candidate's name is missing.")
    national_id, birth_date = "", None
    raw_id = values.get("national_id", "")
    if raw_id:
        if default_country not in COUNTRIES:  # pragma: no cover - settings check it
            problems["national_id"] = _("This identity number cannot be read.")
        else:
            try:
                parsed = parse_national_id(default_country, raw_id)
            except IdentityError as error:
                problems["national_id"] = str(error)
            else:
                national_id, birth_date = parsed.number, parsed.birth_date
    raw_birth = values.get("birth_date", "")
    if raw_birth:
        read_birth = _birth_date(raw_birth)
        if read_birth is None:
            problems["birth_date"] = _("Write the birth date as 1980-04-30.")
        elif birth_date is not None and read_birth != birth_date:
            problems["birth_date"] = _("The birth date differs from the identity number's.")
        else:
            birth_date = read_birth
    if birth_date is None and not problems:
        problems["birth_date"] = _("Give the birth date or the identity number.")
    if problems:
        return None, problems
    return (
        CandidateRow(
            number,
            first[:100],
            last[:100],
            birth_date,
            national_id,
            values.get("party", "")[:200],
            values.get("list_name", "")[:200],
        ),
        {},
    )


def _birth_date(raw: str) -> dt.date | None:
    text = raw.strip()[:10]
    for pattern in ("%Y-%m-%d", "%Y%m%d", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y"):
        with contextlib.suppress(ValueError):
            return dt.datetime.strptime(text, pattern).date()
    return None


async def match_rows(session: AsyncSession, rows: list[CandidateRow]) -> list[CandidateMatch]:
    """Each row's person: the one with its identity number, or else each one with its
    name and birth date (two people alike are both named: the office decides)."""
    matches: list[CandidateMatch] = []
    ids = sorted({row.national_id for row in rows if row.national_id})
    by_id: dict[str, tuple[int, str]] = {}
    for start in range(0, len(ids), 500):
        for person in await session.execute(
            select(Person.id, Person.national_id, Person.first_name, Person.last_name).where(
                Person.national_id.in_(ids[start : start + 500]), Person.erased_at.is_(None)
            )
        ):
            by_id[person.national_id] = (person.id, f"{person.first_name} {person.last_name}")
    dates = sorted({row.birth_date for row in rows if row.birth_date is not None})
    by_birth: dict[tuple[dt.date, str], list[tuple[int, str]]] = {}
    for start in range(0, len(dates), 500):
        for alike in await session.execute(
            select(
                Person.id,
                Person.birth_date,
                Person.first_name,
                Person.last_name,
                Person.search_name,
            ).where(Person.birth_date.in_(dates[start : start + 500]), Person.erased_at.is_(None))
        ):
            by_birth.setdefault((alike.birth_date, alike.search_name), []).append(
                (alike.id, f"{alike.first_name} {alike.last_name}")
            )
    for row in rows:
        if row.national_id and row.national_id in by_id:
            person_id, name = by_id[row.national_id]
            matches.append(
                CandidateMatch(row.row, row.full_name, row.party, person_id, name, "national_id")
            )
            continue
        assert row.birth_date is not None
        for person_id, name in by_birth.get((row.birth_date, row.full_name.lower()), []):
            matches.append(
                CandidateMatch(
                    row.row, row.full_name, row.party, person_id, name, "name_birth_date"
                )
            )
    return matches


async def stage_candidates(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    filename: str,
    content: bytes,
    default_country: str = "SE",
) -> CandidatePreview:
    """Read and check a candidate file and keep it for ``commit_candidates``."""
    await get_election(session, election_id)
    raw_rows = await in_worker_thread(read_table, filename, content)
    batch = ImportBatch(
        kind=KIND,
        election_id=election_id,
        filename=filename[:255],
        rows=[_plain(raw) for raw in raw_rows],
        created_by_id=actor.user_id,
    )
    session.add(batch)
    await session.flush()
    preview = await _check(session, batch, default_country)
    await session.commit()
    return preview


def _plain(raw: dict[str, Any]) -> dict[str, str]:
    """A row as the batch keeps it (JSON): dates as ISO text."""
    return {
        key: value.isoformat()
        if isinstance(value, dt.date)
        else ("" if value is None else str(value))
        for key, value in raw.items()
    }


async def get_candidate_batch(session: AsyncSession, batch_id: int) -> ImportBatch:
    return await get_batch(session, batch_id, (KIND,))


async def preview_candidates(
    session: AsyncSession, batch_id: int, default_country: str = "SE"
) -> CandidatePreview:
    return await _check(session, await get_candidate_batch(session, batch_id), default_country)


async def _check(
    session: AsyncSession, batch: ImportBatch, default_country: str
) -> CandidatePreview:
    preview = CandidatePreview(batch=batch, total=len(batch.rows))
    columns, rows, problems = await in_worker_thread(read_rows, batch.rows, default_country)
    preview.columns, preview.rows, preview.problems = columns, rows, problems
    if not problems:
        preview.matches = await match_rows(session, rows)
    return preview


async def commit_candidates(
    session: AsyncSession, actor: Actor, batch_id: int, default_country: str = "SE"
) -> CandidatePreview:
    """Save the candidates of a checked file, every row or none; the list replaces the
    election's earlier list of the same file name."""
    batch = unclaimed(await get_candidate_batch(session, batch_id))
    preview = await _check(session, batch, default_country)
    if not preview.ok:
        return preview
    await claim_batch(session, batch)
    assert batch.election_id is not None
    dismissed = await _dismissed_before(session, batch.election_id, batch.filename)
    await session.execute(
        delete(CandidateList).where(
            CandidateList.election_id == batch.election_id,
            CandidateList.filename == batch.filename,
        )
    )
    kept = CandidateList(
        election_id=batch.election_id,
        filename=batch.filename,
        rows=len(preview.rows),
        created_by_id=actor.user_id,
        created_by_label=actor.label,
    )
    session.add(kept)
    await session.flush()
    matched: dict[int, list[CandidateMatch]] = {}
    for match in preview.matches:
        matched.setdefault(match.row, []).append(match)
    for row in preview.rows:
        for match in matched.get(row.row) or [None]:  # type: ignore[list-item]
            before = (
                dismissed.get((row.first_name, row.last_name, row.birth_date, match.person_id))
                if match and match.matched_by == "name_birth_date"
                else None
            )
            session.add(
                Candidate(
                    list_id=kept.id,
                    election_id=batch.election_id,
                    row=row.row,
                    first_name=row.first_name,
                    last_name=row.last_name,
                    birth_date=row.birth_date,
                    party=row.party,
                    list_name=row.list_name,
                    person_id=match.person_id if match else None,
                    matched_by=match.matched_by if match else "",
                    dismissed_at=before.dismissed_at if before else None,
                    dismissed_by_label=before.dismissed_by_label if before else "",
                    dismissal_reason=before.dismissal_reason if before else "",
                )
            )
    # The raw rows (with whole identity numbers) are not kept once imported.
    batch.rows = []
    preview.list_id = kept.id
    await record(
        session,
        actor,
        "elections.candidates.imported",
        kept,
        data={
            "file": kept.filename,
            "election": batch.election_id,
            "candidates": len(preview.rows),
            "matched_people": sorted({match.person_id for match in preview.matches}),
        },
    )
    await session.commit()
    return preview


@dataclass(frozen=True)
class _Dismissal:
    dismissed_at: dt.datetime | None
    dismissed_by_label: str
    dismissal_reason: str


async def _dismissed_before(
    session: AsyncSession, election_id: int, filename: str
) -> dict[tuple[str, str, dt.date | None, int | None], _Dismissal]:
    """The dismissed matches of the list a new file of the same name replaces: the
    office's decision holds for the same candidate and person in the new file. (Plain
    values: the rows themselves go with their list.)"""
    rows = await session.execute(
        select(
            Candidate.first_name,
            Candidate.last_name,
            Candidate.birth_date,
            Candidate.person_id,
            Candidate.dismissed_at,
            Candidate.dismissed_by_label,
            Candidate.dismissal_reason,
        )
        .join(CandidateList, CandidateList.id == Candidate.list_id)
        .where(
            CandidateList.election_id == election_id,
            CandidateList.filename == filename,
            Candidate.dismissed_at.is_not(None),
        )
    )
    return {
        (first, last, born, person): _Dismissal(at, by, reason)
        for first, last, born, person, at, by, reason in rows
    }


async def candidate_lists(session: AsyncSession, election_id: int) -> list[CandidateList]:
    return list(
        await session.scalars(
            select(CandidateList)
            .where(CandidateList.election_id == election_id)
            .order_by(CandidateList.created_at.desc(), CandidateList.id.desc())
        )
    )


async def get_candidate_list(
    session: AsyncSession, election_id: int, list_id: int
) -> tuple[CandidateList, list[tuple[Candidate, Person | None]]]:
    """A list and its candidates with their matched people; another municipality's
    list (or another election's) is not found."""
    kept = await session.scalar(
        select(CandidateList).where(
            CandidateList.id == list_id, CandidateList.election_id == election_id
        )
    )
    if kept is None:
        raise NotFound(_("Not found."))
    rows = await session.execute(
        select(Candidate, Person)
        .outerjoin(Person, Person.id == Candidate.person_id)
        .where(Candidate.list_id == kept.id)
        .order_by(Candidate.row, Candidate.id)
    )
    return kept, [(candidate, person) for candidate, person in rows]


async def remove_candidate_list(
    session: AsyncSession, actor: Actor, election_id: int, list_id: int
) -> None:
    kept, _rows = await get_candidate_list(session, election_id, list_id)
    await record(session, actor, "elections.candidates.removed", kept, data={"file": kept.filename})
    await session.delete(kept)
    await session.commit()


async def dismiss_match(
    session: AsyncSession,
    actor: Actor,
    election_id: int,
    list_id: int,
    candidate_id: int,
    reason: str,
) -> Candidate:
    """The office found a likely match (name and birth date) to be someone else: the
    person is no longer kept off by it. The reason is required and audited; a certain
    match (identity number) cannot be dismissed. Another list's candidate is not found."""
    kept, _rows = await get_candidate_list(session, election_id, list_id)
    candidate = await session.scalar(
        select(Candidate).where(Candidate.id == candidate_id, Candidate.list_id == kept.id)
    )
    if candidate is None or candidate.person_id is None:
        raise NotFound(_("Not found."))
    reason = " ".join(reason.split())
    if candidate.matched_by != "name_birth_date":
        raise DomainError(
            _("A match by identity number is certain: it cannot be dismissed."), "reason"
        )
    if candidate.dismissed_at is not None:
        raise DomainError(_("This match has already been dismissed."), "reason")
    if not reason:
        raise DomainError(_("Say why the match is someone else."), "reason")
    if len(reason) > 500:
        raise DomainError(_("At most %(count)s characters.", count=500), "reason")
    candidate.dismissed_at = utcnow()
    candidate.dismissed_by_label = actor.label
    candidate.dismissal_reason = reason
    await record(
        session,
        actor,
        "elections.candidates.match_dismissed",
        candidate,
        data={
            "list": kept.id,
            "election": election_id,
            "person": candidate.person_id,
            "reason": reason,
        },
    )
    await session.commit()
    return candidate


#: How long after its election day a candidate list is kept: long enough for a re-run
#: of the election (omval) to be staffed under the same rule, then it goes.
KEPT_AFTER_ELECTION = dt.timedelta(days=90)


async def erase_past_candidate_lists(session: AsyncSession, actor: Actor, today: dt.date) -> int:
    """Delete the candidate lists (names, birth dates, parties) of elections whose day
    is more than ``KEPT_AFTER_ELECTION`` past; one audit entry with the count."""
    old = select(Election.id).where(Election.election_day < today - KEPT_AFTER_ELECTION)
    result = await session.execute(
        delete(CandidateList)
        .where(CandidateList.election_id.in_(old))
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        await record(
            session,
            actor,
            "elections.candidates.erased",
            data={"reason": "retention", "count": count},
        )
    await session.commit()
    return count
