"""Where a dispatch's messages are: counts per state and the list of one state, read
from the frozen list and each message's outbox row.

A recipient's state: ``left_out`` (no address, erased), ``waiting`` (frozen, not yet
in the outbox), ``queued`` (in the outbox, not sent), ``sent``, ``delivered``,
``failed`` (given up, or the gateway's report says so) or ``refused`` (the mail
server refused it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import OutboxMessage
from app.core.paging import Page, count_rows, shown_page
from app.domain.models import Dispatch, DispatchRecipient

STATES = ("waiting", "queued", "sent", "delivered", "failed", "refused", "left_out")
#: Recipients on one page of a state's list.
PER_PAGE = 50

_STATE = case(
    (DispatchRecipient.left_out.is_not(None), "left_out"),
    (OutboxMessage.id.is_(None), "waiting"),
    (
        OutboxMessage.delivery_state.in_(("delivered", "failed", "refused")),
        OutboxMessage.delivery_state,
    ),
    (OutboxMessage.status == "failed", "failed"),
    (OutboxMessage.status == "sent", "sent"),
    else_="queued",
)


def _joined(statement: Select[Any], dispatch_id: int) -> Select[Any]:
    return statement.outerjoin(
        OutboxMessage, OutboxMessage.dispatch_recipient_id == DispatchRecipient.id
    ).where(DispatchRecipient.dispatch_id == dispatch_id)


@dataclass(frozen=True)
class Counts:
    """Messages per state and channel: ``by_state[state][channel]``."""

    by_state: dict[str, dict[str, int]]

    def total(self, state: str) -> int:
        return sum(self.by_state.get(state, {}).values())

    def channel(self, channel: str) -> int:
        return sum(
            counts.get(channel, 0) for state, counts in self.by_state.items() if state != "left_out"
        )

    @property
    def failed(self) -> int:
        return self.total("failed") + self.total("refused")


async def counts(session: AsyncSession, dispatch: Dispatch) -> Counts:
    rows = await session.execute(
        _joined(
            select(_STATE.label("state"), DispatchRecipient.channel, func.count()),
            dispatch.id,
        ).group_by(_STATE, DispatchRecipient.channel)
    )
    by_state: dict[str, dict[str, int]] = {state: {} for state in STATES}
    for state, channel, number in rows:
        by_state[state][channel] = number
    return Counts(by_state)


@dataclass(frozen=True)
class RecipientLine:
    name: str
    channel: str
    address: str
    state: str
    left_out: str | None
    detail: str | None
    person_id: int | None


@dataclass(frozen=True, kw_only=True)
class RecipientPage(Page):
    recipients: list[RecipientLine]


async def recipients(
    session: AsyncSession, dispatch: Dispatch, states: Sequence[str], page: int
) -> RecipientPage:
    """One page of the recipients in ``states``, in name order."""
    statement = _joined(
        select(
            DispatchRecipient.name,
            DispatchRecipient.channel,
            DispatchRecipient.address,
            _STATE.label("state"),
            DispatchRecipient.left_out,
            func.coalesce(OutboxMessage.delivery_detail, OutboxMessage.last_error),
            DispatchRecipient.person_id,
        ),
        dispatch.id,
    )
    if states:
        statement = statement.where(_STATE.in_(list(states)))
    statement = statement.order_by(DispatchRecipient.name, DispatchRecipient.id)
    total = await count_rows(session, statement)
    page = shown_page(page, total, PER_PAGE)
    rows = await session.execute(statement.offset((page - 1) * PER_PAGE).limit(PER_PAGE))
    return RecipientPage(
        recipients=[RecipientLine(*row) for row in rows],
        total=total,
        page=page,
        per_page=PER_PAGE,
    )


@dataclass(frozen=True, kw_only=True)
class DispatchPage(Page):
    dispatches: list[Dispatch]


async def list_dispatches(session: AsyncSession, page: int) -> DispatchPage:
    """The municipality's dispatches, newest first."""
    statement = select(Dispatch).order_by(Dispatch.created_at.desc(), Dispatch.id.desc())
    total = await count_rows(session, statement)
    page = shown_page(page, total, PER_PAGE)
    rows = await session.scalars(statement.offset((page - 1) * PER_PAGE).limit(PER_PAGE))
    return DispatchPage(dispatches=list(rows), total=total, page=page, per_page=PER_PAGE)
