"""Collecting every field error of one form, import row or API request at once."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from app.core.errors import DomainError
from app.core.i18n import _


class FieldErrors(DomainError):
    """Several fields are wrong; ``errors`` maps each field to its translated message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        first_field, first_message = next(iter(errors.items()))
        super().__init__(first_message, first_field)
        self.errors = dict(errors)


#: A plausible email address: something, an at sign, a domain with a dot. Whether it
#: exists only a sent message can tell.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_ID = 2**31 - 1
_ID = re.compile(r"[0-9]{1,10}")


def parse_id(raw: object) -> int | None:
    """An id, or None for anything that is not a plausible one (never raises)."""
    text = str(raw or "").strip()
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def parse_ids(raws: list[str], limit: int = 5000) -> list[int]:
    return [value for value in (parse_id(raw) for raw in raws[:limit]) if value is not None]


class Cleaner:
    """Reads raw input (strings from a form, a spreadsheet or JSON) field by field."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def raw(self, field: str) -> str:
        value = self.data.get(field)
        return "" if value is None else str(value).strip()

    def text(self, field: str, max_length: int, required: bool = False) -> str:
        # Control characters (but line breaks and tabs) are dropped: they break
        # spreadsheets and have no place in a name or an address.
        value = _CONTROL.sub("", self.raw(field))
        if required and not value:
            self.fail(field, _("This field is required."))
        elif len(value) > max_length:
            self.fail(field, _("At most %(count)s characters.", count=max_length))
        return value[:max_length]

    def choice(self, field: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.raw(field) or (default or "")
        if value not in choices:
            self.fail(field, _("Choose one of the options."))
            return default or choices[0]
        return value

    def integer(self, field: str, minimum: int = 0, maximum: int = 10**9, default: int = 0) -> int:
        value = self.raw(field)
        if not value:
            return default
        try:
            number = int(value.replace(" ", "").replace("\u00a0", ""))
        except ValueError:
            self.fail(field, _("Enter a whole number."))
            return default
        if not minimum <= number <= maximum:
            self.fail(field, _("Enter a number from %(min)s to %(max)s.", min=minimum, max=maximum))
        return number

    def decimal_number(self, field: str, minimum: float, maximum: float) -> float | None:
        value = self.raw(field).replace(",", ".")
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            self.fail(field, _("Enter a number."))
            return None
        if not minimum <= number <= maximum:
            self.fail(field, _("Enter a number from %(min)s to %(max)s.", min=minimum, max=maximum))
            return None
        return number

    def identifier(self, field: str, required: bool = False) -> int | None:
        """A database id from a form or JSON: ASCII digits, within a 32-bit integer."""
        value = parse_id(self.raw(field))
        if value is None and (required or self.raw(field)):
            self.fail(field, _("Choose one of the options."))
        return value

    def boolean(self, field: str) -> bool:
        value = self.data.get(field)
        if isinstance(value, bool):
            return value
        return str(value or "").strip().lower() in ("1", "true", "y", "yes", "ja", "on", "x")

    def date(self, field: str, required: bool = False) -> dt.date | None:
        value = self.data.get(field)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = self.raw(field)
        if not text:
            if required:
                self.fail(field, _("This field is required."))
            return None
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            self.fail(field, _("Enter a date as YYYY-MM-DD."))
            return None

    def time(self, field: str, required: bool = True) -> dt.time | None:
        value = self.data.get(field)
        if isinstance(value, dt.time):
            if value.tzinfo is None:
                return value
            # A wall-clock time with an offset (JSON's 0 read as seconds is one) is no
            # local time: refused like any other that is not HH:MM.
            self.fail(field, _("Enter a time as HH:MM."))
            return None
        text = self.raw(field).replace(".", ":")
        if not text:
            if required:
                self.fail(field, _("This field is required."))
            return None
        match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(?::00)?", text)
        try:
            if match is None:
                raise ValueError(text)
            return dt.time(int(match.group(1)), int(match.group(2) or 0))
        except ValueError:
            self.fail(field, _("Enter a time as HH:MM."))
            return None

    def words(self, field: str, max_items: int = 20, max_length: int = 40) -> list[str]:
        value = self.data.get(field)
        items = value if isinstance(value, list) else str(value or "").replace(";", ",").split(",")
        words = []
        for item in items:
            word = str(item).strip()
            if word and word not in words:
                words.append(word[:max_length])
        if len(words) > max_items:
            self.fail(field, _("At most %(count)s items.", count=max_items))
        return words[:max_items]

    def done(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors)
