"""The dispatch's use cases: write it, send it now or at a time, cancel it, send it
again to the failed. Each is idempotent: the same form sent twice makes one dispatch,
a second "send" finds it sent, and a worker that died while queueing is resumed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor, record
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.models import OutboxMessage, utcnow
from app.domain.dispatches import DispatchError
from app.domain.dispatches.filters import Candidate, RecipientFilter, check_objects, resolve
from app.domain.dispatches.freezing import can_freeze_in_database, freeze_in_database
from app.domain.dispatches.queueing import claim, queue_waiting, write_frozen_list
from app.domain.dispatches.texts import check_message_key, clean_texts
from app.domain.messaging.catalog import LOCALES
from app.domain.models import DISPATCH_CHANNELS, Dispatch, DispatchRecipient, Person

#: A scheduled dispatch is at least this far ahead (the worker looks every minute).
EARLIEST_SCHEDULE = dt.timedelta(minutes=2)
#: And at most this far.
LATEST_SCHEDULE = dt.timedelta(days=366)
#: The outbox says a message failed: it was given up, or refused or not delivered.
FAILED = or_(
    OutboxMessage.status == "failed",
    OutboxMessage.delivery_state.in_(("failed", "refused")),
)


@dataclass(frozen=True)
class DispatchDraft:
    """What the office asked for, read from a form or a JSON body."""

    title: str
    filters: RecipientFilter
    channels: tuple[str, ...]
    message_key: str | None
    texts: Mapping[str, Mapping[str, Any]]
    request_key: str

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DispatchDraft:
        channels = data.get("channels") or ()
        channels = [channels] if isinstance(channels, str) else list(channels)
        if not channels or any(c not in DISPATCH_CHANNELS for c in channels):
            raise DispatchError(_("Choose e-mail, SMS or both."), "channels")
        texts = data.get("texts")
        if texts is None:
            texts = {
                locale: {
                    name: data.get(f"{name}_{locale}", "") for name in ("subject", "email", "sms")
                }
                for locale in LOCALES
            }
        request_key = str(data.get("request_key") or "").strip()
        if not 16 <= len(request_key) <= 64:
            raise DispatchError(_("The form has expired; open it again."), "form")
        return cls(
            title=str(data.get("title") or "").strip(),
            filters=RecipientFilter.from_mapping(data),
            channels=tuple(c for c in DISPATCH_CHANNELS if c in channels),
            message_key=str(data.get("message_key") or "").strip() or None,
            texts=texts,
            request_key=request_key,
        )


async def get_dispatch(session: AsyncSession, dispatch_id: int) -> Dispatch:
    """This municipality's dispatch (another's answers 404)."""
    dispatch = await session.scalar(
        select(Dispatch).where(Dispatch.id == dispatch_id).execution_options(populate_existing=True)
    )
    if dispatch is None:
        raise NotFound(_("Not found."))
    return dispatch


async def _by_request_key(session: AsyncSession, request_key: str) -> Dispatch | None:
    return await session.scalar(select(Dispatch).where(Dispatch.request_key == request_key))


async def create_dispatch(session: AsyncSession, actor: Actor, draft: DispatchDraft) -> Dispatch:
    """Save a dispatch to send (a draft: nobody is frozen yet). The same form sent twice
    gives back the first; an empty group, no text or an unknown field is refused."""
    existing = await _by_request_key(session, draft.request_key)
    if existing is not None:
        return existing
    if not draft.title or len(draft.title) > 200:
        raise DispatchError(_("Give the dispatch a name (at most 200 characters)."), "title")
    texts: dict[str, Any] = {}
    if draft.message_key:
        await check_message_key(session, draft.message_key, draft.channels)
    else:
        texts = clean_texts(draft.texts, draft.channels)
    await check_objects(session, draft.filters)
    if not await resolve(session, draft.filters):
        raise DispatchError(_("Nobody is in this group: choose another."), "group")
    dispatch = Dispatch(
        election_id=draft.filters.election_id,
        title=draft.title,
        filters=draft.filters.as_dict(),
        channels=list(draft.channels),
        message_key=draft.message_key,
        texts=texts,
        request_key=draft.request_key,
        created_by_label=actor.label,
    )
    session.add(dispatch)
    try:
        await session.flush()
    except IntegrityError:
        # The same form, sent twice at once: the other request made it.
        await session.rollback()
        existing = await _by_request_key(session, draft.request_key)
        if existing is None:
            raise
        return existing
    await record(session, actor, "dispatches.dispatch.created", dispatch)
    await session.commit()
    return dispatch


async def candidates_of(session: AsyncSession, dispatch: Dispatch) -> list[Candidate]:
    """Who the dispatch would go to if it were sent now."""
    if dispatch.resend_of_id is not None:
        return await _failed_of(session, dispatch.resend_of_id)
    return await resolve(session, RecipientFilter.from_mapping(dispatch.filters))


def scheduled_time(value: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
    """Check a chosen sending time; None means now."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise DispatchError(_("Choose the time with its time zone."), "send_at")
    if value < now + EARLIEST_SCHEDULE:
        raise DispatchError(_("Choose a time at least a few minutes from now."), "send_at")
    if value > now + LATEST_SCHEDULE:
        raise DispatchError(_("Choose a time within a year."), "send_at")
    return value


async def send_dispatch(
    session: AsyncSession,
    actor: Actor,
    dispatch_id: int,
    base_url: str,
    send_at: dt.datetime | None = None,
) -> Dispatch:
    """Send now (freeze the list and queue every message) or at ``send_at``. A dispatch
    already sent, being sent or scheduled is left as it is: a second click sends nothing."""
    dispatch = await get_dispatch(session, dispatch_id)
    if dispatch.state != "draft":
        return dispatch
    when = scheduled_time(send_at, utcnow())
    if when is not None:
        result = await session.execute(
            update(Dispatch)
            .where(Dispatch.id == dispatch_id, Dispatch.state == "draft")
            .values(state="scheduled", send_at=when)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            await record(
                session,
                actor,
                "dispatches.dispatch.scheduled",
                dispatch,
                data={"send_at": when.isoformat()},
            )
        await session.commit()
        return await get_dispatch(session, dispatch_id)
    await freeze_and_queue(session, actor, dispatch_id, ("draft",), base_url)
    return await get_dispatch(session, dispatch_id)


async def freeze_and_queue(
    session: AsyncSession,
    actor: Actor,
    dispatch_id: int,
    states: tuple[str, ...],
    base_url: str,
) -> int:
    """Claim the dispatch from ``states``, freeze its list (committed with the claim),
    then queue its messages. Returns how many were queued (0 when another claimed it)."""
    if not await claim(session, dispatch_id, states):
        await session.rollback()
        return 0
    dispatch = await get_dispatch(session, dispatch_id)
    chosen = RecipientFilter.from_mapping(dispatch.filters)
    if can_freeze_in_database(dispatch, chosen):
        frozen = await freeze_in_database(session, dispatch, chosen)
    else:
        frozen = await write_frozen_list(session, dispatch, await candidates_of(session, dispatch))
    if not frozen:
        await session.rollback()
        raise DispatchError(_("Nobody is in this group any more."), "group")
    await record(session, actor, "dispatches.dispatch.sent", dispatch, data={"recipients": frozen})
    await session.commit()
    return await queue_waiting(session, dispatch_id, base_url)


async def cancel_dispatch(session: AsyncSession, actor: Actor, dispatch_id: int) -> Dispatch:
    """Cancel a scheduled dispatch (or a draft); one being sent or sent cannot be."""
    dispatch = await get_dispatch(session, dispatch_id)
    result = await session.execute(
        update(Dispatch)
        .where(Dispatch.id == dispatch_id, Dispatch.state.in_(("draft", "scheduled")))
        .values(state="cancelled", cancelled_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        await session.rollback()
        dispatch = await get_dispatch(session, dispatch_id)
        if dispatch.state == "cancelled":
            return dispatch
        raise DispatchError(_("This dispatch is already sent and cannot be cancelled."), "form")
    await record(session, actor, "dispatches.dispatch.cancelled", dispatch)
    await session.commit()
    return await get_dispatch(session, dispatch_id)


async def _failed_of(session: AsyncSession, dispatch_id: int) -> list[Candidate]:
    """The failed messages of a dispatch as candidates, by person (with their address
    of now: the office may have put it right) and channel."""
    rows = await session.execute(
        select(
            DispatchRecipient.recipient_key,
            DispatchRecipient.channel,
            DispatchRecipient.person_id,
            DispatchRecipient.application_id,
            DispatchRecipient.assignment_id,
            DispatchRecipient.name,
            DispatchRecipient.first_name,
            DispatchRecipient.station_id,
            DispatchRecipient.shift_id,
            DispatchRecipient.role_type_id,
            DispatchRecipient.address,
            DispatchRecipient.locale,
            Person.email,
            Person.mobile,
            Person.erased_at,
        )
        .join(OutboxMessage, OutboxMessage.dispatch_recipient_id == DispatchRecipient.id)
        .outerjoin(Person, Person.id == DispatchRecipient.person_id)
        .where(DispatchRecipient.dispatch_id == dispatch_id, FAILED)
        .order_by(DispatchRecipient.id)
    )
    found = []
    for row in rows:
        email = row.email if row.person_id else row.address
        mobile = row.mobile if row.person_id else row.address
        found.append(
            Candidate(
                recipient_key=row.recipient_key,
                person_id=row.person_id,
                application_id=row.application_id,
                assignment_id=row.assignment_id,
                name=row.name,
                email=email if row.channel == "email" else None,
                mobile=mobile if row.channel == "sms" else None,
                locale=row.locale,
                erased=row.erased_at is not None,
                first_name=row.first_name,
                station_id=row.station_id,
                shift_id=row.shift_id,
                role_type_id=row.role_type_id,
                channel=row.channel,
            )
        )
    return found


async def resend_failed(
    session: AsyncSession, actor: Actor, dispatch_id: int, request_key: str
) -> Dispatch:
    """A new dispatch of the same words to the failed messages of this one, each on the
    channel that failed; it is sent from its own page like any other."""
    original = await get_dispatch(session, dispatch_id)
    existing = await _by_request_key(session, request_key)
    if existing is not None:
        return existing
    if not 16 <= len(request_key) <= 64:
        raise DispatchError(_("The form has expired; open it again."), "form")
    failed = await _failed_of(session, dispatch_id)
    if not failed:
        raise DispatchError(_("No message of this dispatch has failed."), "form")
    channels = [c for c in DISPATCH_CHANNELS if any(c == f.channel for f in failed)]
    dispatch = Dispatch(
        election_id=original.election_id,
        title=_("%(title)s (again to the failed)", title=original.title)[:200],
        filters=original.filters,
        channels=channels,
        message_key=original.message_key,
        texts=original.texts,
        request_key=request_key,
        resend_of_id=original.id,
        created_by_label=actor.label,
    )
    session.add(dispatch)
    await session.flush()
    await record(
        session, actor, "dispatches.dispatch.created", dispatch, data={"resend_of": original.id}
    )
    await session.commit()
    return dispatch


async def send_due(session: AsyncSession, base_url: str) -> int:
    """The worker's round in one municipality: send the scheduled dispatches whose time
    has come, and finish queueing any a worker left half done. Returns messages queued."""
    now = utcnow()
    due = list(
        await session.execute(
            select(Dispatch.id, Dispatch.state)
            .where(
                or_(
                    (Dispatch.state == "scheduled") & (Dispatch.send_at <= now),
                    Dispatch.state == "queueing",
                )
            )
            .order_by(Dispatch.id)
        )
    )
    await session.rollback()
    queued = 0
    worker = Actor.system("dispatch worker")
    for dispatch_id, state in due:
        if state == "scheduled":
            try:
                queued += await freeze_and_queue(
                    session, worker, dispatch_id, ("scheduled",), base_url
                )
            except DispatchError:
                # Nobody is left in the group: cancelled, and the audit log says why.
                await _cancel_empty(session, worker, dispatch_id)
        else:
            queued += await queue_waiting(session, dispatch_id, base_url)
    return queued


async def _cancel_empty(session: AsyncSession, actor: Actor, dispatch_id: int) -> None:
    await session.execute(
        update(Dispatch)
        .where(Dispatch.id == dispatch_id, Dispatch.state == "scheduled")
        .values(state="cancelled", cancelled_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await record(
        session, actor, "dispatches.dispatch.cancelled", data={"id": dispatch_id, "empty": True}
    )
    await session.commit()
