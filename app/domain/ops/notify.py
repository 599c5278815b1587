"""Who gets a web push about what on election day.

Called by the ops services inside their transaction: the pushes are outbox rows, sent
after commit (``app.core.outbox.push``). Each text is written in the receiver's language. The
person who caused the change is never pushed about it. A notification can show on a
locked screen, so it names the station and what happened, never an incident's free
text, nor who of the team did not come (the app shows names once unlocked).

- The user who reported an incident (normally the station's chair) hears when it is
  acknowledged, assigned, resolved or gets a note.
- Every coordinator of the municipality hears of an incident of high severity.
- A station's leads that day (chair and vice chair) hear when someone is sent to their
  station, and when that is in place of a team member who has not come (the one push
  says both: the absence and who fills it); and again when the person sent confirms
  on their phone that they are on the way. The person sent and the one replaced
  hear it themselves, by SMS and push (``reserve_notices``).
- When a station is still not open after its opening time (``opening_watch``), its
  leads hear it, and every coordinator gets one push for all stations found late at
  once, not one per station: at eight o'clock many stations open together, and a
  phone buzzing thirty times is one nobody reads. That push replaces the previous one
  on the screen and lists every station still not open.
- A station's leads of the day hear when what the station reported short is on its way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import _, locale_scope, named
from app.core.models import Membership, PushSubscription, Tenant, User
from app.core.outbox.push import queue_push
from app.core.permissions import ROLES, role_has
from app.core.tenancy import require_tenant_id
from app.domain.models import (
    HOLDING_STATES,
    Assignment,
    Incident,
    Person,
    RoleType,
    Shift,
    Station,
)
from app.domain.ops.day import ops_day
from app.domain.ops.incident_labels import CATEGORY_LABELS, SEVERITY_LABELS

#: The changes of an incident its reporter hears of.
REPORTER_HEARS = frozenset(
    {"incident.acknowledged", "incident.assigned", "incident.resolved", "incident.noted"}
)


def _update_title(change: str) -> str:
    # Literal msgids, so Babel finds them; chosen at push time in the reader's language.
    if change == "incident.acknowledged":
        return _("The election office has seen your incident")
    if change == "incident.assigned":
        return _("Your incident is being handled")
    if change == "incident.resolved":
        return _("Your incident is resolved")
    return _("New note on your incident")


async def incident_updated(
    session: AsyncSession,
    actor: Actor,
    incident: Incident,
    change: str,
    note_id: int | None = None,
) -> None:
    """Tell whoever reported the incident that it moved on (``change`` is the event type,
    ``incident.acknowledged`` ...; a note names its id, as notes leave the version)."""
    if change not in REPORTER_HEARS:
        return
    reporter_id = incident.reported_by_user_id
    if reporter_id is None or reporter_id == actor.user_id:
        return
    tenant, station = await _tenant_and_station(session, incident)
    reporter = await session.get(User, reporter_id)
    if reporter is None or not reporter.is_active:
        return
    with locale_scope(reporter.locale or tenant.locale):
        title = _update_title(change)
        body = _describe(incident, station)
    await queue_push(
        session,
        user_id=reporter_id,
        title=title,
        body=body,
        url=_portal_url(tenant),
        tag=f"incident-{incident.id}",
        idempotency_key=f"push:incident:{incident.id}:{change}:v{incident.version}:n{note_id or 0}",
        tenant_id=tenant.id,
    )


async def incident_reported(session: AsyncSession, actor: Actor, incident: Incident) -> None:
    """Tell every coordinator of the municipality of an incident of high severity."""
    if incident.severity != "high":
        return
    tenant, station = await _tenant_and_station(session, incident)
    for user in await coordinators(session, tenant.id):
        if user.id == actor.user_id:
            continue
        with locale_scope(user.locale or tenant.locale):
            title = _("Incident of high severity at %(station)s", station=station.name)
            body = _describe(incident, station)
        await queue_push(
            session,
            user_id=user.id,
            title=title,
            body=body,
            url=_live_url(tenant, incident.election_id),
            tag=f"incident-{incident.id}",
            idempotency_key=f"push:incident:{incident.id}:reported:u{user.id}",
            tenant_id=tenant.id,
        )


# --- the team of a station ----------------------------------------------------------------


async def reassigned(
    session: AsyncSession,
    actor: Actor,
    assignment: Assignment,
    replaced: Assignment | None = None,
) -> None:
    """Tell the station's leads of the shift's day that ``assignment``'s person was sent
    to them (``replaced``: in place of that team member, who has not come).

    The person sent and the team member who has not come are not told here: they hear
    it themselves from ``reserve_notices``.
    """
    shift, station, role, tenant = await _place(session, assignment)
    sent_user = await _user_of_person(session, assignment.person_id)
    absent_user = await _user_of_person(session, replaced.person_id) if replaced else None

    def words() -> tuple[str, str]:
        if replaced is not None:
            return _("Replacement sent to %(station)s", station=station.name), _(
                "In place of someone who has not come: %(role)s on the shift %(shift)s.",
                role=named(role),
                shift=named(shift),
            )
        return _("Someone has been sent to %(station)s", station=station.name), _(
            "%(role)s on the shift %(shift)s.", role=named(role), shift=named(shift)
        )

    await _tell_leads(
        session,
        tenant,
        station.id,
        shift.day,
        {actor.user_id, absent_user, sent_user},
        words,
        tag=f"reassigned-{assignment.id}",
        key=f"push:reassigned:{assignment.id}",
    )


async def sent_confirmed(
    session: AsyncSession, actor: Actor, assignment: Assignment, day: dt.date
) -> None:
    """Tell the station's leads of ``day`` that the person sent to them confirmed they
    are on their way (the person's name is in the app, not on a locked screen)."""
    shift, station, role, tenant = await _place(session, assignment)

    def words() -> tuple[str, str]:
        return _("The person sent to %(station)s is on the way", station=station.name), _(
            "%(role)s on the shift %(shift)s has confirmed.", role=named(role), shift=named(shift)
        )

    await _tell_leads(
        session,
        tenant,
        station.id,
        day,
        {actor.user_id},
        words,
        tag=f"reassigned-{assignment.id}",
        key=f"push:sent-confirmed:{assignment.id}",
    )


async def shortage_sent(
    session: AsyncSession, actor: Actor, shortage_id: int, station: Station, what: str
) -> None:
    """Tell the station's leads of the day that what they reported short is on its way.
    The push names the article or the text the station itself wrote; nothing personal."""
    tenant = await session.get(Tenant, require_tenant_id())
    assert tenant is not None
    await _tell_leads(
        session,
        tenant,
        station.id,
        await ops_day(session, station_ids=[station.id]),
        {actor.user_id},
        lambda: (_("On its way to %(station)s", station=station.name), what),
        tag=f"shortage-{shortage_id}",
        key=f"push:shortage:{shortage_id}:sent",
    )


async def _place(
    session: AsyncSession, assignment: Assignment
) -> tuple[Shift, Station, RoleType, Tenant]:
    """The shift, station, role and municipality of ``assignment``."""
    shift = await session.scalar(select(Shift).where(Shift.id == assignment.shift_id))
    station = await session.scalar(select(Station).where(Station.id == assignment.station_id))
    role = await session.scalar(select(RoleType).where(RoleType.id == assignment.role_type_id))
    tenant = await session.get(Tenant, require_tenant_id())
    assert shift is not None and station is not None and role is not None and tenant is not None
    return shift, station, role, tenant


async def _tell_leads(
    session: AsyncSession,
    tenant: Tenant,
    station_id: int,
    day: dt.date,
    skipped: set[int | None],
    words: Callable[[], tuple[str, str]],
    *,
    tag: str,
    key: str,
) -> None:
    """Push the station's leads of ``day`` (but the ``skipped`` users) a title and body
    that ``words`` writes in each one's language; ``key`` + the user: the push's
    idempotency key."""
    for user in await station_leads(session, station_id, day):
        if user.id in skipped:
            continue
        with locale_scope(user.locale or tenant.locale):
            title, body = words()
        await queue_push(
            session,
            user_id=user.id,
            title=title,
            body=body,
            url=_portal_url(tenant),
            tag=tag,
            idempotency_key=f"{key}:u{user.id}",
            tenant_id=tenant.id,
        )


@dataclass(frozen=True)
class LateStation:
    """A station still not open after its opening time on ``day`` (a local day)."""

    station_id: int
    election_id: int
    name: str
    day: dt.date
    #: The opening time, local wall clock.
    opens_at: dt.time


async def stations_not_open(
    session: AsyncSession, alerted: Sequence[LateStation], still_late: Sequence[LateStation]
) -> None:
    """Tell of stations found not open after their opening time: each one's leads that
    day about their own station, and every coordinator once about all of them.

    ``alerted``: the stations told of now (each only ever once a day: the caller makes
    sure). ``still_late``: every station not open yet, these included; a coordinator's
    push names them all, as it replaces the previous one on the screen.
    """
    if not alerted:
        return
    tenant = await session.get(Tenant, require_tenant_id())
    assert tenant is not None
    for late in alerted:
        for user in await station_leads(session, late.station_id, late.day):
            with locale_scope(user.locale or tenant.locale):
                title = _("%(station)s is not open", station=late.name)
                body = _(
                    "It should have opened at %(time)s. Mark it open in the app, or report "
                    "an incident.",
                    time=late.opens_at.strftime("%H:%M"),
                )
            await queue_push(
                session,
                user_id=user.id,
                title=title,
                body=body,
                url=_portal_url(tenant),
                tag=f"not-open-{late.station_id}-{late.day.isoformat()}",
                idempotency_key=(
                    f"push:not-open:s{late.station_id}:{late.day.isoformat()}:leads:u{user.id}"
                ),
                tenant_id=tenant.id,
            )
    users = await coordinators(session, tenant.id)
    for election_id in sorted({late.election_id for late in alerted}):
        first = min(late.station_id for late in alerted if late.election_id == election_id)
        day = next(late.day for late in alerted if late.election_id == election_id)
        listed = sorted(
            {late for late in [*still_late, *alerted] if late.election_id == election_id},
            key=lambda late: (late.opens_at, late.name),
        )
        for user in users:
            with locale_scope(user.locale or tenant.locale):
                if len(listed) == 1:
                    title = _("%(station)s is not open", station=listed[0].name)
                    body = _(
                        "It should have opened at %(time)s.",
                        time=listed[0].opens_at.strftime("%H:%M"),
                    )
                else:
                    title = _("%(count)s stations are not open", count=len(listed))
                    body = _(
                        "Not open at their opening time: %(stations)s.",
                        stations=", ".join(late.name for late in listed),
                    )
            await queue_push(
                session,
                user_id=user.id,
                title=title,
                body=body,
                url=_live_url(tenant, election_id) + "?alerts=1",
                tag=f"not-open-e{election_id}-{day.isoformat()}",
                # The batch is named by its first station, which no other batch has:
                # each station is told of once a day.
                idempotency_key=f"push:not-open:s{first}:{day.isoformat()}:coordinators:u{user.id}",
                tenant_id=tenant.id,
            )


# --- who ------------------------------------------------------------------------------------


async def coordinators(session: AsyncSession, tenant_id: int) -> list[User]:
    """The municipality's active users who coordinate election day (``ops.coordinate``)
    and subscribed a browser here: the others would get nothing anyway."""
    coordinating = [role for role in ROLES if role_has(role, "ops.coordinate")]
    users = await session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.tenant_id == tenant_id,
            Membership.role.in_(coordinating),
            User.is_active.is_(True),
            User.id.in_(_subscribed(tenant_id)),
        )
        .order_by(User.id)
    )
    return list(users.unique())


async def station_leads(session: AsyncSession, station_id: int, day: dt.date) -> list[User]:
    """The users who lead the station on ``day``: their person holds a chair's or vice
    chair's place on one of its shifts that day (see ``access.leads_station``); only
    those active, with a subscribed browser in this municipality."""
    users = await session.scalars(
        select(User)
        .join(Person, Person.user_id == User.id)
        .join(Assignment, Assignment.person_id == Person.id)
        .join(Shift, Shift.id == Assignment.shift_id)
        .join(RoleType, RoleType.id == Assignment.role_type_id)
        .where(
            Assignment.station_id == station_id,
            Assignment.state.in_(HOLDING_STATES),
            RoleType.leads_station.is_(True),
            Shift.day == day,
            User.is_active.is_(True),
            User.id.in_(_subscribed(require_tenant_id())),
        )
        .order_by(User.id)
    )
    return list(users.unique())


def _subscribed(tenant_id: int) -> Select[int]:
    return select(PushSubscription.user_id).where(PushSubscription.tenant_id == tenant_id)


async def _user_of_person(session: AsyncSession, person_id: int) -> int | None:
    return await session.scalar(select(Person.user_id).where(Person.id == person_id))


# --- texts and links --------------------------------------------------------------------------


def _describe(incident: Incident, station: Station) -> str:
    return _(
        "%(station)s: %(category)s, severity %(severity)s",
        station=station.name,
        category=str(CATEGORY_LABELS[incident.category]),
        severity=str(SEVERITY_LABELS[incident.severity]).lower(),
    )


def _portal_url(tenant: Tenant) -> str:
    return f"/{tenant.slug}/portal/election-day"


def _live_url(tenant: Tenant, election_id: int) -> str:
    return f"/{tenant.slug}/planning/elections/{election_id}/live"


async def _tenant_and_station(session: AsyncSession, incident: Incident) -> tuple[Tenant, Station]:
    tenant = await session.get(Tenant, incident.tenant_id)
    station = await session.scalar(select(Station).where(Station.id == incident.station_id))
    assert tenant is not None and station is not None
    return tenant, station
