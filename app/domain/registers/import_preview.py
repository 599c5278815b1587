"""What an import would do, row by row: the preview a planner confirms, and the reading
of columns whose values come from a fixed list."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _, locale_scope
from app.core.settings import SUPPORTED_LOCALES
from app.core.validation import FieldErrors
from app.domain.models import ImportBatch

#: Rows written per flush: a city's register is written in steps short enough that the
#: event loop answers between them.
WRITE_BATCH = 250


@dataclass
class FieldChange:
    """One field a row changes: its name and the value before and after, as shown."""

    field: str
    old: str
    new: str


@dataclass
class RowChange:
    """A row that changes what the register holds: its row number, whom or what it
    changes (a name, an id number's birth date never the whole number) and how."""

    row: int
    label: str
    changes: list[FieldChange]


@dataclass
class ImportPreview:
    batch: ImportBatch
    total: int
    #: (row number in the file, column, message); row 2 is the first row below the header.
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    #: What is written, by kind ("people": 3, "changed": 2, ...): the flash and the audit.
    summary: dict[str, int] = field(default_factory=dict)
    #: Rows that add something, rows that change something (and how), rows already so.
    added: int = 0
    changed: list[RowChange] = field(default_factory=list)
    unchanged: int = 0
    #: The fields the import changed, once written (for the audit entry).
    fields: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def add_problems(preview: ImportPreview, number: int, error: FieldErrors) -> None:
    for name, message in error.errors.items():
        preview.problems.append((number, name, message))


class ChoiceReader:
    """Reads a column with a fixed list of values: a value may be written as its code
    ("active") or its name in any of the product's languages ("Aktiv", "aktiv"); any
    other value is refused with the names the column takes, in the reader's language.

    Made once per file (the names are looked up in each language here), then used
    for each row."""

    def __init__(self, labels: Mapping[str, Any], words: Mapping[str, str] | None = None) -> None:
        self.accepted: dict[str, str] = {code.lower(): code for code in labels}
        for locale in SUPPORTED_LOCALES:
            with locale_scope(locale):
                self.accepted.update((str(name).lower(), code) for code, name in labels.items())
        self.accepted.update(words or {})
        self.allowed = ", ".join(str(name) for name in labels.values())

    def read(self, raw: str) -> str | None:
        """The code of ``raw``; "" for an empty cell; None when it is none of them."""
        text = raw.strip().lower()
        if not text:
            return ""
        return self.accepted.get(text)

    def refusal(self) -> str:
        return _("Write one of: %(values)s.", values=self.allowed)


def read_choices(
    row: dict[str, Any], readers: Mapping[str, ChoiceReader]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The row with each fixed-list column as its code, and the columns refused."""
    read = dict(row)
    refused: dict[str, str] = {}
    for name, reader in readers.items():
        code = reader.read(str(row.get(name) or ""))
        if code is None:
            refused[name] = reader.refusal()
            read[name] = ""
        else:
            read[name] = code
    return read, refused


async def write_in_batches[T](
    session: AsyncSession, values: list[dict[str, Any]], make: Callable[[dict[str, Any]], T]
) -> list[T]:
    """Make a row of each values with ``make``, adding and flushing them WRITE_BATCH at a
    time and letting the event loop answer between batches; each batch leaves the
    session once written, so the commit does not walk thousands of rows. Returns the
    rows, with their ids; nothing is committed here."""
    written: list[T] = []
    for start in range(0, len(values), WRITE_BATCH):
        batch = [make(one) for one in values[start : start + WRITE_BATCH]]
        session.add_all(batch)
        await session.flush()
        for row in batch:
            session.expunge(row)
        written.extend(batch)
        await asyncio.sleep(0)
    return written
