"""Two clock sums SQL has no portable words for, compiled for PostgreSQL and SQLite.

SQLite keeps a time of day as ``HH:MM:SS.ffffff`` text and a moment as naive UTC text
``YYYY-MM-DD HH:MM:SS.ffffff`` (``app.core.models.base.UTCDateTime``); both are read
as whole numbers, so sums and rounding are exact on both databases.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class seconds_of_day(FunctionElement[int]):
    """A time of day as whole seconds since midnight."""

    type = Integer()
    inherit_cache = True
    name = "seconds_of_day"


class whole_seconds_between(FunctionElement[int]):
    """Whole seconds from the first moment to the second (a later one), the fraction cut
    as Python's ``int(delta.total_seconds())`` cuts it."""

    type = Integer()
    inherit_cache = True
    name = "whole_seconds_between"


@compiles(seconds_of_day, "postgresql")
def _seconds_of_day_pg(element: seconds_of_day, compiler: Any, **kw: Any) -> str:
    (time,) = list(element.clauses)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(time, **kw)})) AS INTEGER)"


@compiles(seconds_of_day, "sqlite")
def _seconds_of_day_sqlite(element: seconds_of_day, compiler: Any, **kw: Any) -> str:
    (time,) = list(element.clauses)
    t = compiler.process(time, **kw)
    return (
        f"(CAST(substr({t}, 1, 2) AS INTEGER) * 3600"
        f" + CAST(substr({t}, 4, 2) AS INTEGER) * 60 + CAST(substr({t}, 7, 2) AS INTEGER))"
    )


@compiles(whole_seconds_between, "postgresql")
def _between_pg(element: whole_seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({end} - {start}))) AS INTEGER)"


def _micros_sqlite(moment: str) -> str:
    return (
        f"(CAST(strftime('%s', substr({moment}, 1, 19)) AS INTEGER) * 1000000"
        f" + CAST(substr({moment} || '.000000', 21, 6) AS INTEGER))"
    )


@compiles(whole_seconds_between, "sqlite")
def _between_sqlite(element: whole_seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(({_micros_sqlite(end)} - {_micros_sqlite(start)}) / 1000000)"
