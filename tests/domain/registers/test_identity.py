import datetime as dt

import pytest

from app.core.i18n import locale_scope
from app.domain.registers.identity import IdentityError, age_on, parse_mobile, parse_national_id

TODAY = dt.date(2026, 11, 27)


@pytest.mark.parametrize(
    ("country", "raw", "number", "birth"),
    [
        ("SE", "900101-0017", "199001010017", dt.date(1990, 1, 1)),
        ("SE", "19900101-0017", "199001010017", dt.date(1990, 1, 1)),
        ("SE", "9001010017", "199001010017", dt.date(1990, 1, 1)),
        ("SE", "121212+1212", "191212121212", dt.date(1912, 12, 12)),  # 100 or older
        ("SE", "701063-2391", "197010632391", dt.date(1970, 10, 3)),  # samordningsnummer
        ("DK", "010101-1234", "0101011234", dt.date(1901, 1, 1)),  # no modulus-11: accepted
        ("DK", "2110625629", "2110625629", dt.date(1862, 10, 21)),
        ("NO", "15108695088", "15108695088", dt.date(1986, 10, 15)),
    ],
)
def test_it_normalises_valid_numbers(country: str, raw: str, number: str, birth: dt.date) -> None:
    parsed = parse_national_id(country, raw, TODAY)
    assert (parsed.number, parsed.birth_date) == (number, birth)


@pytest.mark.parametrize(
    ("country", "raw", "message"),
    [
        ("SE", "900101-0018", "check digit"),
        ("SE", "901301-0013", "date of birth"),
        ("SE", "12345", "10 or 12 digits"),
        ("DK", "3201011234", "date of birth"),
        ("DK", "12345", "10 digits"),
        ("NO", "15108695089", "not a valid Norwegian"),
        ("SE", "", "Enter an identity number"),
    ],
)
def test_it_refuses_wrong_numbers_with_a_reason(country: str, raw: str, message: str) -> None:
    with locale_scope("en"), pytest.raises(IdentityError) as caught:
        parse_national_id(country, raw, TODAY)
    assert message in caught.value.message


def test_it_masks_and_formats() -> None:
    parsed = parse_national_id("SE", "900101-0017", TODAY)
    assert parsed.masked == "19900101-****"
    assert parsed.formatted == "19900101-0017"
    assert parse_national_id("DK", "0101011234").masked == "010101-****"


def test_it_computes_age_on_a_day() -> None:
    assert age_on(dt.date(2008, 9, 14), dt.date(2026, 9, 13)) == 17
    assert age_on(dt.date(2008, 9, 13), dt.date(2026, 9, 13)) == 18


def test_it_stores_mobiles_in_e164_and_refuses_landlines() -> None:
    assert parse_mobile("070-123 45 67") == "+46701234567"
    assert parse_mobile("+45 20 12 34 56", "DK") == "+4520123456"
    with pytest.raises(IdentityError):
        parse_mobile("08-123 456 78")
    with pytest.raises(IdentityError):
        parse_mobile("not a number")


def test_it_takes_only_ascii_digits_and_no_future_birth_dates() -> None:
    with pytest.raises(IdentityError):
        parse_national_id("DK", "01019012³4", TODAY)
    with pytest.raises(IdentityError):
        parse_national_id("DK", "٠١٠١٩٠١٢٣٤", TODAY)
    with pytest.raises(IdentityError):
        parse_national_id("SE", "20300101-0007", TODAY)
