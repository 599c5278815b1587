"""The frozen list of a group of people, written by the database itself: one
``INSERT … SELECT`` from the group's query, a row per person and channel with the
reason one is left out, so 15,000 people never travel to the app and back.

The statement skips the ORM's tenant hook (an insert), so it holds every table it
reads to ``tenant_id = :tenant`` itself, and is refused before it runs if one is not
(``unscoped_tables``); on PostgreSQL the row policies check it again. Applicants and a
resend to the failed are frozen from their candidates (``queueing.write_frozen_list``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.tenancy import TENANT_PARAMETER, TenantNotSetError, require_tenant_id, unscoped_tables
from app.domain.dispatches.filters import RecipientFilter, group_of
from app.domain.models import Assignment, Dispatch, DispatchRecipient, Person

RECIPIENTS = DispatchRecipient.metadata.tables["dispatch_recipients"]
COLUMNS = (
    "tenant_id",
    "dispatch_id",
    "recipient_key",
    "channel",
    "person_id",
    "application_id",
    "assignment_id",
    "name",
    "first_name",
    "station_id",
    "shift_id",
    "role_type_id",
    "address",
    "locale",
    "left_out",
)


def can_freeze_in_database(dispatch: Dispatch, chosen: RecipientFilter) -> bool:
    return dispatch.resend_of_id is None and chosen.group != "applicants"


def frozen_list_statement(dispatch: Dispatch, chosen: RecipientFilter, tenant_id: int) -> Any:
    """The ``INSERT … SELECT`` of the frozen list, in name order, each person's channels
    in the dispatch's order; the address kept only for a message that will be sent."""
    tenant = bindparam(TENANT_PARAMETER, value=tenant_id, type_=Integer)
    group = group_of(chosen, tenant)
    # A union of one-row selects, not VALUES: SQLite names no VALUES columns in FROM.
    chosen_channels = [
        select(literal(channel, String).label("channel"), literal(position).label("position"))
        for position, channel in enumerate(dispatch.channels)
    ]
    channels = union_all(*chosen_channels).subquery("channels")
    channel = channels.c.channel
    email = func.coalesce(Person.email, "")
    mobile = func.coalesce(Person.mobile, "")
    left_out = case(
        (Person.erased_at.is_not(None), "erased"),
        (and_(channel == "email", email == ""), "no_email"),
        (and_(channel == "sms", mobile == ""), "no_mobile"),
        else_=null(),
    )
    address = case(
        (left_out.is_(None), func.substr(case((channel == "email", email), else_=mobile), 1, 254)),
        else_="",
    )
    rows = (
        select(
            tenant,
            literal(dispatch.id),
            literal("p") + cast(Person.id, String),
            channel,
            Person.id,
            cast(null(), Integer),
            group.c.assignment_id,
            func.substr(func.trim(Person.first_name + " " + Person.last_name), 1, 201),
            func.substr(Person.first_name, 1, 100),
            Assignment.station_id,
            Assignment.shift_id,
            Assignment.role_type_id,
            address,
            func.coalesce(func.nullif(Person.preferred_language, ""), "sv"),
            left_out,
        )
        .select_from(Person)
        .join(group, group.c.person_id == Person.id)
        .outerjoin(
            Assignment,
            and_(Assignment.id == group.c.assignment_id, Assignment.tenant_id == tenant),
        )
        .join(channels, true())
        .where(Person.tenant_id == tenant)
        .order_by(Person.last_name, Person.first_name, Person.id, channels.c.position)
    )
    statement = insert(RECIPIENTS).from_select(list(COLUMNS), rows)
    missing = unscoped_tables(statement)
    if missing:
        raise TenantNotSetError("the frozen list must hold " + ", ".join(sorted(missing)))
    return statement


async def freeze_in_database(
    session: AsyncSession, dispatch: Dispatch, chosen: RecipientFilter
) -> int:
    """Write the frozen list of ``chosen`` in the caller's transaction; returns its rows."""
    result = await session.execute(frozen_list_statement(dispatch, chosen, require_tenant_id()))
    return int(getattr(result, "rowcount", 0) or 0)
