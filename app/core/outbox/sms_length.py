"""How long a text message is: its encoding, its characters and the parts it is sent in.

A message written only in the GSM 03.38 alphabet (3GPP TS 23.038) is sent as GSM-7:
160 characters in one message, 153 per part when it must be split. One character
outside that alphabet makes the whole message UCS-2: 70 characters, 67 per part.
The characters of the alphabet's extension table (``^ { } \\ [ ] ~ |`` and ``€``)
take two places in GSM-7. In UCS-2 a character outside the Basic Multilingual
Plane (most emoji) takes two 16-bit units.

Swedish and Danish letters (å ä ö æ ø é ü) are in the alphabet; the typographic
quotes, dashes and ellipsis that pasted text carries (’ “ ” – …) are not, and
:func:`sms_length` names them so the editor can warn about them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: The GSM 03.38 basic character set (one septet each).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The extension table: each takes an escape septet and its own (two places).
GSM7_EXTENSION = frozenset("^{}\\[]~|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

#: Characters often pasted from word processors, with the GSM-7 character to write instead.
SUGGESTED_REPLACEMENTS = {
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
}


@dataclass(frozen=True)
class SmsLength:
    """The measure of one text: ``units`` are septets (GSM-7) or 16-bit units (UCS-2)."""

    encoding: str  # "gsm7" or "ucs2"
    units: int
    parts: int
    per_message: int  # the most units in this message's parts (160/153 or 70/67)
    remaining: int  # units left in the last part before another part starts
    non_gsm: tuple[str, ...]  # the characters that made it UCS-2, each once, in order

    @property
    def is_unicode(self) -> bool:
        return self.encoding == "ucs2"


def non_gsm_characters(text: str) -> tuple[str, ...]:
    """The characters of ``text`` outside the GSM-7 alphabet, each once, in order."""
    seen: dict[str, None] = {}
    for character in text:
        if character not in GSM7_BASIC and character not in GSM7_EXTENSION:
            seen.setdefault(character, None)
    return tuple(seen)


def _gsm7_width(character: str) -> int:
    return 2 if character in GSM7_EXTENSION else 1


def _ucs2_width(character: str) -> int:
    return 2 if ord(character) > 0xFFFF else 1


def _split(text: str, part: int, width: Callable[[str], int]) -> tuple[int, int]:
    """(parts, units in the last part) when a pair never straddles two parts."""
    parts, used = 1, 0
    for character in text:
        size = width(character)
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return parts, used


def sms_length(text: str) -> SmsLength:
    """Measure ``text`` as a text message; the empty text is one (empty) message.

    A part does not end inside an escape pair (GSM-7) or a surrogate pair (UCS-2),
    so a long message of such characters may need one part more than the units
    alone say; this counts it the way the gateways split it.
    """
    strangers = non_gsm_characters(text)
    if strangers:
        encoding, single, part, width = "ucs2", UCS2_SINGLE, UCS2_PART, _ucs2_width
    else:
        encoding, single, part, width = "gsm7", GSM7_SINGLE, GSM7_PART, _gsm7_width
    units = sum(width(character) for character in text)
    if units <= single:
        return SmsLength(encoding, units, 1, single, single - units, strangers)
    parts, last = _split(text, part, width)
    return SmsLength(encoding, units, parts, part, part - last, strangers)
