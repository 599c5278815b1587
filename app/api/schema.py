"""The API's value types and problem documents, as its OpenAPI document declares them.

Every integer a client sends is bounded in the document and checked before it reaches
the database: an id past the 32-bit columns (or a ``page`` whose offset passes 64 bits)
answers 400 or 404, never a database error. Local times are wall-clock times without an
offset, so they are documented as a pattern, not as JSON Schema's ``time`` (which
requires one).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, Strict, WithJsonSchema

from app.core.validation import MAX_ID

#: The largest value of the 32-bit integer columns (ids, counts).
MAX_INT32 = 2**31 - 1
#: The last page a list is read to: past it the offset alone would be a huge number.
MAX_PAGE = 1_000_000


def _json_integer(value: Any) -> Any:
    """A JSON integer (``130`` or ``130.0``), not a string or a boolean, which pydantic
    would otherwise read as one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("an integer")
    return value


_INT32 = {"format": "int32"}
#: An id of this municipality's rows in a body.
Id = Annotated[
    int, Field(ge=1, le=MAX_ID, json_schema_extra=_INT32), BeforeValidator(_json_integer)
]
#: An id in a query string (where every value is text).
QueryId = Annotated[int, Field(ge=1, le=MAX_ID, json_schema_extra=_INT32)]
#: A number of things (voters, seats, tables) in a body.
Count = Annotated[
    int, Field(ge=0, le=MAX_INT32, json_schema_extra=_INT32), BeforeValidator(_json_integer)
]
#: A decimal number in a body (an integer will do; a string or a boolean will not).
Number = Annotated[float, Strict()]
PageNumber = Annotated[int, Field(ge=1, le=MAX_PAGE, json_schema_extra=_INT32)]
PerPage = Annotated[int, Field(ge=1, le=500, json_schema_extra=_INT32)]

#: Short words (languages, tags): at most 20 of at most 40 characters each.
Words = Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=20)]

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: Any) -> Any:
    """A day as ``YYYY-MM-DD`` only: not a number of seconds, as pydantic would take."""
    if not isinstance(value, dt.date) and not (isinstance(value, str) and _DAY.fullmatch(value)):
        raise ValueError("a date as YYYY-MM-DD")
    return value


def _iso_moment(value: Any) -> Any:
    """A moment as an RFC 3339 string only: not a number of seconds."""
    if not isinstance(value, dt.datetime | str):
        raise ValueError("a date and time as YYYY-MM-DDTHH:MM:SS+01:00")
    return value


def _query_bool(value: Any) -> Any:
    """``true`` or ``false`` as the document says, not pydantic's other spellings."""
    if value not in (True, False, "true", "false"):
        raise ValueError("true or false")
    return value


Day = Annotated[dt.date, BeforeValidator(_iso_day)]
Moment = Annotated[dt.datetime, BeforeValidator(_iso_moment)]
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]

TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
_TIME = re.compile(TIME_PATTERN)


def _local_time(value: Any) -> Any:
    """A time of day as ``HH:MM`` or ``HH:MM:SS``, without an offset or fractions."""
    if isinstance(value, str) and not _TIME.fullmatch(value):
        raise ValueError("a time of day as HH:MM or HH:MM:SS")
    return value


LocalTime = Annotated[
    dt.time,
    BeforeValidator(_local_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": TIME_PATTERN,
            "description": "Local time of day, HH:MM:SS",
        }
    ),
]


# --- problem documents -------------------------------------------------------------------


class FieldProblem(BaseModel):
    field: str
    message: str


class BrokenRule(BaseModel):
    rule: str
    hard: bool
    message: str


class Problem(BaseModel):
    """A problem document (RFC 9457), the one error shape of the API."""

    type: str = "about:blank"
    title: str
    status: int = Field(ge=400, le=599)
    detail: str | None = None
    field: str | None = Field(None, description="The field a refusal belongs to")
    errors: list[FieldProblem] | None = Field(None, description="Every field that is wrong")
    broken: list[BrokenRule] | None = Field(None, description="Staffing rules a proposal breaks")
    missing_scope: str | None = Field(None, description="The scope the API token lacks")


PROBLEM_DESCRIPTIONS = {
    400: "The request does not match this document (its parameters or body)",
    401: "No valid API token",
    403: "The token may not do this",
    404: "No such object in this municipality",
    409: "The change conflicts with the object's state or the staffing rules",
    413: "The body is too large",
    422: "The request is well formed, but a rule of the municipality refuses it",
}

#: The answers a route may give besides its own: a problem document each.
QUART_SCHEMA_PROBLEMS_ATTRIBUTE = "_stemma_problems"

F = TypeVar("F", bound=Callable[..., Any])


def problems(*statuses: int) -> Callable[[F], F]:
    """Document the problem answers a route gives besides those of every route (400,
    401, and 404 where the path names an object): 404, 409, 422."""

    def decorator(func: F) -> F:
        setattr(func, QUART_SCHEMA_PROBLEMS_ATTRIBUTE, frozenset(statuses))
        return func

    return decorator
