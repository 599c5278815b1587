"""A clerk's own data, everything stored about them, for them to download (GDPR,
article 15): gathered here as JSON, and written as a PDF by ``personal_data_pdf``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.audit import Actor, record
from app.core.crypto import FieldCipher
from app.core.i18n import named
from app.core.models import Tenant, User
from app.core.models.base import utcnow
from app.domain.clerks.profile import StoredBankAccount, stored_bank_account
from app.domain.models import (
    Application,
    Assignment,
    District,
    Election,
    Person,
    Reserve,
)
from app.domain.recruitment.own_application import application_data
from app.domain.registers.availability import for_person
from app.domain.registers.identity import mask_national_id
from app.domain.staffing.queries import assignments_of_person


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    """A date, or a time to the second, as ISO text."""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat() if value is not None else None


def _person_section(person: Person, bank: StoredBankAccount) -> dict[str, Any]:
    """The person's record in the register, id number and bank account masked."""
    return {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "national_id": mask_national_id(person.national_id_country, person.national_id),
        "birth_date": _iso(person.birth_date),
        "email": person.email,
        "mobile": person.mobile,
        "street_address": person.street_address,
        "postal_code": person.postal_code,
        "city": person.city,
        "preferred_language": person.preferred_language,
        "spoken_languages": list(person.spoken_languages),
        "experience": person.experience,
        "status": person.status,
        "tags": list(person.tags),
        "notes": person.notes,
        "bank_account": bank.masked or None,
        "calendar_feed": person.calendar_token_hash is not None,
        "removal_requested_at": _iso(person.removal_requested_at),
        "registered_at": _iso(person.created_at),
        "updated_at": _iso(person.updated_at),
    }


def _account_section(user: User) -> dict[str, Any]:
    """The sign-in account that belongs to the person."""
    return {
        "email": user.email,
        "name": user.name,
        "language": user.locale,
        "created_at": _iso(user.created_at),
        "last_login_at": _iso(user.last_login_at),
    }


async def my_data(
    session: AsyncSession, cipher: FieldCipher, tenant: Tenant, person: Person, user: User | None
) -> dict[str, Any]:
    """Everything stored about the person, for them to download (GDPR, article 15).

    The id number and the bank account are masked: the file ends up in a downloads
    folder, and the person knows both. Proposals the office has not sent yet are left
    out (they are drafts, not decisions about the person).
    """
    bank = stored_bank_account(cipher, person)
    availability = await for_person(session, person.id)
    assignments = await session.execute(
        assignments_of_person(person.id).where(
            Assignment.state != "proposed",
            or_(Assignment.state != "withdrawn", Assignment.offered_at.is_not(None)),
        )
    )
    reserves = await session.execute(
        select(Reserve, Election, District)
        .join(Election, Election.id == Reserve.election_id)
        .outerjoin(District, District.id == Reserve.district_id)
        .where(Reserve.person_id == person.id)
        .order_by(Election.election_day)
    )
    applications = await session.scalars(
        select(Application)
        .where(Application.person_id == person.id)
        .options(
            selectinload(Application.choices),
            selectinload(Application.days),
            selectinload(Application.districts),
        )
        .order_by(Application.submitted_at)
    )
    return {
        "exported_at": utcnow().isoformat(timespec="seconds"),
        "municipality": tenant.name,
        "person": _person_section(person, bank),
        "account": _account_section(user) if user is not None else None,
        "availability": [
            {
                "election": entry.election.name,
                "days": [
                    {"day": day.isoformat(), "work_kinds": list(kinds)}
                    for day, kinds in sorted(entry.days.items())
                ],
                "district_wishes": [f"{d.code} {d.name}" for d in entry.districts],
            }
            for entry in availability
        ],
        "assignments": [
            {
                "election": election.name,
                "station": station.name,
                "role": named(role),
                "day": shift.day.isoformat(),
                "starts_at": shift.starts_at.strftime("%H:%M"),
                "ends_at": shift.ends_at.strftime("%H:%M"),
                "state": assignment.state,
                "offered_at": _iso(assignment.offered_at),
                "responded_at": _iso(assignment.responded_at),
                "decline_reason": assignment.decline_reason,
            }
            for assignment, election, station, shift, role in assignments
        ],
        "reserves": [
            {
                "election": election.name,
                "district": f"{district.code} {district.name}" if district else None,
                "note": reserve.note,
            }
            for reserve, election, district in reserves
        ],
        "applications": [
            await application_data(session, application) for application in applications
        ],
    }


def export_name(today: dt.date | None = None) -> str:
    """The name of a download of one's own data, without its extension."""
    return f"my-data-{(today or dt.date.today()).isoformat()}"


async def record_export(session: AsyncSession, actor: Actor, person: Person, kind: str) -> None:
    """Downloads of one's own data are in the audit log, as every export of personal data."""
    await record(session, actor, "portal.data.exported", person, data={"format": kind})
    await session.commit()
