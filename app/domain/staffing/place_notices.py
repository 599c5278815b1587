"""Telling the people on a place that it changed: the shift's time moved, or the office
took them off it. E-mail and SMS through the outbox, in the person's own language,
written in the change's transaction (a refused change tells nobody)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.i18n import _, format_locale, locale_scope, named
from app.core.models import Tenant
from app.core.outbox.mail import queue_email
from app.core.outbox.sms import queue_sms
from app.domain.models import Assignment, Person, RoleType, Shift, SiteSettings, Station

#: Only these have heard of their place; a proposal is the office's draft.
TOLD_STATES = ("offered", "accepted")


@dataclass(frozen=True)
class When:
    """A shift's day and times."""

    day: dt.date
    starts_at: dt.time
    ends_at: dt.time

    def text(self, locale: str) -> str:
        day = format_date(self.day, format="medium", locale=format_locale(locale))
        return f"{day} {self.starts_at.strftime('%H:%M')}–{self.ends_at.strftime('%H:%M')}"


@dataclass(frozen=True)
class Place:
    """Which place a notice is about, as the person knows it."""

    assignment_id: int
    state: str
    role: str
    station: str


@dataclass(frozen=True)
class PlaceSummary:
    """One assignment as a planner confirms taking its person off: who, where, when,
    and whether they will be told."""

    assignment: Assignment
    person: Person
    role_type: RoleType
    station: str
    shift: Shift

    @property
    def role(self) -> str:
        """The role's name in the reader's language."""
        return named(self.role_type)

    @property
    def will_be_told(self) -> bool:
        return self.assignment.state in TOLD_STATES

    @property
    def place(self) -> Place:
        return Place(
            self.assignment.id,
            self.assignment.state,
            named(self.role_type, self.person.preferred_language),
            self.station,
        )

    @property
    def when(self) -> When:
        return When(self.shift.day, self.shift.starts_at, self.shift.ends_at)


async def place_summary(session: AsyncSession, assignment_id: int) -> PlaceSummary:
    """The person, role, station and shift of an assignment (404 when not there)."""
    row = (
        await session.execute(
            select(Assignment, Person, RoleType, Station.name, Shift)
            .join(Person, Person.id == Assignment.person_id)
            .join(RoleType, RoleType.id == Assignment.role_type_id)
            .join(Station, Station.id == Assignment.station_id)
            .join(Shift, Shift.id == Assignment.shift_id)
            .where(Assignment.id == assignment_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(_("Not found."))
    assignment, person, role, station, shift = row
    return PlaceSummary(assignment, person, role, station, shift)


def _contact(settings: SiteSettings) -> dict[str, Any]:
    return {
        "office_email": settings.office_email or "",
        "office_phone": settings.office_phone or "",
    }


def _tell(
    session: AsyncSession,
    tenant: Tenant,
    settings: SiteSettings,
    person: Person,
    mail: tuple[str, str, dict[str, Any]],
    sms: tuple[str, Callable[[], str]],
) -> None:
    """Send one notice by e-mail and SMS, in the person's language: ``mail`` is the
    template, its idempotency key and context; ``sms`` the key and what writes the text
    (called in the person's language). The office's phone ends the text."""
    locale = person.preferred_language
    template, mail_key, context = mail
    if person.email:
        queue_email(
            session,
            to=person.email,
            template=template,
            locale=locale,
            idempotency_key=mail_key,
            tenant_id=tenant.id,
            name=person.first_name,
            municipality=tenant.name,
            **context,
            **_contact(settings),
        )
    if person.mobile:
        sms_key, write = sms
        with locale_scope(locale):
            text = write()
            if settings.office_phone:
                text += " " + _("Questions: %(phone)s", phone=settings.office_phone)
        queue_sms(
            session, to=person.mobile, text=text, idempotency_key=sms_key, tenant_id=tenant.id
        )


def tell_time_changed(
    session: AsyncSession,
    tenant: Tenant,
    settings: SiteSettings,
    person: Person,
    place: Place,
    was: When,
    now: When,
    key: str,
) -> None:
    """Tell a person on a shift that its day or times changed."""
    locale = person.preferred_language
    context: dict[str, Any] = {
        "role": place.role,
        "station": place.station,
        "was": was.text(locale),
        "now": now.text(locale),
        "offered": place.state == "offered",
    }
    _tell(
        session,
        tenant,
        settings,
        person,
        ("staffing_shift_changed", f"shift-changed:{place.assignment_id}:{key}", context),
        (
            f"shift-changed-sms:{place.assignment_id}:{key}",
            lambda: _(
                "%(municipality)s: your place as %(role)s at %(station)s has a new time: "
                "%(now)s (was %(was)s).",
                municipality=tenant.name,
                **{k: context[k] for k in ("role", "station", "now", "was")},
            ),
        ),
    )


def tell_withdrawn(
    session: AsyncSession,
    tenant: Tenant,
    settings: SiteSettings,
    person: Person,
    place: Place,
    when: When,
) -> None:
    """Tell a person the office took them off a place they were offered or had."""
    context = {
        "role": place.role,
        "station": place.station,
        "when": when.text(person.preferred_language),
    }
    _tell(
        session,
        tenant,
        settings,
        person,
        ("staffing_withdrawn", f"withdrawn:{place.assignment_id}", context),
        (
            f"withdrawn-sms:{place.assignment_id}",
            lambda: _(
                "%(municipality)s: you are no longer booked as %(role)s at %(station)s "
                "on %(when)s. You do not need to come.",
                municipality=tenant.name,
                **context,
            ),
        ),
    )
