"""Applications to work in an election, from the public site or the API: storing one,
and the office's inbox of them.

An applicant fills in one form for one or more elections. Applying again with the
same id number (or the same email and name) updates the earlier application, and the
answer is the same either way, so the form never tells whether someone applied before.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Text, cast, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core import ratelimit
from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import Tenant, utcnow
from app.core.paging import Page, fetch_shown_page
from app.core.security import hash_token
from app.core.validation import FieldErrors, parse_id
from app.domain.messaging.queue import queue_with_fields
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
from app.domain.recruitment.application_form import (
    Choice,
    CleanApplication,
    OpenElection,
    clean_application,
    open_elections,
)
from app.domain.site.webparts import privacy_notice_for_consent, site_settings

#: Accepted applications per address and hour. Only stored applications count, so
#: someone correcting mistakes is never locked out; a library computer can serve several.
APPLY_LIMIT = ratelimit.Limit("public.apply", 10, timedelta(hours=1))
#: How long the link to the applicant's own data works; a fresh one is mailed on request.
DATA_LINK_VALID = timedelta(days=30)


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


def new_data_link(application: Application, tenant: Tenant, base_url: str) -> tuple[str, str]:
    """Give the application a fresh "see my data" link, valid ``DATA_LINK_VALID``; an
    earlier one stops working. Returns (token, link)."""
    token = secrets.token_urlsafe(32)
    application.access_token_hash = hash_token(token)
    application.access_token_expires_at = utcnow() + DATA_LINK_VALID
    return token, f"{base_url}/{tenant.slug}/apply/mine?token={token}"


def _limit_key(tenant: Tenant, ip_address: str) -> str:
    """The limit is each municipality's own: a busy library network applying to one
    municipality never stops anyone there from applying to another."""
    return f"{tenant.id}:{ratelimit.address_key(ip_address)}"


async def _lock_applications(session: AsyncSession, tenant: Tenant) -> None:
    """Take the municipality's application lock until the transaction ends, so the
    count of an address's applications and the new one are one step: two sent at the
    same moment cannot both pass the limit. It is a write to the tenant's row: a row
    lock on PostgreSQL, the start of the write transaction on SQLite."""
    await session.execute(
        update(Tenant)
        .where(Tenant.id == tenant.id)
        .values(slug=Tenant.slug)
        .execution_options(synchronize_session=False)
    )


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
    declaration_required: bool = False,
) -> Submitted:
    """Store an application (new, or an update of the applicant's earlier one), record
    the consent with the privacy notice version shown, and email a confirmation with a
    link to the stored data. Refuses bad input and too many applications from one
    address with nothing stored; with ``declaration_required``, an applicant who does
    not declare that they are no candidate (``clean_application``)."""
    if not (await site_settings(session)).applications_open:
        raise FieldErrors({"elections": _("Applications are closed right now.")})
    offered = await open_elections(session, today)
    default_country = {"da": "DK"}.get(tenant.locale, "SE")
    clean = clean_application(
        data, offered, default_country, declaration_required=declaration_required
    )
    actor = Actor.system("applicant" if source == "web" else "api")
    limit_key = _limit_key(tenant, ip_address) if ip_address is not None else None
    if limit_key is not None:
        await _lock_applications(session, tenant)
        wait = await ratelimit.retry_after(session, APPLY_LIMIT, limit_key)
        if wait is not None:
            # Nothing is written but the lock's no-op update, which ends with the
            # caller's session (a rollback here would expire the caller's tenant).
            raise ratelimit.RateLimited(wait)
    try:
        submitted = await _store(session, tenant, clean, offered, actor, locale, base_url, source)
        if limit_key is not None:
            ratelimit.hit(session, APPLY_LIMIT, limit_key)
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
    token, link = new_data_link(application, tenant, base_url)
    session.add(application)
    await _replace_choices(session, application, clean.choices, offered)
    names = {option.id: option.election.name for option in offered}
    await queue_with_fields(
        session,
        key="application_received",
        channel="email",
        to=application.email,
        locale=locale,
        idempotency_key=f"application-received:{application.id}:{application.times_submitted}",
        sensitive=True,
        application=application,
        extra={
            "application.elections": "\n".join(
                f"- {names[choice.election_id]}" for choice in clean.choices
            ),
            "application.link": link,
            "application.link_days": str(DATA_LINK_VALID.days),
        },
    )
    if previous_email and previous_email != application.email:
        # The earlier address hears about the change, in case it was not its owner's doing.
        await queue_with_fields(
            session,
            key="application_changed",
            channel="email",
            to=previous_email,
            locale=locale,
            idempotency_key=f"application-changed:{application.id}:{application.times_submitted}",
            application=application,
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
class ApplicationPage(Page):
    applications: list[Application]


async def search_applications(
    session: AsyncSession, filters: ApplicationFilters, page: int = 1, per_page: int = 50
) -> ApplicationPage:
    """One page of the inbox, newest first."""
    found, total, page = await fetch_shown_page(
        session,
        _filtered(select(Application), filters)
        .options(
            selectinload(Application.choices),
            selectinload(Application.days),
            selectinload(Application.districts),
        )
        .order_by(Application.submitted_at.desc(), Application.id.desc()),
        page,
        per_page,
    )
    return ApplicationPage(found, page=page, per_page=per_page, total=total)


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


async def elections_by_id(session: AsyncSession, ids: set[int]) -> dict[int, Election]:
    rows = await session.scalars(select(Election).where(Election.id.in_(ids)))
    return {election.id: election for election in rows}


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
