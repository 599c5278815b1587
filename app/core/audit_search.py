"""Reading the audit log: filters shared by the back-office page and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import AuditEntry
from app.core.paging import Page, fetch_shown_page


@dataclass(frozen=True)
class AuditFilter:
    code: str | None = None
    actor: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    #: Ids the same object had before (a person merged into this one), each with the
    #: moment it stopped being used: the entries written under it until then belong to
    #: the object's history too (audit entries stay as they were written).
    former_ids: tuple[tuple[str, datetime], ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    timezone: str = "Europe/Stockholm"


@dataclass(frozen=True)
class AuditPage(Page):
    entries: list[AuditEntry]


def _local_midnight(day: date, timezone: str) -> datetime:
    # Keep far-off years (0001, 9999) from overflowing when converted to UTC.
    day = min(max(day, date(1900, 1, 1)), date(9000, 1, 1))
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone))


def _filtered(statement: Select, audit_filter: AuditFilter) -> Select:
    if audit_filter.code:
        statement = statement.where(AuditEntry.code.startswith(audit_filter.code, autoescape=True))
    if audit_filter.actor:
        statement = statement.where(
            AuditEntry.actor_label.contains(audit_filter.actor.strip().lower(), autoescape=True)
        )
    if audit_filter.object_type:
        statement = statement.where(AuditEntry.object_type == audit_filter.object_type)
    if audit_filter.object_id:
        statement = statement.where(
            or_(
                AuditEntry.object_id == audit_filter.object_id,
                *(
                    (AuditEntry.object_id == former) & (AuditEntry.created_at <= until)
                    for former, until in audit_filter.former_ids
                ),
            )
        )
    if audit_filter.date_from:
        start = _local_midnight(audit_filter.date_from, audit_filter.timezone)
        statement = statement.where(AuditEntry.created_at >= start)
    if audit_filter.date_to:
        end = _local_midnight(audit_filter.date_to + timedelta(days=1), audit_filter.timezone)
        statement = statement.where(AuditEntry.created_at < end)
    return statement


async def search_audit(
    session: AsyncSession, audit_filter: AuditFilter, page: int = 1, per_page: int = 50
) -> AuditPage:
    """One page of the current tenant's audit log, newest first."""
    entries, total, page = await fetch_shown_page(
        session,
        _filtered(select(AuditEntry), audit_filter).order_by(
            AuditEntry.created_at.desc(), AuditEntry.id.desc()
        ),
        page,
        per_page,
    )
    return AuditPage(entries=entries, page=page, per_page=per_page, total=total)


async def audit_entries_before(
    session: AsyncSession, audit_filter: AuditFilter, before_id: int | None, limit: int
) -> list[AuditEntry]:
    """Keyset paging for the API: entries older than ``before_id``, newest first."""
    statement = _filtered(select(AuditEntry), audit_filter)
    if before_id:
        statement = statement.where(AuditEntry.id < before_id)
    return list(await session.scalars(statement.order_by(AuditEntry.id.desc()).limit(limit)))


async def object_types(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(AuditEntry.object_type).where(AuditEntry.object_type.is_not(None)).distinct()
    )
    return sorted(row for row in rows if row)
