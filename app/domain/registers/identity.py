"""National identity numbers and mobile numbers: validation, normalisation, masking.

Swedish personnummer and samordningsnummer (day + 60), Danish CPR and Norwegian
fødselsnummer, through python-stdnum. Danish numbers issued since 2007 may fail the
old modulus-11 check, so a CPR is never refused for it. The stored form is digits
only with the full year for Sweden; lists show a masked form, and only an explicit,
audited reveal shows the whole number.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import phonenumbers
from stdnum import luhn
from stdnum.dk import cpr
from stdnum.exceptions import ValidationError
from stdnum.no import fodselsnummer
from stdnum.se import personnummer

from app.core.i18n import _
from app.core.phones import format_phone as format_phone  # kept here for its callers

COUNTRIES = ("SE", "DK", "NO")


class IdentityError(ValueError):
    """A number that cannot be right; ``message`` is translated."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class NationalId:
    country: str
    number: str  # normalised: SE 12 digits, DK 10 digits, NO 11 digits
    birth_date: datetime.date

    @property
    def formatted(self) -> str:
        return format_national_id(self.country, self.number)

    @property
    def masked(self) -> str:
        return mask_national_id(self.country, self.number)


def _digits(raw: str) -> str:
    # ASCII only: str.isdigit() would also take '³' or Arabic-Indic digits.
    return "".join(ch for ch in raw if ch in "0123456789")


def parse_national_id(country: str, raw: str, today: datetime.date | None = None) -> NationalId:
    """Validate and normalise ``raw`` for ``country``; raises IdentityError."""
    raw = (raw or "").strip()
    if not raw:
        raise IdentityError(_("Enter an identity number."))
    today = today or datetime.date.today()
    if country == "SE":
        return _not_in_future(_parse_swedish(raw, today), today)
    if country == "DK":
        return _not_in_future(_parse_danish(raw), today)
    if country == "NO":
        return _not_in_future(_parse_norwegian(raw), today)
    raise IdentityError(_("Choose the country that issued the number."))


def _not_in_future(parsed: NationalId, today: datetime.date) -> NationalId:
    if parsed.birth_date > today:
        raise IdentityError(_("The number does not contain a real date of birth."))
    return parsed


def _parse_swedish(raw: str, today: datetime.date) -> NationalId:
    digits = _digits(raw)
    centenarian = "+" in raw
    if len(digits) not in (10, 12):
        raise IdentityError(_("A Swedish personal identity number has 10 or 12 digits."))
    if not luhn.is_valid(digits[-10:]):
        raise IdentityError(_("The check digit does not match; check the number."))
    short = digits[-10:]
    day = int(short[4:6])
    coordination = day > 60
    real_day = day - 60 if coordination else day
    if len(digits) == 12:
        year = int(digits[:4])
    else:
        # Century from today, as the Swedish rule: '+' marks people aged 100 or more.
        century = today.year // 100
        if int(short[:2]) > today.year % 100:
            century -= 1
        if centenarian:
            century -= 1
        year = century * 100 + int(short[:2])
    try:
        birth = datetime.date(year, int(short[2:4]), real_day)
    except ValueError:
        raise IdentityError(_("The number does not contain a real date of birth.")) from None
    if not coordination:
        # Cross-check with python-stdnum for ordinary personnummer.
        try:
            personnummer.validate(f"{year:04d}{short[2:6]}-{short[6:]}")
        except ValidationError:
            raise IdentityError(
                _("This is not a valid Swedish personal identity number.")
            ) from None
    return NationalId("SE", f"{year:04d}{short[2:]}", birth)


def _parse_danish(raw: str) -> NationalId:
    digits = _digits(raw)
    if len(digits) != 10:
        raise IdentityError(_("A Danish CPR number has 10 digits."))
    try:
        birth = cpr.get_birth_date(digits)
    except ValidationError:
        raise IdentityError(_("The number does not contain a real date of birth.")) from None
    # No modulus-11 check: CPR numbers without it have been issued since 2007.
    return NationalId("DK", digits, birth)


def _parse_norwegian(raw: str) -> NationalId:
    digits = _digits(raw)
    if len(digits) != 11:
        raise IdentityError(_("A Norwegian national identity number has 11 digits."))
    try:
        fodselsnummer.validate(digits)
        birth = fodselsnummer.get_birth_date(digits)
    except ValidationError:
        raise IdentityError(_("This is not a valid Norwegian national identity number.")) from None
    return NationalId("NO", digits, birth)


def format_national_id(country: str, number: str) -> str:
    if country == "SE":
        return f"{number[:8]}-{number[8:]}"
    if country == "DK":
        return f"{number[:6]}-{number[6:]}"
    return number


def mask_national_id(country: str | None, number: str | None) -> str:
    """Birth date only: enough to tell people apart in a list, not enough to misuse."""
    if not number or not country:
        return ""
    if country == "SE":
        return f"{number[:8]}-****"
    if country == "DK":
        return f"{number[:6]}-****"
    return f"{number[:6]}*****"


def age_on(birth_date: datetime.date, day: datetime.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def parse_mobile(raw: str, default_region: str = "SE") -> str:
    """A mobile number in E.164 (+46701234567); raises IdentityError."""
    raw = (raw or "").strip()
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise IdentityError(_("Enter a phone number, e.g. 070-123 45 67.")) from None
    if not phonenumbers.is_valid_number(number):
        raise IdentityError(_("This phone number does not exist; check it."))
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise IdentityError(_("Enter a mobile number, so that text messages reach it."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
