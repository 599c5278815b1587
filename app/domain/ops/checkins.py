"""Clerks checking in and out of their shift on election day.

Phones on a bad connection send again when an answer is lost, so every check-in
carries an idempotency key: the same key with the same body gives back the first
check-in (``replayed``), the same key with another body is refused. The key is unique
per municipality in the database, so three copies sent at once still make one row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.accounts.users import membership_in
from app.core.across_tenants import tenant_id as across_tenant_id
from app.core.audit import Actor, record
from app.core.db import retried_after_failover
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import Tenant, utcnow
from app.core.tenancy import execute_for_tenant, scalar_for_tenant, tenant_statement
from app.core.validation import FieldErrors
from app.domain.clerks.undertaking import unsigned_among
from app.domain.models import (
    CHECK_IN_KINDS,
    CHECK_IN_SOURCES,
    HOLDING_STATES,
    Assignment,
    CheckIn,
    Person,
    Shift,
    Station,
)
from app.domain.ops import IdempotencyConflict, OpsError
from app.domain.ops.access import at, is_coordinator, leads_station, local_zone, refuse
from app.domain.ops.news import announce

#: A clerk may check in this long before their shift starts (setting up the room)...
EARLY = dt.timedelta(hours=2)
#: ...and leave this long after it ends, even past midnight (a count that ran late).
LATE = dt.timedelta(hours=2)
MAX_KEY_LENGTH = 100
MAX_OVERRIDE_REASON = 300


def payload_hash(person_id: int, shift_id: int, kind: str, device_time: dt.datetime | None) -> str:
    """SHA-256 of the check-in's canonical JSON: sorted keys, no spaces, the device time
    in UTC, so the same moment written with another offset is the same request."""
    body = {
        "person_id": person_id,
        "shift_id": shift_id,
        "kind": kind,
        "device_time": device_time.astimezone(dt.UTC).isoformat() if device_time else None,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Timed(Protocol):
    """A shift's day and times (a ``Shift``, or what a check-in reads of one)."""

    @property
    def day(self) -> dt.date: ...
    @property
    def starts_at(self) -> dt.time: ...
    @property
    def ends_at(self) -> dt.time: ...


def check_in_window(shift: Timed, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """When check-ins for a shift are taken: from two hours before it starts until the end
    of its (local) day, or two hours after it ends when that is later."""
    opens = at(shift.day, shift.starts_at, zone) - EARLY
    end_of_day = at(shift.day + dt.timedelta(days=1), dt.time.min, zone)
    closes = max(end_of_day, at(shift.day, shift.ends_at, zone) + LATE)
    return opens, closes


#: The check-in's reads of the key, the place and the last check-in, and its lock, made
#: once and run as plain SQL on the session's connection: 50 check-ins a second on an
#: election day, and after a process died on top of thousands of reconnecting sockets.
#: The tenant is named in each, as the ORM's tenant hook would add it.
_STORED = tenant_statement(
    select(CheckIn.id).where(
        CheckIn.tenant_id == bindparam("tenant"), CheckIn.idempotency_key == bindparam("key")
    )
)
_PLACE = tenant_statement(
    select(Assignment.id).where(
        Assignment.tenant_id == bindparam("tenant"),
        Assignment.shift_id == bindparam("shift"),
        Assignment.person_id == bindparam("person"),
        Assignment.state.in_(HOLDING_STATES),
    )
)
_LAST_KIND = tenant_statement(
    select(CheckIn.kind)
    .where(
        CheckIn.tenant_id == bindparam("tenant"),
        CheckIn.shift_id == bindparam("shift"),
        CheckIn.person_id == bindparam("person"),
    )
    .order_by(CheckIn.id.desc())
    .limit(1)
)
_LOCK = tenant_statement(
    update(Assignment)
    .where(Assignment.tenant_id == bindparam("tenant"), Assignment.id == bindparam("assignment"))
    .values(state=Assignment.state, updated_at=Assignment.updated_at)
)


@retried_after_failover
async def check_in(
    session: AsyncSession,
    actor: Actor,
    *,
    person_id: int,
    shift_id: int,
    kind: str,
    idempotency_key: str,
    device_time: dt.datetime | None = None,
    source: str,
    now: dt.datetime | None = None,
    override_reason: str = "",
) -> tuple[CheckIn, bool]:
    """Record that a person arrived at or left their shift; returns (check-in, replayed).

    The person must hold a place on the shift, and it must be the shift's day (from two
    hours before it starts); "left" only after "arrived", and "arrived" not twice in a
    row. A clerk may check in only themselves, a station lead their station's team, a
    coordinator or an API token anyone. When the municipality requires the
    confidentiality undertaking, a person who has not signed it is not checked in,
    unless a coordinator gives an ``override_reason`` (audited). A naive
    ``device_time`` is the municipality's local time. Audited and announced live in
    the same transaction; a refusal writes nothing, and the lock goes when the
    caller's transaction ends.

    The check-in is safe to run again, as its key finds what an earlier attempt
    committed: when the database goes away in the middle (a failover), it is run again
    on the new primary rather than refused.
    """
    key = _checked_request(idempotency_key, kind, source)
    person, shift = await _person_and_shift(session, person_id, shift_id)
    await _ensure_may_check_in(session, actor, person, shift.station_id)
    name = person.full_name

    zone = await local_zone(session)
    if device_time is not None:
        if device_time.tzinfo is None:
            device_time = device_time.replace(tzinfo=zone)
        # Kept in UTC: a replay answers exactly what the first answer said.
        device_time = device_time.astimezone(dt.UTC)
    digest = payload_hash(person.id, shift.id, kind, device_time)

    stored = await _stored(session, key)
    if stored is not None:
        return await _replay(session, stored, digest), True

    place = {"shift": shift.id, "person": person.id}
    assignment_id = await scalar_for_tenant(session, _PLACE, **place)
    if assignment_id is None:
        raise OpsError(_("%(name)s has no place on this shift.", name=name), "person_id")
    # One writer per place from here: the lock makes "arrived twice" and "left before
    # arriving" reliable, and a copy of this request waits here, then replays below.
    await _lock_assignment(session, assignment_id)
    stored = await _stored(session, key)
    if stored is not None:
        return await _replay(session, stored, digest), True

    now = (now or utcnow()).astimezone(dt.UTC)
    _ensure_within_window(shift, zone, now)
    overridden = await _ensure_kind_follows(session, actor, person, shift, kind, override_reason)

    checkin = CheckIn(
        election_id=shift.election_id,
        station_id=shift.station_id,
        shift_id=shift.id,
        person_id=person.id,
        assignment_id=assignment_id,
        kind=kind,
        checked_at=now,
        device_time=device_time,
        source=source,
        idempotency_key=key,
        payload_hash=digest,
        created_by_label=actor.label,
    )
    session.add(checkin)
    try:
        await session.flush()
    except IntegrityError:
        # The same key, sent at the same moment for another place, won the race.
        await session.rollback()
        stored = await _stored(session, key)
        if stored is None:
            raise
        return await _replay(session, stored, digest), True
    await _record_and_announce(session, actor, checkin, shift.election_id)
    if overridden:
        await record(
            session,
            actor,
            "ops.checkin.undertaking_overridden",
            checkin,
            data={"person": person.id, "shift": shift.id, "override_reason": overridden},
        )
    await session.commit()
    return checkin, False


async def _ensure_kind_follows(
    session: AsyncSession,
    actor: Actor,
    person: _Person,
    shift: _Shift,
    kind: str,
    override_reason: str,
) -> str:
    """ "arrived" not twice in a row, "left" only after "arrived", and an arrival only
    with the undertaking signed (or overridden: the reason, to audit)."""
    last = await scalar_for_tenant(session, _LAST_KIND, shift=shift.id, person=person.id)
    if kind == "arrived" and last == "arrived":
        raise OpsError(_("%(name)s has already checked in.", name=person.full_name), "kind")
    if kind == "left" and last != "arrived":
        raise OpsError(_("%(name)s has not checked in yet.", name=person.full_name), "kind")
    if kind == "arrived":
        return await _ensure_undertaking_signed(session, actor, person, override_reason)
    return ""


async def _ensure_undertaking_signed(
    session: AsyncSession, actor: Actor, person: _Person, override_reason: str
) -> str:
    """Refuse the check-in of a person who must sign the undertaking and has not, unless
    a coordinator gives a reason; returns the reason used ("" when none was needed)."""
    if not await unsigned_among(session, [person.id]):
        return ""
    reason = override_reason.strip()
    if not reason:
        raise OpsError(
            _(
                "%(name)s has not signed the confidentiality undertaking. Sign it in the "
                "portal first, or a coordinator checks them in with a reason.",
                name=person.full_name,
            ),
            "override_reason",
        )
    if not await is_coordinator(session, actor):
        raise OpsError(
            _("Only a coordinator may check in someone who has not signed the undertaking."),
            "override_reason",
        )
    if len(reason) > MAX_OVERRIDE_REASON:
        raise OpsError(
            _("At most %(count)s characters.", count=MAX_OVERRIDE_REASON), "override_reason"
        )
    return reason


def _checked_request(idempotency_key: str, kind: str, source: str) -> str:
    """The idempotency key, stripped, once the request's fields are all valid."""
    errors = {}
    key = idempotency_key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        errors["idempotency_key"] = _("Send an idempotency key of 1 to 100 characters.")
    if kind not in CHECK_IN_KINDS:
        errors["kind"] = _("Choose one of the options.")
    if source not in CHECK_IN_SOURCES:
        errors["source"] = _("Choose one of the options.")
    if errors:
        raise FieldErrors(errors)
    return key


@dataclass(frozen=True)
class _Person:
    """What a check-in needs of the person checked in."""

    id: int
    first_name: str
    last_name: str
    user_id: int | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"  # as Person.full_name


@dataclass(frozen=True)
class _Shift:
    """What a check-in needs of its shift and station."""

    id: int
    day: dt.date
    starts_at: dt.time
    ends_at: dt.time
    station_id: int
    election_id: int


_PERSON_AND_SHIFT = tenant_statement(
    select(
        Person.id,
        Person.first_name,
        Person.last_name,
        Person.user_id,
        Shift.id.label("shift_id"),
        Shift.day,
        Shift.starts_at,
        Shift.ends_at,
        Station.id.label("station_id"),
        Station.election_id,
    )
    .select_from(Shift)
    .join(Station, Station.id == Shift.station_id)
    .join(Person, Person.id == bindparam("person"))
    .where(
        Shift.id == bindparam("shift"),
        Shift.tenant_id == bindparam("tenant"),
        Station.tenant_id == bindparam("tenant"),
        Person.tenant_id == bindparam("tenant"),
    )
)


async def _person_and_shift(
    session: AsyncSession, person_id: int, shift_id: int
) -> tuple[_Person, _Shift]:
    """The person, the shift and its station in one query (plain values: a check-in
    needs no objects of them); NotFound unless both exist."""
    found = (
        await execute_for_tenant(session, _PERSON_AND_SHIFT, person=person_id, shift=shift_id)
    ).first()
    if found is None:
        raise NotFound(_("Not found."))
    person = _Person(found.id, found.first_name, found.last_name, found.user_id)
    shift = _Shift(
        found.shift_id,
        found.day,
        found.starts_at,
        found.ends_at,
        found.station_id,
        found.election_id,
    )
    return person, shift


def _ensure_within_window(shift: Timed, zone: ZoneInfo, now: dt.datetime) -> None:
    opens, closes = check_in_window(shift, zone)
    if now < opens:
        local = opens.astimezone(zone)
        raise OpsError(
            _(
                "Check-in for this shift opens at %(time)s on %(date)s.",
                time=local.strftime("%H:%M"),
                date=local.date().isoformat(),
            )
        )
    if now >= closes:
        raise OpsError(_("This shift is over; check-in is closed."))


async def _record_and_announce(
    session: AsyncSession, actor: Actor, checkin: CheckIn, election_id: int
) -> None:
    """The audit entry and the live event of a new check-in, in its transaction."""
    kind = checkin.kind
    await record(
        session,
        actor,
        f"ops.checkin.{kind}",
        checkin,
        data={"person": checkin.person_id, "shift": checkin.shift_id, "source": checkin.source},
    )
    await announce(
        session,
        election_id,
        checkin.station_id,
        f"checkin.{kind}",
        {
            "check_in_id": checkin.id,
            "person_id": checkin.person_id,
            "shift_id": checkin.shift_id,
            "station_id": checkin.station_id,
            "kind": kind,
            "checked_at": checkin.checked_at.isoformat(),
        },
    )


async def municipality_of_own_person(
    session: AsyncSession, user_id: int, person_id: int
) -> Tenant | None:
    """The municipality in which ``person_id`` is the user's own person and the user is
    still a member, or None: a clerk checking in from their phone names only the
    person, and the person names the municipality."""
    tenant_id = await across_tenant_id(
        session,
        "stemma_own_person_tenant",
        (person_id, user_id),
        select(Person.tenant_id).where(Person.id == person_id, Person.user_id == user_id),
    )
    if tenant_id is None or await membership_in(session, user_id, tenant_id) is None:
        return None
    return await session.get(Tenant, tenant_id)


async def _ensure_may_check_in(
    session: AsyncSession, actor: Actor, person: _Person, station_id: int
) -> None:
    if actor.user_id is not None and person.user_id == actor.user_id:
        return
    if await is_coordinator(session, actor) or await leads_station(session, actor, station_id):
        return
    if actor.user_id is not None and await session.scalar(
        select(Person.id).where(Person.user_id == actor.user_id)
    ):
        # A clerk naming someone else: that person is none of their business.
        raise NotFound(_("Not found."))
    await refuse(session, actor, station_id)


async def _stored(session: AsyncSession, key: str) -> CheckIn | None:
    found = await scalar_for_tenant(session, _STORED, key=key)
    if found is None:
        return None  # nearly always: the ORM only loads a replay's check-in
    return await session.get(CheckIn, found, populate_existing=True)


async def _replay(session: AsyncSession, stored: CheckIn, digest: str) -> CheckIn:
    """The first answer again for a repeated request, or a refusal for a reused key."""
    await session.commit()  # ends the lock's transaction, if one was begun
    if stored.payload_hash != digest:
        raise IdempotencyConflict(
            _("This idempotency key was already used for another check-in."),
            "idempotency_key",
        )
    return stored


async def _lock_assignment(session: AsyncSession, assignment_id: int) -> None:
    # A write that changes nothing (not even updated_at): a row lock on PostgreSQL, the
    # start of the one write transaction on SQLite.
    await execute_for_tenant(session, _LOCK, assignment=assignment_id)


@dataclass(frozen=True)
class Presence:
    """Where a person stands on a shift: their last check-in, if any."""

    person_id: int
    kind: str | None
    arrived_at: dt.datetime | None
    left_at: dt.datetime | None


async def presence_on(
    session: AsyncSession, shift_ids: list[int]
) -> dict[tuple[int, int], Presence]:
    """Each (shift, person)'s last check-in on the shifts: who is there, who left."""
    if not shift_ids:
        return {}
    # Plain rows, not objects: a station's every drawing reads its check-ins.
    rows = await session.execute(
        select(CheckIn.shift_id, CheckIn.person_id, CheckIn.kind, CheckIn.checked_at)
        .where(CheckIn.shift_id.in_(shift_ids))
        .order_by(CheckIn.id)
    )
    found: dict[tuple[int, int], Presence] = {}
    for shift_id, person_id, kind, checked_at in rows:
        before = found.get((shift_id, person_id))
        arrived_at = before.arrived_at if before else None
        left_at = before.left_at if before else None
        if kind == "arrived":
            arrived_at = arrived_at or checked_at
            left_at = None
        else:
            left_at = checked_at
        found[(shift_id, person_id)] = Presence(person_id, kind, arrived_at, left_at)
    return found
