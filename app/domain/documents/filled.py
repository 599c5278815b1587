"""The documents' texts filled in: the offer page's introduction for its person, the
staff list's header for its election, and any document for a real person chosen in
the editor, as its preview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.i18n import get_locale, locale_scope
from app.core.models import Tenant
from app.core.tenancy import require_tenant_id
from app.domain.documents.texts import (
    current_text,
    document_kind,
    example_fields,
    render_in_use,
    render_text,
)
from app.domain.messaging.fields import day_text, merge_fields, nest
from app.domain.messaging.render import check_source
from app.domain.models import HOLDING_STATES, Assignment, Election, Person, Shift
from app.domain.registers.people import search_condition
from app.domain.site.webparts import site_settings
from app.domain.staffing.letters import appointments, letter_fields, letter_frame


async def _office(session: AsyncSession) -> dict[str, str]:
    tenant = await session.get(Tenant, require_tenant_id())
    settings = await site_settings(session)
    assert tenant is not None
    return {
        "municipality.name": tenant.name,
        "contact.email": settings.office_email or "",
        "contact.phone": settings.office_phone or "",
    }


async def _header_fields(session: AsyncSession, election: Election) -> dict[str, Any]:
    flat = await _office(session)
    flat["election.name"] = election.name
    flat["election.day"] = day_text(election.election_day)
    return nest(flat)


async def staff_list_header(session: AsyncSession, election: Election) -> str:
    """The staff list's header for ``election`` in the reader's language."""
    source = await current_text(session, "staff_list_header", get_locale())
    fields = await _header_fields(session, election)
    return render_in_use("staff_list_header", get_locale(), source, fields)


async def offer_intro(session: AsyncSession, assignment: Assignment) -> str:
    """The offer page's introduction for the person of ``assignment``, in the page's
    language."""
    locale = get_locale()
    fields = await merge_fields(
        session, person=assignment.person, assignment=assignment, locale=locale
    )
    fields.setdefault("offer", {}).setdefault("link", "")
    fields["offer"].setdefault("deadline", "")
    return render_in_use(
        "offer_intro", locale, await current_text(session, "offer_intro", locale), fields
    )


@dataclass(frozen=True)
class Preview:
    """A text filled in for ``person`` (None: with the example values)."""

    text: str
    person: Person | None
    #: Whether the person's own places filled the fields (else the examples did).
    own_places: bool


async def find_person(session: AsyncSession, query: str) -> Person | None:
    """The first person (by name) the editor's search finds, erased people left out."""
    if not query.strip():
        return None
    return await session.scalar(
        select(Person)
        .where(search_condition(query), Person.erased_at.is_(None))
        .order_by(Person.last_name, Person.first_name, Person.id)
        .limit(1)
    )


async def _person_fields(
    session: AsyncSession, key: str, locale: str, person: Person
) -> tuple[dict[str, Any], bool]:
    """The fields of ``key`` for ``person``: from their newest place when they have one
    (accepted, for a letter), else the examples with their name."""
    states = ("accepted",) if key == "appointment_letter" else HOLDING_STATES
    assignment = await session.scalar(
        select(Assignment)
        .join(Election, Election.id == Assignment.election_id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .where(Assignment.person_id == person.id, Assignment.state.in_(states))
        .order_by(Election.election_day.desc(), Shift.day, Shift.starts_at)
        .limit(1)
    )
    fields = example_fields(key)
    fields["person"] = {
        **fields["person"],
        "first_name": person.first_name,
        "name": person.full_name,
    }
    if assignment is None:
        return fields, False
    if key == "appointment_letter":
        election, found = await appointments(session, assignment.election_id, person_id=person.id)
        frame = await letter_frame(session)
        with locale_scope(locale):
            return letter_fields(frame, election, found[0]), True
    own = await merge_fields(session, person=person, assignment=assignment, locale=locale)
    for group, values in own.items():
        fields[group] = {**fields.get(group, {}), **values} if isinstance(values, dict) else values
    return fields, True


async def preview(session: AsyncSession, key: str, locale: str, source: str, query: str) -> Preview:
    """``source`` (the editor's text, not yet saved) filled in for the first person
    ``query`` finds, in ``locale``; refused with the line and field like a save."""
    kind = document_kind(key, locale)
    check_source(source, kind.field_names, "body")
    if key == "staff_list_header":
        # Written to no one: filled in for the newest election.
        election = await session.scalar(
            select(Election).order_by(Election.election_day.desc()).limit(1)
        )
        with locale_scope(locale):
            fields = await _header_fields(session, election) if election else example_fields(key)
        return Preview(render_text(source, fields), None, election is not None)
    person = await find_person(session, query)
    if person is None:
        return Preview(render_text(source, example_fields(key)), None, False)
    fields, own = await _person_fields(session, key, locale, person)
    # Only the document's own fields: a text may not lean on one it does not offer.
    return Preview(render_text(source, fields), person, own)
