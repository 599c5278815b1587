"""Long lists shown a page at a time: the page's place in the list and the query for it.

Every paged list (people, stations, applications, messages, the audit log, the API's
lists) counts its pages the same way, so a list of 0 rows still has one page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` rows fill; an empty list still shows one page."""
    return max(1, -(-total // per_page))


@dataclass(frozen=True, kw_only=True)
class Page:
    """Where one page sits in a list. Each list adds its rows under a name of its own
    (``people``, ``rows``, ``messages`` ...), which the templates use."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)


async def count_rows(session: AsyncSession, statement: Select[Any]) -> int:
    """How many rows ``statement`` gives, whatever it orders by."""
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    return int(await session.scalar(counted) or 0)


async def fetch_page(
    session: AsyncSession, statement: Select[Any], page: int, per_page: int
) -> tuple[list[Any], int]:
    """Page ``page`` of ``statement`` (ordered by the caller), and how many rows it has
    in all."""
    total = await count_rows(session, statement)
    rows = await session.scalars(statement.offset((page - 1) * per_page).limit(per_page))
    return list(rows), total
