"""Telling the people themselves when a coordinator sends someone on election day: the
one sent (a reserve, or a clerk moved from another station) and the one whose place
they take because they have not come.

Each gets an SMS (messages ``reserve_sent`` and ``reserve_replaced``, which the office
may word itself) and a web push on every browser they subscribed, both outbox rows in
the reassignment's transaction. The station's leads hear of it from ``notify``.
An erased person is told nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import _, locale_scope
from app.core.models import Tenant, User
from app.core.outbox.push import queue_push
from app.core.tenancy import require_tenant_id
from app.domain.messaging.catalog import LOCALES
from app.domain.messaging.fields import merge_fields
from app.domain.messaging.queue import queue_message
from app.domain.messaging.render import render_message
from app.domain.models import Assignment, Person, Station


async def reserve_sent(
    session: AsyncSession, assignment: Assignment, replaced: Assignment | None = None
) -> None:
    """Tell ``assignment``'s person where they are sent, and ``replaced``'s person that
    their place has gone to someone else (in the caller's transaction)."""
    tenant = await session.get(Tenant, require_tenant_id())
    assert tenant is not None
    await _tell(session, tenant, "reserve_sent", assignment)
    if replaced is not None:
        await _tell(session, tenant, "reserve_replaced", replaced)


def _language(wanted: str | None, fallback: str) -> str:
    for language in (wanted, fallback):
        if language in LOCALES:
            return str(language)
    return "sv"


async def _tell(session: AsyncSession, tenant: Tenant, key: str, assignment: Assignment) -> None:
    person = await session.scalar(select(Person).where(Person.id == assignment.person_id))
    if person is None or person.erased_at is not None:
        return
    if person.mobile:
        locale = _language(person.preferred_language, tenant.locale)
        await queue_message(
            session,
            key=key,
            channel="sms",
            to=person.mobile,
            locale=locale,
            fields=await merge_fields(session, person=person, assignment=assignment, locale=locale),
            idempotency_key=f"{key}:{assignment.id}",
        )
    user = await session.get(User, person.user_id) if person.user_id else None
    if user is None or not user.is_active:
        return
    # The push is read on the user's phone, in the user's language.
    locale = _language(user.locale or person.preferred_language, tenant.locale)
    fields = await merge_fields(session, person=person, assignment=assignment, locale=locale)
    station = await session.scalar(select(Station).where(Station.id == assignment.station_id))
    assert station is not None
    with locale_scope(locale):
        if key == "reserve_sent":
            title = _("You have been sent to %(station)s", station=station.name)
        else:
            title = _("Your place at %(station)s has gone to someone else", station=station.name)
        body = (await render_message(session, key, "sms", locale, fields)).text
    await queue_push(
        session,
        user_id=user.id,
        title=title,
        body=body,
        url=f"/{tenant.slug}/portal/election-day",
        tag=f"{key}-{assignment.id}",
        idempotency_key=f"push:{key}:{assignment.id}",
        tenant_id=tenant.id,
    )
