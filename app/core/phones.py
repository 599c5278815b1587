"""Phone numbers as people read them: one way of writing them on every page and file."""

from __future__ import annotations

import phonenumbers


def format_phone(number: str | None, region: str = "SE") -> str:
    """A phone number grouped as its country groups it, after its international prefix:
    "+46701740609" is "+46 70 174 06 09", "+4533663366" is
    "+45 33 66 33 66". A number without a prefix is read as one of ``region``'s. Text
    that is no possible number is returned as written, so nothing typed is lost."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_possible_number(parsed):
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
