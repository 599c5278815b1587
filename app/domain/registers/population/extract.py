"""Reading a register extract file (registerutdrag; SPAR/Navet, CPR) the municipality
receives: one row per person, in one of two layouts.

**CSV or Excel (.csv, .xlsx)**: a header row, then one row per person; separated by
semicolons, commas or tabs, UTF-8 or Windows-1252. Columns (any of the names; case and
order do not matter; a column not in this list is an error):

=================  =====================================================  ==========
field              column names                                           required
=================  =====================================================  ==========
identity number    personnummer, cpr, cpr-nummer, national_id             yes
first name         förnamn, fornavn, first_name                           yes
last name          efternamn, efternavn, last_name                        yes
street address     utdelningsadress, adress, adresse, street_address      no
postal code        postnummer, postnr, postal_code                        no
city               postort, ort, by, city                                 no
protected identity skyddad, sekretessmarkering, adressebeskyttelse,       no
                   protected: J/N, Ja/Nej, Y/N, 1/0 (empty: no)
died               avliden, dödsdatum, dødsdato, died_on: a date          no
moved out          utflyttad, fraflyttet, moved_out_on: a date            no
=================  =====================================================  ==========

Dates are written 2026-03-01 or 20260301.

**Fixed width (.dat)**: no header, one line per person, each field at its place
(positions from 1, blanks to the right; a shorter line is read as blank-padded):

=====  ======  ================================================
from   length  field
=====  ======  ================================================
1      12      identity number (SE: YYYYMMDDNNNN; DK: DDMMYYNNNN)
13     30      first name
43     30      last name
73     35      street address
108    5       postal code
113    27      city
140    1       protected identity: J (yes) or N / blank (no)
141    8       died: YYYYMMDD or blank
149    8       moved out of the municipality: YYYYMMDD or blank
=====  ======  ================================================

A row that cannot be read is a problem at its row (row 1 is a CSV file's header, a
fixed-width file's first line), and nothing of the file is used until every row is
right.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.i18n import _
from app.domain.registers.identity import COUNTRIES, IdentityError, parse_national_id
from app.domain.registers.population import RegisterEntry

#: Accepted column names of the CSV layout for each field.
ALIASES: dict[str, tuple[str, ...]] = {
    "national_id": ("national_id", "personnummer", "cpr", "cpr-nummer", "cpr-nr", "personnr"),
    "first_name": ("first_name", "förnamn", "fornamn", "fornavn", "tilltalsnamn"),
    "last_name": ("last_name", "efternamn", "efternavn"),
    "street_address": (
        "street_address", "utdelningsadress", "adress", "gatuadress", "adresse", "vejnavn",
    ),
    "postal_code": ("postal_code", "postnummer", "postnr"),
    "city": ("city", "postort", "ort", "by", "postdistrikt"),
    "protected": (
        "protected", "skyddad", "skyddad identitet", "skyddad folkbokföring",
        "sekretessmarkering", "sekretess", "adressebeskyttelse", "beskyttet",
    ),
    "died_on": ("died_on", "avliden", "dödsdatum", "död", "dødsdato", "død"),
    "moved_out_on": ("moved_out_on", "utflyttad", "avflyttad", "utflyttningsdatum", "fraflyttet"),
}  # fmt: skip
FIELD_OF = {alias: name for name, names in ALIASES.items() for alias in names}
REQUIRED = ("national_id", "first_name", "last_name")

#: The fixed-width layout: (field, first position from 0, length).
FIXED_LAYOUT: tuple[tuple[str, int, int], ...] = (
    ("national_id", 0, 12),
    ("first_name", 12, 30),
    ("last_name", 42, 30),
    ("street_address", 72, 35),
    ("postal_code", 107, 5),
    ("city", 112, 27),
    ("protected", 139, 1),
    ("died_on", 140, 8),
    ("moved_out_on", 148, 8),
)
FIXED_WIDTH = 156
YES = {"j", "ja", "y", "yes", "1", "x", "true", "sant"}
NO = {"", "n", "nej", "no", "0", "false", "falskt"}

#: (row, column, message); row 1 is a CSV file's header.
Problem = tuple[int, str, str]


@dataclass
class ExtractReading:
    """What a file holds: its columns and the field each is read as ("" unknown),
    every good row's entry, and the problems."""

    columns: list[tuple[str, str]] = field(default_factory=list)
    entries: list[tuple[int, RegisterEntry]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def is_fixed_width(filename: str) -> bool:
    return filename.lower().endswith(".dat")


def fixed_width_rows(text: str) -> list[dict[str, str]]:
    """A fixed-width file's lines as the rows an import batch keeps."""
    return [{"line": line} for line in text.splitlines()]


def decode(content: bytes) -> str:
    """UTF-8 (with or without its mark), else Windows-1252 (older register files)."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def read_rows(raw_rows: list[dict[str, Any]], fixed: bool, country: str) -> ExtractReading:
    """Check every row of a staged file. Pure work, for a thread."""
    if fixed:
        return _read_fixed(raw_rows, country)
    return _read_table(raw_rows, country)


def _read_table(raw_rows: list[dict[str, Any]], country: str) -> ExtractReading:
    reading = ExtractReading()
    headers: list[str] = []
    for raw in raw_rows:
        headers.extend(key for key in raw if key not in headers)
    reading.columns = [(header, FIELD_OF.get(header, "")) for header in headers]
    reading.problems = [
        (1, header, _("Unknown column %(column)s.", column=header))
        for header, name in reading.columns
        if not name
    ]
    read_fields = {name for _header, name in reading.columns}
    reading.problems += [
        (1, name, _("The column %(column)s is missing.", column=ALIASES[name][1]))
        for name in REQUIRED
        if name not in read_fields
    ]
    if reading.problems:
        return reading
    for number, raw in enumerate(raw_rows, start=2):
        values = {
            FIELD_OF[key]: "" if value is None else str(value).strip()
            for key, value in raw.items()
            if key in FIELD_OF
        }
        _add(reading, number, values, country)
    _check_repeats(reading)
    return reading


def _read_fixed(raw_rows: list[dict[str, Any]], country: str) -> ExtractReading:
    reading = ExtractReading(columns=[(name, name) for name, _start, _length in FIXED_LAYOUT])
    for number, raw in enumerate(raw_rows, start=1):
        line = str(raw.get("line", "")).rstrip("\r\n")
        if not line.strip():
            continue
        if len(line.rstrip()) > FIXED_WIDTH:
            reading.problems.append(
                (number, "", _("The line is longer than %(width)s characters.", width=FIXED_WIDTH))
            )
            continue
        line = line.ljust(FIXED_WIDTH)
        values = {
            name: line[start : start + length].strip() for name, start, length in FIXED_LAYOUT
        }
        _add(reading, number, values, country)
    if not reading.entries and not reading.problems:
        reading.problems.append((1, "", _("The file has no rows.")))
    _check_repeats(reading)
    return reading


def _add(reading: ExtractReading, number: int, values: dict[str, str], country: str) -> None:
    entry, problems = read_entry(values, country)
    reading.problems.extend((number, name, message) for name, message in problems.items())
    if entry is not None:
        reading.entries.append((number, entry))


def read_entry(
    values: Mapping[str, str], country: str
) -> tuple[RegisterEntry | None, dict[str, str]]:
    """One person's entry from a row's values by field, or the problems by field."""
    problems: dict[str, str] = {}
    number, birth_date = "", None
    if country not in COUNTRIES:  # pragma: no cover - the municipality's settings check it
        problems["national_id"] = _("This identity number cannot be read.")
    elif not values.get("national_id"):
        problems["national_id"] = _("The identity number is missing.")
    else:
        try:
            parsed = parse_national_id(country, values["national_id"])
        except IdentityError as error:
            problems["national_id"] = str(error)
        else:
            number, birth_date = parsed.number, parsed.birth_date
    first, last = values.get("first_name", ""), values.get("last_name", "")
    if not first:
        problems["first_name"] = _("The first name is missing.")
    if not last:
        problems["last_name"] = _("The last name is missing.")
    flag = values.get("protected", "").lower()
    if flag not in YES | NO:
        problems["protected"] = _("Write J or N (yes or no).")
    died_on = _date(values.get("died_on", ""), "died_on", problems)
    moved_out_on = _date(values.get("moved_out_on", ""), "moved_out_on", problems)
    if problems or birth_date is None:
        return None, problems
    return (
        RegisterEntry(
            national_id=number,
            first_name=first[:100],
            last_name=last[:100],
            birth_date=birth_date,
            street_address=values.get("street_address", "")[:200],
            postal_code=values.get("postal_code", "")[:10],
            city=values.get("city", "")[:100],
            protected=flag in YES,
            died_on=died_on,
            moved_out_on=moved_out_on,
        ),
        {},
    )


def _date(raw: str, name: str, problems: dict[str, str]) -> dt.date | None:
    text = raw.strip()[:10]
    if not text:
        return None
    for pattern in ("%Y-%m-%d", "%Y%m%d"):
        with contextlib.suppress(ValueError):
            return dt.datetime.strptime(text, pattern).date()
    problems[name] = _("Write the date as 2026-03-01 or 20260301.")
    return None


def _check_repeats(reading: ExtractReading) -> None:
    seen: dict[str, int] = {}
    for number, entry in reading.entries:
        if entry.national_id in seen:
            reading.problems.append(
                (
                    number,
                    "national_id",
                    _("The same identity number as row %(row)s.", row=seen[entry.national_id]),
                )
            )
        seen.setdefault(entry.national_id, number)


class ExtractRegister:
    """The register as one extract file holds it."""

    def __init__(self, entries: Iterable[RegisterEntry], source: str) -> None:
        self.entries = {entry.national_id: entry for entry in entries}
        self.source = source

    async def look_up(self, national_ids: Iterable[str]) -> Mapping[str, RegisterEntry]:
        return {number: self.entries[number] for number in national_ids if number in self.entries}
