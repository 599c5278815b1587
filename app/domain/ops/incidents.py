"""Incidents on election day: reported from a station, handled by coordinators, logged
with every note so the municipality can report them to the election authority.

An incident goes open -> acknowledged -> assigned (to a coordinator) -> resolved.
Each change names the ``version`` the user saw; when a second coordinator acted first
the change is refused as "changed meanwhile" instead of silently overwriting theirs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.users import membership_in
from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import User, utcnow
from app.core.permissions import role_has
from app.core.tenancy import require_tenant_id
from app.core.validation import Cleaner, FieldErrors
from app.domain.models import (
    INCIDENT_CATEGORIES,
    INCIDENT_SEVERITIES,
    Incident,
    IncidentNote,
)
from app.domain.ops import OpsConflict, OpsError, OpsForbidden, notify
from app.domain.ops.access import (
    get_station,
    is_coordinator,
    leads_station,
    on_station_team,
    refuse,
)
from app.domain.ops.incident_labels import STATE_LABELS
from app.domain.ops.news import announce

MAX_TEXT_LENGTH = 4000


async def report_incident(
    session: AsyncSession,
    actor: Actor,
    station_id: int,
    *,
    category: str,
    severity: str,
    text: str,
    now: dt.datetime | None = None,
) -> Incident:
    """Log an incident at a station, reported by one of its team or a coordinator."""
    station = await get_station(session, station_id)
    if not (
        await is_coordinator(session, actor) or await on_station_team(session, actor, station.id)
    ):
        await refuse(session, actor, station.id)
    cleaner = Cleaner({"category": category, "severity": severity, "text": text})
    category = cleaner.choice("category", INCIDENT_CATEGORIES)
    severity = cleaner.choice("severity", INCIDENT_SEVERITIES)
    text = cleaner.text("text", MAX_TEXT_LENGTH, required=True)
    cleaner.done()
    now = now or utcnow()
    incident = Incident(
        election_id=station.election_id,
        station_id=station.id,
        category=category,
        severity=severity,
        text=text,
        state="open",
        version=1,
        reported_by_user_id=actor.user_id,
        reported_by_label=actor.label,
        created_at=now,
        updated_at=now,
    )
    session.add(incident)
    await session.flush()
    await record(
        session,
        actor,
        "ops.incident.reported",
        incident,
        data={"station": station.id, "category": category, "severity": severity},
    )
    await _announce(session, incident, "incident.reported")
    await notify.incident_reported(session, actor, incident)
    await session.commit()
    return incident


async def get_incident(session: AsyncSession, incident_id: int) -> Incident:
    incident = await session.scalar(
        select(Incident).where(Incident.id == incident_id).execution_options(populate_existing=True)
    )
    if incident is None:
        raise NotFound(_("Not found."))
    return incident


async def acknowledge(
    session: AsyncSession, actor: Actor, incident_id: int, *, expected_version: int
) -> Incident:
    """A coordinator has seen the incident: open -> acknowledged."""
    incident = await _incident_to_handle(session, actor, incident_id, expected_version)
    if incident.state != "open":
        raise OpsError(_("Only an open incident can be acknowledged."), "state")
    await _change(
        session, incident, expected_version, state="acknowledged", acknowledged_at=utcnow()
    )
    await record(session, actor, "ops.incident.acknowledged", incident)
    await _announce(session, incident, "incident.acknowledged")
    await notify.incident_updated(session, actor, incident, "incident.acknowledged")
    await session.commit()
    return incident


async def assign(
    session: AsyncSession,
    actor: Actor,
    incident_id: int,
    *,
    user_id: int,
    expected_version: int,
) -> Incident:
    """Give the incident to a coordinator of this municipality to handle (again, when it
    moves to another one)."""
    incident = await _incident_to_handle(session, actor, incident_id, expected_version)
    if incident.state == "resolved":
        raise OpsError(_("The incident is already resolved."), "state")
    membership = await membership_in(session, user_id, require_tenant_id())
    user = await session.get(User, user_id) if membership else None
    if user is None or membership is None or not role_has(membership.role, "ops.coordinate"):
        raise FieldErrors({"user_id": _("Choose a coordinator of this municipality.")})
    previous = incident.assigned_to_user_id
    await _change(
        session,
        incident,
        expected_version,
        state="assigned",
        assigned_to_user_id=user.id,
        assigned_at=utcnow(),
    )
    await record(
        session,
        actor,
        "ops.incident.assigned",
        incident,
        data={"to": user.id, "previous": previous},
    )
    await _announce(session, incident, "incident.assigned", assigned_to_user_id=user.id)
    await notify.incident_updated(session, actor, incident, "incident.assigned")
    await session.commit()
    return incident


async def resolve(
    session: AsyncSession,
    actor: Actor,
    incident_id: int,
    *,
    expected_version: int,
    note: str = "",
) -> Incident:
    """Close the incident, with a last note on how it was handled when given."""
    incident = await _incident_to_handle(session, actor, incident_id, expected_version)
    if incident.state == "resolved":
        raise OpsError(_("The incident is already resolved."), "state")
    text = Cleaner({"note": note}).text("note", MAX_TEXT_LENGTH)
    await _change(session, incident, expected_version, state="resolved", resolved_at=utcnow())
    if text:
        session.add(_note(incident, actor, text))
    await record(session, actor, "ops.incident.resolved", incident)
    await _announce(session, incident, "incident.resolved")
    await notify.incident_updated(session, actor, incident, "incident.resolved")
    await session.commit()
    return incident


async def add_note(
    session: AsyncSession, actor: Actor, incident_id: int, text: str
) -> IncidentNote:
    """Write down how the incident is being handled (coordinators and the station's lead).

    Notes only add to the log, so two people writing at once never conflict.
    """
    incident = await get_incident(session, incident_id)
    if not (
        await is_coordinator(session, actor)
        or await leads_station(session, actor, incident.station_id)
    ):
        await refuse(session, actor, incident.station_id)
    cleaner = Cleaner({"text": text})
    text = cleaner.text("text", MAX_TEXT_LENGTH, required=True)
    cleaner.done()
    note = _note(incident, actor, text)
    session.add(note)
    await session.flush()
    await record(session, actor, "ops.incident.noted", incident, data={"note": note.id})
    await _announce(session, incident, "incident.noted", note_id=note.id)
    await notify.incident_updated(session, actor, incident, "incident.noted", note_id=note.id)
    await session.commit()
    return note


async def incident_notes(session: AsyncSession, incident_id: int) -> list[IncidentNote]:
    rows = await session.scalars(
        select(IncidentNote)
        .where(IncidentNote.incident_id == incident_id)
        .order_by(IncidentNote.id)
    )
    return list(rows)


def _note(incident: Incident, actor: Actor, text: str) -> IncidentNote:
    return IncidentNote(
        incident_id=incident.id,
        text=text,
        author_user_id=actor.user_id,
        author_label=actor.label,
        created_at=utcnow(),
    )


async def _incident_to_handle(
    session: AsyncSession, actor: Actor, incident_id: int, expected_version: int
) -> Incident:
    """The incident, for a coordinator whose screen showed ``expected_version``."""
    incident = await get_incident(session, incident_id)
    if not await is_coordinator(session, actor):
        if await on_station_team(session, actor, incident.station_id):
            raise OpsForbidden(_("Only a coordinator can handle an incident."))
        await refuse(session, actor, incident.station_id)
    if incident.version != expected_version:
        raise _changed_meanwhile(incident)
    return incident


async def _change(
    session: AsyncSession, incident: Incident, expected_version: int, **values: Any
) -> None:
    """Write ``values`` only if nobody changed the incident since ``expected_version``:
    one conditional UPDATE, so of two coordinators acting at once exactly one wins."""
    result = await session.execute(
        update(Incident)
        .where(Incident.id == incident.id, Incident.version == expected_version)
        .values(version=expected_version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise _changed_meanwhile(await get_incident(session, incident.id))
    await session.refresh(incident)


def _changed_meanwhile(incident: Incident) -> OpsConflict:
    return OpsConflict(
        _(
            "The incident changed meanwhile (it is now %(state)s). Look again and decide.",
            state=STATE_LABELS[incident.state],
        ),
        "state",
    )


async def _announce(session: AsyncSession, incident: Incident, type: str, **extra: Any) -> None:
    await announce(
        session,
        incident.election_id,
        incident.station_id,
        type,
        {
            "incident_id": incident.id,
            "station_id": incident.station_id,
            "category": incident.category,
            "severity": incident.severity,
            "state": incident.state,
            "version": incident.version,
            **extra,
        },
    )
