"""The text-message counter against the GSM 03.38 tables (REFERENCES.md §1)."""

from __future__ import annotations

import pytest

from app.core.outbox.sms_length import sms_length


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts", "remaining"),
    [
        ("", "gsm7", 0, 1, 160),
        ("a" * 160, "gsm7", 160, 1, 0),
        ("a" * 161, "gsm7", 161, 2, 153 * 2 - 161),
        ("a" * 306, "gsm7", 306, 2, 0),
        ("a" * 307, "gsm7", 307, 3, 153 * 3 - 307),
        # Swedish and Danish letters stay in GSM-7.
        ("åäöÅÄÖæÆøØéÉüÜ" * 10, "gsm7", 140, 1, 20),
        ("Hej Åsa! Välkommen till vallokalen i Örebro." + "x" * 116, "gsm7", 160, 1, 0),
        # The extension table takes two places.
        ("€" * 80, "gsm7", 160, 1, 0),
        # 76 pairs fill 152 of the first part; the last place stays empty.
        ("€" * 81, "gsm7", 162, 2, 153 - 10),
        ("{}[]~|^\\", "gsm7", 16, 1, 144),
        # One escape pair never straddles two parts: 152 'a' then '€' starts part two.
        ("a" * 152 + "€" + "a" * 10, "gsm7", 164, 2, 153 - 12),
        # One character outside the alphabet makes all of it UCS-2.
        ("a" * 69 + "’", "ucs2", 70, 1, 0),
        ("a" * 70 + "’", "ucs2", 71, 2, 67 * 2 - 71),
        ("a" * 134 + "–", "ucs2", 135, 3, 67 * 3 - 135),
        ("Tack … vi ses", "ucs2", 13, 1, 57),
        ("“citat”", "ucs2", 7, 1, 63),
        ("á", "ucs2", 1, 1, 69),
        ("ç", "ucs2", 1, 1, 69),
        # An emoji outside the BMP takes two UCS-2 units.
        ("👍", "ucs2", 2, 1, 68),
        ("a" * 66 + "👍" + "a" * 10, "ucs2", 78, 2, 67 - 12),
    ],
)
def test_it_counts_units_and_parts(
    text: str, encoding: str, units: int, parts: int, remaining: int
) -> None:
    measure = sms_length(text)
    assert (measure.encoding, measure.units, measure.parts, measure.remaining) == (
        encoding,
        units,
        parts,
        remaining,
    )


def test_it_names_the_characters_that_make_it_unicode() -> None:
    measure = sms_length("Hej – vi ses’ … ’ 👍 åäö")
    assert measure.is_unicode
    assert measure.non_gsm == ("–", "’", "…", "👍")
    assert measure.per_message == 70


def test_it_reports_the_part_size_once_split() -> None:
    assert sms_length("a" * 200).per_message == 153
    assert sms_length("a" * 100).per_message == 160
    assert sms_length("’" * 100).per_message == 67
    assert sms_length("a").non_gsm == ()
