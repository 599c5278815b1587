"""Long lists shown a page at a time: the page's place in the list and the query for it.

Every paged list (people, stations, applications, messages, the audit log, the API's
lists) counts its pages the same way, so a list of 0 rows still has one page.

The page asked for in a query is read with ``page_number``: anything but a plain
number is the first page. A page past the last shows the last (``shown_page``), in
every list of the HTML faces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

#: The highest page number a query can ask for: the offsets stay far inside a 32-bit
#: integer, and a number past it asks for the last page anyway.
MAX_PAGE = 100_000
_DIGITS = re.compile(r"[0-9]{1,16}")


def page_number(raw: object) -> int:
    """The page a query string asks for: 1 for anything but ASCII digits (empty,
    negative, text), at most ``MAX_PAGE`` (a longer number asks for the last page)."""
    text = str(raw or "").strip()
    if not _DIGITS.fullmatch(text):
        return MAX_PAGE if text.isascii() and text.isdigit() else 1
    return min(max(1, int(text)), MAX_PAGE)


def shown_page(page: int, total: int, per_page: int) -> int:
    """The page a list of ``total`` rows shows when ``page`` is asked for: from the
    first to the last (a page past the last shows the last)."""
    return min(max(1, page), page_count(total, per_page))


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
    in all. A page past the last is empty (the API's lists); past ``MAX_PAGE`` too."""
    total = await count_rows(session, statement)
    page = min(max(1, page), MAX_PAGE + 1)
    rows = await session.scalars(statement.offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


async def fetch_shown_page(
    session: AsyncSession, statement: Select[Any], page: int, per_page: int
) -> tuple[list[Any], int, int]:
    """The rows of the page a list shows for ``page`` (``shown_page``), how many rows
    the list has in all, and that page's number."""
    total = await count_rows(session, statement)
    page = shown_page(page, total, per_page)
    rows = await session.scalars(statement.offset((page - 1) * per_page).limit(per_page))
    return list(rows), total, page
