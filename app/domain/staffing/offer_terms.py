"""What a clerk decides an offer by: the pay, the answer deadline, whom to ask, and
where the place is. The same facts go into the offer's e-mail, its SMS, the public
offer page and the portal, each in the reader's language."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from app.core.i18n import _, format_locale
from app.domain.models import Assignment, Building, RoleType, SiteSettings, Station

#: The answer deadline is the end of its day, local time.
DEADLINE_TIME = dt.time(23, 59)


def fee_text(amount: Decimal, unit: str) -> str:
    """A role's pay in the current language ("2 400 kr per day")."""
    pattern = "#,##0" if amount == amount.to_integral_value() else "#,##0.00"
    value = format_decimal(amount, format=pattern, locale=format_locale())
    if unit == "hour":
        return _("%(amount)s kr per hour", amount=value)
    return _("%(amount)s kr per day", amount=value)


def answer_deadline(
    now: dt.datetime, days: int, timezone: str, shift_day: dt.date, shift_starts: dt.time
) -> dt.datetime:
    """The end of the day ``days`` after ``now`` (local time), but never later than the
    end of the day before the shift; when that has passed, the shift's start."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    last_day = min(today + dt.timedelta(days=days), shift_day - dt.timedelta(days=1))
    deadline = dt.datetime.combine(last_day, DEADLINE_TIME, tzinfo=zone)
    if deadline <= now:
        deadline = dt.datetime.combine(shift_day, shift_starts, tzinfo=zone)
    return deadline.astimezone(dt.UTC)


@dataclass(frozen=True)
class OfferTerms:
    """The facts of one offer; the ``*_text`` methods write them in the current language."""

    pay_amount: Decimal
    pay_unit: str
    answer_by: dt.datetime | None
    timezone: str
    office_email: str | None
    office_phone: str | None
    station: str
    address: str

    def pay_text(self) -> str:
        return fee_text(self.pay_amount, self.pay_unit)

    def deadline_text(self, format: str = "full") -> str:
        """The deadline as a date and time in the municipality's time zone."""
        if self.answer_by is None:
            return ""
        local = self.answer_by.astimezone(ZoneInfo(self.timezone))
        return _(
            "%(day)s at %(time)s",
            day=format_date(local.date(), format=format, locale=format_locale()),
            time=format_time(local.time(), format="HH:mm", locale=format_locale()),
        )

    @property
    def has_contact(self) -> bool:
        return bool(self.office_email or self.office_phone)


def terms_of(assignment: Assignment, settings: SiteSettings, timezone: str) -> OfferTerms:
    """The terms of an assignment loaded with its role type and station (room, building)."""
    station = assignment.station
    building = station.room.building if station.room is not None else None
    return make_terms(
        assignment.role_type, station, building, assignment.answer_by, settings, timezone
    )


def make_terms(
    role: RoleType,
    station: Station,
    building: Building | None,
    answer_by: dt.datetime | None,
    settings: SiteSettings,
    timezone: str,
) -> OfferTerms:
    """The terms from their parts, for a page that has loaded them already."""
    address = ""
    if building is not None and building.street_address:
        town = f"{building.postal_code} {building.city}".strip()
        address = f"{building.street_address}, {town}" if town else building.street_address
    return OfferTerms(
        pay_amount=role.pay_amount,
        pay_unit=role.pay_unit,
        answer_by=answer_by,
        timezone=timezone,
        office_email=settings.office_email,
        office_phone=settings.office_phone,
        station=station.name,
        address=address,
    )
