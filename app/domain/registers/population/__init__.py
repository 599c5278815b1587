"""The population register (folkbokföringen: SPAR or Navet in Sweden, CPR in Denmark).

A register answers one question: what it holds of the people with these identity
numbers. ``PopulationRegister`` is that question; ``extract.ExtractRegister`` answers it
from an extract file the municipality receives (its two layouts are documented in
``extract``), ``MemoryRegister`` from a dictionary, for tests. ``refresh`` compares the
answers with the people here, shows the changes and writes them (names, addresses, died,
moved out, protected identity), every lookup and change audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RegisterEntry:
    """What the register holds of one person. ``national_id`` is normalised (SE 12
    digits, DK 10); an empty address is "none given" (a protected person has none)."""

    national_id: str
    first_name: str
    last_name: str
    birth_date: dt.date
    street_address: str = ""
    postal_code: str = ""
    city: str = ""
    #: Skyddad folkbokföring / sekretessmarkering / navne- og adressebeskyttelse.
    protected: bool = False
    died_on: dt.date | None = None
    #: The day the person moved out of the municipality (or the country).
    moved_out_on: dt.date | None = None


class PopulationRegister(Protocol):
    """A register to look people up in by identity number."""

    #: What the audit log names as the source of an answer (a file name, "SPAR").
    source: str

    async def look_up(self, national_ids: Iterable[str]) -> Mapping[str, RegisterEntry]:
        """The entries of those numbers the register holds, by number; a number it
        does not hold is left out."""
        ...


class MemoryRegister:
    """A register held in memory: the tests' stand-in for SPAR, Navet or CPR."""

    def __init__(self, entries: Iterable[RegisterEntry], source: str = "memory") -> None:
        self.entries = {entry.national_id: entry for entry in entries}
        self.source = source
        #: Every number asked about, in order: a test sees what was looked up.
        self.asked: list[str] = []

    async def look_up(self, national_ids: Iterable[str]) -> Mapping[str, RegisterEntry]:
        wanted = list(national_ids)
        self.asked.extend(wanted)
        return {number: self.entries[number] for number in wanted if number in self.entries}
