import pytest

from app.core.phones import format_phone


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+46701740609", "+46 70 174 06 09"),  # a Swedish mobile
        ("+4687851000", "+46 8 785 10 00"),  # Stockholm's area code is one digit
        ("+4533663366", "+45 33 66 33 66"),  # Danish
        ("+4791234567", "+47 91 23 45 67"),  # Norwegian
        ("070-174 06 09", "+46 70 174 06 09"),  # typed at home: read as Swedish
        ("kontoret", "kontoret"),  # not a number: as written
        ("", ""),
        (None, ""),
    ],
)
def test_a_phone_number_is_grouped_as_its_country_writes_it(stored: str | None, shown: str) -> None:
    assert format_phone(stored) == shown


def test_a_number_without_prefix_is_read_in_the_region_given() -> None:
    assert format_phone("33 66 33 66", "DK") == "+45 33 66 33 66"
