"""Importing course results from a file: an online course's or a test's list of who
passed, matched to people in the register.

The columns are ``email`` or ``person_id`` (or ``national_id``), ``date`` (YYYY-MM-DD)
and ``result``. The whole file is checked first; every row is written, or none. An
identity number is only used to find the person: it is never shown in a message,
logged or kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.documents.spreadsheets import SpreadsheetError, in_worker_thread, read_fields
from app.core.i18n import _
from app.core.validation import parse_id
from app.domain.courses import CourseError
from app.domain.courses.catalog import get_course
from app.domain.courses.qualifications import grant
from app.domain.models import Person
from app.domain.registers.identity import COUNTRIES, IdentityError, parse_national_id

#: Accepted column names (English, Swedish, Danish) for each field.
COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-post", "e-mail", "epost", "mail"),
    "person_id": ("person_id", "person id", "person-id", "personid"),
    "national_id": ("national_id", "personnummer", "cpr", "fødselsnummer", "identity number"),
    "date": ("date", "datum", "dato", "achieved_on", "completed"),
    "result": ("result", "resultat", "score", "poäng", "point"),
}
MAX_RESULT = 100


class ResultsImportError(CourseError):
    """The file cannot be imported; ``problems`` holds one translated line per problem
    ("Row 3: no person with this email"), in file order."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0], "file")
        self.problems = problems


@dataclass(frozen=True)
class _Row:
    number: int
    person_id: int
    achieved_on: dt.date
    result: str


def _national_id_forms(raw: str, today: dt.date) -> set[str]:
    """Every normalised form the number has in a country we know (a 10-digit number
    can be Swedish or Danish); empty when it is valid nowhere."""
    forms = set()
    for country in COUNTRIES:
        try:
            forms.add(parse_national_id(country, raw, today).number)
        except IdentityError:
            continue
    return forms


async def _people_by(session: AsyncSession, column: Any, values: set[Any]) -> dict[Any, int]:
    found: dict[Any, int] = {}
    chunk = list(values)
    for start in range(0, len(chunk), 500):
        rows = await session.execute(
            select(column, Person.id).where(column.in_(chunk[start : start + 500]))
        )
        found.update({value: person_id for value, person_id in rows})
    return found


@dataclass(frozen=True)
class _People:
    """The people the file names, looked up once per column for the whole file."""

    by_email: dict[Any, int]
    by_id: dict[Any, int]
    by_number: dict[Any, int]
    #: Each row's identity number in every form it is valid in, by row index.
    numbers: dict[int, set[str]]


def _read_file(filename: str, content: bytes) -> list[dict[str, str]]:
    """The file's rows keyed by field; refuses a file without a person or a date column."""
    try:
        table = read_fields(filename, content, COLUMNS)
    except SpreadsheetError as error:
        raise ResultsImportError([error.message]) from None
    present = set().union(*(row.keys() for row in table))
    file_problems = []
    if not present & {"email", "person_id", "national_id"}:
        file_problems.append(_("The file needs a column “email” or “person_id”."))
    if "date" not in present:
        file_problems.append(_("The file needs a column “date”."))
    if file_problems:
        raise ResultsImportError(file_problems)
    return table


async def _look_up_people(
    session: AsyncSession, table: list[dict[str, str]], today: dt.date
) -> _People:
    emails = {row["email"].lower() for row in table if row.get("email")}
    ids = {value for row in table if (value := parse_id(row.get("person_id")))}
    numbers: dict[int, set[str]] = {}
    for index, row in enumerate(table):
        if row.get("national_id"):
            numbers[index] = _national_id_forms(row["national_id"], today)
    return _People(
        by_email=await _people_by(session, Person.email, emails),
        by_id=await _people_by(session, Person.id, ids),
        by_number=await _people_by(session, Person.national_id, set().union(*numbers.values())),
        numbers=numbers,
    )


def _match_person(
    row: Mapping[str, str], forms: set[str], people: _People, problems: list[str]
) -> set[int]:
    """The people a row's id, email and identity number name (one, when all is well);
    each column that names nobody, or a row naming no one or several, adds a problem."""
    matches: set[int] = set()
    identified = False
    if row.get("person_id"):
        identified = True
        person_id = parse_id(row["person_id"])
        if person_id is None or person_id not in people.by_id:
            problems.append(_("no person with this id."))
        else:
            matches.add(person_id)
    if row.get("email"):
        identified = True
        if row["email"].lower() not in people.by_email:
            problems.append(_("no person with this email."))
        else:
            matches.add(people.by_email[row["email"].lower()])
    if row.get("national_id"):
        identified = True
        found = {people.by_number[form] for form in forms if form in people.by_number}
        if not forms:
            problems.append(_("the identity number is not valid."))
        elif not found:
            problems.append(_("no person with this identity number."))
        elif len(found) > 1:
            problems.append(_("the identity number matches more than one person; use the email."))
        else:
            matches |= found
    if not identified:
        problems.append(_("give the person's email or person id."))
    elif len(matches) > 1:
        problems.append(_("the columns name different people."))
    return matches


def _achieved_on(raw_date: str, today: dt.date, problems: list[str]) -> dt.date | None:
    """The row's date, or None with a problem when it is missing, malformed or ahead."""
    if not raw_date:
        problems.append(_("the date is missing."))
        return None
    try:
        achieved_on = dt.date.fromisoformat(raw_date[:10])
    except ValueError:
        problems.append(_("enter the date as YYYY-MM-DD."))
        return None
    if achieved_on > today:
        problems.append(_("the date is in the future."))
    return achieved_on


async def check_results(
    session: AsyncSession, filename: str, content: bytes, today: dt.date | None = None
) -> list[_Row]:
    """Read and check every row; raises ResultsImportError listing all problems."""
    today = today or dt.date.today()
    # Reading a large file takes seconds of CPU: a worker thread does it.
    table = await in_worker_thread(_read_file, filename, content)
    people = await _look_up_people(session, table, today)
    problems: list[str] = []
    rows: list[_Row] = []
    seen: dict[int, int] = {}
    for index, row in enumerate(table):
        number = index + 2  # row 1 is the header
        row_problems: list[str] = []
        matches = _match_person(row, people.numbers.get(index, set()), people, row_problems)
        achieved_on = _achieved_on(row.get("date", ""), today, row_problems)
        result = row.get("result", "")
        if len(result) > MAX_RESULT:
            row_problems.append(
                _("the result is longer than %(count)s characters.", count=MAX_RESULT)
            )
        if len(matches) == 1:
            person_id = next(iter(matches))
            if person_id in seen:
                row_problems.append(_("the same person as row %(other)s.", other=seen[person_id]))
            else:
                seen[person_id] = number
                if achieved_on is not None and not problems and not row_problems:
                    rows.append(_Row(number, person_id, achieved_on, result))
        problems.extend(
            _("Row %(row)s: %(problem)s", row=number, problem=message) for message in row_problems
        )
    if problems:
        raise ResultsImportError(problems)
    return rows


async def import_results(
    session: AsyncSession, actor: Actor, course_id: int, filename: str, content: bytes
) -> int:
    """Record each row's person as having the course on the row's date, with its result.

    Validates the whole file first and writes every row or none; raises
    ResultsImportError with every problem, row by row. Returns how many were recorded.
    """
    course = await get_course(session, course_id)
    rows = await check_results(session, filename, content)
    try:
        for row in rows:
            await grant(
                session,
                actor,
                row.person_id,
                course,
                row.achieved_on,
                source="import",
                result=row.result,
            )
        await record(
            session,
            actor,
            "courses.results.imported",
            course,
            data={"file": filename[:255], "rows": len(rows)},
        )
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return len(rows)
