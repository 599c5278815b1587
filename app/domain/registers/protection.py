"""Protected identity (skyddad identitet, sekretessmarkering, skyddad folkbokföring;
navne- og adressebeskyttelse): the one place that decides what of a person may be shown.

- The address (street, postal code, city) and the home's coordinates of a protected
  person are never shown or exported, to anyone: every page, export, letter, label,
  mail-merge field and API answer reads a person's address through ``postal_address``
  (None: nothing to show).
- Their name is shown only to the office, the users who may edit the register
  (``registers.edit``); everyone else (coordinators, depots, other clerks, the public)
  sees ``PROTECTED_NAME``: ``shown_name``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.core.i18n import lazy_gettext

#: Who sees a protected person's name: the office.
NAME_PERMISSION = "registers.edit"
PROTECTED_NAME = lazy_gettext("Protected person")


class HasAddress(Protocol):
    address_protected: bool
    street_address: str
    postal_code: str
    city: str


class HasName(Protocol):
    address_protected: bool
    first_name: str
    last_name: str


@dataclass(frozen=True)
class PostalAddress:
    street_address: str
    postal_code: str
    city: str

    @property
    def town(self) -> str:
        return f"{self.postal_code} {self.city}".strip()

    @property
    def lines(self) -> list[str]:
        """The non-empty lines, for a label or a letter's window."""
        return [line for line in (self.street_address.strip(), self.town) if line]

    def __str__(self) -> str:
        return ", ".join(self.lines)


def postal_address(person: HasAddress) -> PostalAddress | None:
    """The person's address to show or export; None when protected or none is known."""
    if person.address_protected:
        return None
    address = PostalAddress(
        (person.street_address or "").strip(),
        (person.postal_code or "").strip(),
        (person.city or "").strip(),
    )
    return address if address.lines else None


def is_protected(person: HasAddress | HasName) -> bool:
    return bool(person.address_protected)


def shown_name(person: HasName, may_see: bool) -> str:
    """The name to show someone: the real one to the office (``may_see``, a user with
    ``NAME_PERMISSION``), ``PROTECTED_NAME`` to everyone else for a protected person."""
    if person.address_protected and not may_see:
        return str(PROTECTED_NAME)
    return f"{person.first_name} {person.last_name}"
