"""Applications to work in an election, from the public site or the API.

An applicant fills in one form for one or more elections. Applying again with the
same id number (or the same email and name) updates the earlier application, and the
answer is the same either way, so the form never tells whether someone applied before.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Text, cast, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core import ratelimit
from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import Tenant, utcnow
from app.core.outbox.mail import queue_email
from app.core.security import hash_token
from app.core.validation import Cleaner, FieldErrors, parse_id
from app.domain.elections.voting_days import voting_days
from app.domain.models import (
    APPLICATION_STATUSES,
    EXPERIENCE_LEVELS,
    WORK_KINDS,
    Application,
    ApplicationDay,
    ApplicationDistrict,
    ApplicationElection,
    District,
    Election,
)
from app.domain.registers.identity import mask_national_id
from app.domain.registers.people import clean_person
from app.domain.site.webparts import privacy_notice_for_consent, site_settings

#: Accepted applications per address and hour. Only stored applications count, so
#: someone correcting mistakes is never locked out; a library computer can serve several.
APPLY_LIMIT = ratelimit.Limit("public.apply", 10, timedelta(hours=1))
MAX_MESSAGE = 5000


@dataclass(frozen=True)
class OpenElection:
    """An election taking applications, with what the form offers for it."""

    election: Election
    days: list[dt.date]
    advance_days: frozenset[dt.date]
    districts: list[District]

    @property
    def id(self) -> int:
        return self.election.id

    @property
    def work_kinds(self) -> tuple[str, ...]:
        if self.election.advance_start and self.election.advance_end:
            return WORK_KINDS
        return tuple(kind for kind in WORK_KINDS if kind != "advance")

    def fits(self, kind: str, day: dt.date) -> bool:
        """Whether work of ``kind`` can happen on ``day`` of this election."""
        if kind == "advance":
            return day in self.advance_days
        return day == self.election.election_day


async def open_elections(session: AsyncSession, today: dt.date) -> list[OpenElection]:
    """Elections still ahead that are being planned or run: the ones people apply for."""
    elections = await session.scalars(
        select(Election)
        .where(Election.status.in_(("planning", "active")), Election.election_day >= today)
        .options(selectinload(Election.districts))
        .order_by(Election.election_day, Election.id)
    )
    return [offer_for(election, list(election.districts)) for election in elections]


def offer_for(election: Election, districts: list[District]) -> OpenElection:
    days = voting_days(election)
    has_advance = bool(election.advance_start and election.advance_end)
    return OpenElection(election, days, frozenset(days if has_advance else ()), districts)


async def elections_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Election]:
    rows = await session.scalars(select(Election).where(Election.id.in_(ids)))
    return {election.id: election for election in rows}


@dataclass
class Choice:
    election_id: int
    work_kinds: list[str]
    days: list[dt.date]
    district_ids: list[int]


@dataclass
class CleanApplication:
    values: dict[str, Any]
    choices: list[Choice] = field(default_factory=list)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return list(value)
    return [value]


def clean_application(
    data: Mapping[str, Any], offered: Sequence[OpenElection], default_country: str
) -> CleanApplication:
    """Check a whole application and name every bad field at once.

    ``data["elections"]`` is a list of ``{"election_id", "work_kinds", "days",
    "district_ids"}``; errors about one election are reported on ``kinds_<id>``,
    ``days_<id>`` and ``districts_<id>``.
    """
    errors: dict[str, str] = {}
    person = {
        key: data.get(key)
        for key in (
            "first_name", "last_name", "national_id_country", "national_id", "email",
            "mobile", "street_address", "postal_code", "city", "preferred_language",
        )
    }  # fmt: skip
    person["spoken_languages"] = data.get("spoken_languages") or []
    values: dict[str, Any] = {}
    try:
        values = clean_person(person, default_country)
    except FieldErrors as error:
        errors.update(error.errors)
    for name, message in (
        ("national_id", _("Enter your identity number.")),
        ("email", _("Enter your email address.")),
        ("mobile", _("Enter your mobile number.")),
    ):
        if not str(data.get(name) or "").strip():
            errors.setdefault(name, message)
    cleaner = Cleaner(data)
    values.update(
        experience=cleaner.choice("experience", EXPERIENCE_LEVELS, "none"),
        experience_notes=cleaner.text("experience_notes", 2000),
        preferred_areas=cleaner.text("preferred_areas", 300),
        message=cleaner.text("message", MAX_MESSAGE),
    )
    if not cleaner.boolean("consent"):
        cleaner.fail("consent", _("You must accept the privacy notice to apply."))
    errors.update({key: value for key, value in cleaner.errors.items() if key not in errors})
    choices = clean_choices(data.get("elections"), offered, errors)
    if errors:
        raise FieldErrors(errors)
    for key in ("notes", "tags", "status"):
        values.pop(key, None)
    return CleanApplication(values, choices)


def clean_choices(
    raw: Any, offered: Sequence[OpenElection], errors: dict[str, str]
) -> list[Choice]:
    by_id = {option.id: option for option in offered}
    choices: list[Choice] = []
    items = [item for item in _list(raw) if isinstance(item, Mapping)]
    if not items:
        errors.setdefault("elections", _("Choose at least one election."))
        return choices
    for item in items[:10]:
        election_id = parse_id(item.get("election_id"))
        option = by_id.get(election_id or 0)
        if option is None:
            errors.setdefault("elections", _("This election no longer takes applications."))
            continue
        kinds = [str(kind) for kind in _list(item.get("work_kinds"))]
        if not kinds:
            errors.setdefault(f"kinds_{option.id}", _("Choose at least one kind of work."))
        elif any(kind not in option.work_kinds for kind in kinds):
            errors.setdefault(f"kinds_{option.id}", _("Choose one of the options."))
        days: list[dt.date] = []
        for raw_day in _list(item.get("days"))[:60]:
            try:
                day = (
                    raw_day if isinstance(raw_day, dt.date) else dt.date.fromisoformat(str(raw_day))
                )
            except ValueError:
                errors.setdefault(f"days_{option.id}", _("Enter a date as YYYY-MM-DD."))
                continue
            if day not in option.days:
                errors.setdefault(
                    f"days_{option.id}",
                    _("%(day)s is not a voting day of this election.", day=day.isoformat()),
                )
            elif day not in days:
                days.append(day)
        if not days:
            errors.setdefault(f"days_{option.id}", _("Choose at least one day you can work."))
        else:
            for kind in kinds:
                if kind in option.work_kinds and not any(option.fits(kind, day) for day in days):
                    message = (
                        _("Advance voting needs at least one advance voting day.")
                        if kind == "advance"
                        else _("Work on election day and counting need election day.")
                    )
                    errors.setdefault(f"days_{option.id}", message)
        district_ids = []
        known = {district.id for district in option.districts}
        for raw_district in _list(item.get("district_ids"))[:50]:
            district_id = parse_id(raw_district)
            if district_id not in known:
                errors.setdefault(f"districts_{option.id}", _("Choose one of the options."))
            elif district_id not in district_ids:
                district_ids.append(district_id)
        choices.append(Choice(option.id, sorted(set(kinds)), sorted(days), district_ids))
    return choices


async def _existing(session: AsyncSession, values: Mapping[str, Any]) -> Application | None:
    """The applicant's earlier application: same id number, or same email and name (so a
    mistyped number can be corrected, while a family sharing one address stays apart)."""
    found = await session.scalar(
        select(Application).where(Application.national_id == values["national_id"])
    )
    if found is not None:
        return found
    candidates = await session.scalars(
        select(Application).where(Application.email == values["email"])
    )
    for candidate in candidates:
        if (candidate.first_name.casefold(), candidate.last_name.casefold()) == (
            values["first_name"].casefold(),
            values["last_name"].casefold(),
        ):
            return candidate
    return None


@dataclass(frozen=True)
class Submitted:
    application: Application
    access_token: str


async def submit_application(
    session: AsyncSession,
    tenant: Tenant,
    data: Mapping[str, Any],
    *,
    locale: str,
    base_url: str,
    today: dt.date,
    source: str = "web",
    ip_address: str | None = None,
) -> Submitted:
    """Store an application (new, or an update of the applicant's earlier one), record
    the consent with the privacy notice version shown, and email a confirmation with a
    link to the stored data. Refuses bad input and too many applications from one
    address with nothing stored."""
    if ip_address is not None:
        await ratelimit.check(session, APPLY_LIMIT, ratelimit.address_key(ip_address))
    if not (await site_settings(session)).applications_open:
        raise FieldErrors({"elections": _("Applications are closed right now.")})
    offered = await open_elections(session, today)
    default_country = {"da": "DK"}.get(tenant.locale, "SE")
    clean = clean_application(data, offered, default_country)
    actor = Actor.system("applicant" if source == "web" else "api")
    try:
        submitted = await _store(session, tenant, clean, offered, actor, locale, base_url, source)
        if ip_address is not None:
            ratelimit.hit(session, APPLY_LIMIT, ratelimit.address_key(ip_address))
        await session.commit()
    except IntegrityError:
        # The same person sent the form twice at the same moment; the first one counts.
        await session.rollback()
        raise FieldErrors(
            {"national_id": _("This application was sent twice at the same moment. Try again.")}
        ) from None
    return submitted


async def _store(
    session: AsyncSession,
    tenant: Tenant,
    clean: CleanApplication,
    offered: Sequence[OpenElection],
    actor: Actor,
    locale: str,
    base_url: str,
    source: str,
) -> Submitted:
    values = clean.values
    privacy = await privacy_notice_for_consent(session, actor, locale)
    application = await _existing(session, values)
    again = application is not None
    previous_email = application.email if application is not None else None
    if application is None:
        application = Application(consented_at=utcnow(), times_submitted=1)
    else:
        application.times_submitted += 1
        await session.refresh(application, ["choices", "days", "districts"])
    for key, value in values.items():
        setattr(application, key, value)
    application.status = "new"
    application.source = source
    application.submitted_at = utcnow()
    application.consented_at = utcnow()
    application.privacy_version_id = privacy.id
    application.privacy_version_number = privacy.number
    application.privacy_locale = locale
    application.decided_at = None
    application.decided_by_label = None
    token = secrets.token_urlsafe(32)
    application.access_token_hash = hash_token(token)
    session.add(application)
    await _replace_choices(session, application, clean.choices, offered)
    names = {option.id: option.election.name for option in offered}
    link = f"{base_url}/{tenant.slug}/apply/mine?token={token}"
    queue_email(
        session,
        to=application.email,
        template="application_received",
        locale=locale,
        idempotency_key=f"application-received:{application.id}:{application.times_submitted}",
        tenant_id=tenant.id,
        sensitive=True,
        name=application.first_name,
        municipality=tenant.name,
        elections=[names[choice.election_id] for choice in clean.choices],
        link=link,
    )
    if previous_email and previous_email != application.email:
        # The earlier address hears about the change, in case it was not its owner's doing.
        queue_email(
            session,
            to=previous_email,
            template="application_changed",
            locale=locale,
            idempotency_key=f"application-changed:{application.id}:{application.times_submitted}",
            tenant_id=tenant.id,
            name=application.first_name,
            municipality=tenant.name,
        )
    await record(
        session,
        actor,
        "applications.application.submitted",
        application,
        data={
            "source": source,
            "again": again,
            "email_changed": bool(previous_email and previous_email != application.email),
            "elections": [choice.election_id for choice in clean.choices],
            "privacy_version": privacy.number,
        },
    )
    return Submitted(application, token)


async def _replace_choices(
    session: AsyncSession,
    application: Application,
    choices: Sequence[Choice],
    offered: Sequence[OpenElection],
) -> None:
    """The new answers replace the old ones for every election the form offered; what
    was chosen for elections no longer open stays as it was."""
    open_ids = {option.id for option in offered}
    district_election = {d.id: option.id for option in offered for d in option.districts}
    application.choices = [c for c in application.choices if c.election_id not in open_ids]
    application.days = [d for d in application.days if d.election_id not in open_ids]
    application.districts = [
        d for d in application.districts if d.district_id not in district_election
    ]
    # The old rows go first: a flush inserts before it deletes, and the same day chosen
    # again would otherwise meet its old row in the unique index.
    await session.flush()
    for choice in choices:
        application.choices.append(
            ApplicationElection(election_id=choice.election_id, work_kinds=choice.work_kinds)
        )
        application.days.extend(
            ApplicationDay(election_id=choice.election_id, day=day) for day in choice.days
        )
        application.districts.extend(
            ApplicationDistrict(district_id=district_id) for district_id in choice.district_ids
        )
    await session.flush()


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationFilters:
    query: str = ""
    status: str | None = None
    election_id: int | None = None
    day: dt.date | None = None
    work_kind: str | None = None
    language: str | None = None
    district_id: int | None = None
    experience: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> ApplicationFilters:
        """Filters from a query string; anything malformed is ignored, never an error."""
        try:
            day = dt.date.fromisoformat(str(args.get("day") or ""))
        except ValueError:
            day = None
        status = args.get("status")
        kind = args.get("work_kind")
        experience = args.get("experience")
        language = str(args.get("language") or "").strip()[:8]
        return cls(
            query=str(args.get("q") or "")[:100],
            status=status if status in APPLICATION_STATUSES else None,
            election_id=parse_id(args.get("election")),
            day=day,
            work_kind=kind if kind in WORK_KINDS else None,
            language=language or None,
            district_id=parse_id(args.get("district")),
            experience=experience if experience in EXPERIENCE_LEVELS else None,
        )


def _filtered(statement: Any, filters: ApplicationFilters) -> Any:
    if filters.status:
        statement = statement.where(Application.status == filters.status)
    if filters.election_id or filters.work_kind:
        condition = ApplicationElection.application_id == Application.id
        if filters.election_id:
            condition &= ApplicationElection.election_id == filters.election_id
        if filters.work_kind:
            # work_kinds is a JSON list; its text form holds each kind in quotes.
            condition &= cast(ApplicationElection.work_kinds, Text).contains(
                f'"{filters.work_kind}"'
            )
        statement = statement.where(exists().where(condition))
    if filters.day:
        condition = (ApplicationDay.application_id == Application.id) & (
            ApplicationDay.day == filters.day
        )
        if filters.election_id:
            condition &= ApplicationDay.election_id == filters.election_id
        statement = statement.where(exists().where(condition))
    if filters.district_id:
        statement = statement.where(
            exists().where(
                (ApplicationDistrict.application_id == Application.id)
                & (ApplicationDistrict.district_id == filters.district_id)
            )
        )
    if filters.language:
        statement = statement.where(
            or_(
                Application.preferred_language == filters.language,
                cast(Application.spoken_languages, Text).contains(
                    f'"{filters.language}"', autoescape=True
                ),
            )
        )
    if filters.experience:
        statement = statement.where(Application.experience == filters.experience)
    query = " ".join(filters.query.lower().split())
    if query:
        statement = statement.where(
            or_(
                func.lower(Application.first_name).startswith(query, autoescape=True),
                func.lower(Application.last_name).startswith(query, autoescape=True),
                (func.lower(Application.first_name + " " + Application.last_name)).startswith(
                    query, autoescape=True
                ),
                Application.email == query,
            )
        )
    return statement


@dataclass(frozen=True)
class ApplicationPage:
    applications: list[Application]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


async def search_applications(
    session: AsyncSession, filters: ApplicationFilters, page: int = 1, per_page: int = 50
) -> ApplicationPage:
    """One page of the inbox, newest first."""
    page = max(1, min(page, 100_000))
    total = await session.scalar(_filtered(select(func.count(Application.id)), filters)) or 0
    rows = await session.scalars(
        _filtered(select(Application), filters)
        .options(
            selectinload(Application.choices),
            selectinload(Application.days),
            selectinload(Application.districts),
        )
        .order_by(Application.submitted_at.desc(), Application.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return ApplicationPage(list(rows), page, per_page, total)


async def count_new(session: AsyncSession) -> int:
    return (
        await session.scalar(select(func.count(Application.id)).where(Application.status == "new"))
        or 0
    )


async def get_application(session: AsyncSession, application_id: int) -> Application:
    application = await session.scalar(
        select(Application)
        .where(Application.id == application_id)
        .options(
            selectinload(Application.choices),
            selectinload(Application.days),
            selectinload(Application.districts),
        )
    )
    if application is None:
        raise NotFound(_("Not found."))
    return application


async def names_for(
    session: AsyncSession, applications: Sequence[Application]
) -> tuple[dict[int, Election], dict[int, District]]:
    """The elections and districts the applications name, by id."""
    election_ids = {c.election_id for a in applications for c in a.choices}
    district_ids = {
        d.district_id for a in applications if "districts" in a.__dict__ for d in a.districts
    }
    elections = await elections_by_id(session, election_ids)
    rows = await session.scalars(select(District).where(District.id.in_(district_ids)))
    return elections, {district.id: district for district in rows}


async def application_for_token(session: AsyncSession, token: str) -> Application | None:
    """The application a confirmation email's link points at, or None."""
    if not token or len(token) > 100:
        return None
    application = await session.scalar(
        select(Application)
        .where(Application.access_token_hash == hash_token(token))
        .options(
            selectinload(Application.choices),
            selectinload(Application.days),
            selectinload(Application.districts),
        )
    )
    return application


async def application_data(session: AsyncSession, application: Application) -> dict[str, Any]:
    """Everything stored about an applicant, for them to read or download (GDPR)."""
    elections, districts = await names_for(session, [application])
    return {
        "first_name": application.first_name,
        "last_name": application.last_name,
        "national_id": mask_national_id(application.national_id_country, application.national_id),
        "email": application.email,
        "mobile": application.mobile,
        "street_address": application.street_address,
        "postal_code": application.postal_code,
        "city": application.city,
        "preferred_language": application.preferred_language,
        "spoken_languages": list(application.spoken_languages),
        "experience": application.experience,
        "experience_notes": application.experience_notes,
        "preferred_areas": application.preferred_areas,
        "message": application.message,
        "status": application.status,
        "submitted_at": application.submitted_at.isoformat(),
        "consented_at": application.consented_at.isoformat(),
        "privacy_notice_version": application.privacy_version_number,
        "elections": [
            {
                "election": elections[choice.election_id].name
                if choice.election_id in elections
                else None,
                "work_kinds": list(choice.work_kinds),
                "days": [
                    day.day.isoformat()
                    for day in application.days
                    if day.election_id == choice.election_id
                ],
                "districts": [
                    districts[d.district_id].name
                    for d in application.districts
                    if d.district_id in districts
                    and districts[d.district_id].election_id == choice.election_id
                ],
            }
            for choice in application.choices
        ],
    }


async def withdraw_application(session: AsyncSession, token: str) -> bool:
    """The applicant erases their application from the link in their email.

    A person already approved stays in the register (they have an appointment to
    handle); only the application is erased.
    """
    application = await application_for_token(session, token)
    if application is None:
        return False
    await record(
        session,
        Actor.system("applicant"),
        "applications.application.withdrawn",
        application,
        data={"status": application.status},
    )
    await session.delete(application)
    await session.commit()
    return True
