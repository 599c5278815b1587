"""Election-day operations: check-ins, each station's state, incidents and turnout.

``checkins`` records clerks arriving and leaving (idempotent, for phones that send
again), ``stations`` moves a station through its day (open, paused, closed, counting,
result reported) and answers who of the team is there, ``incidents`` logs and handles
what went wrong, ``turnout`` takes the day's voter counts. ``access`` holds who may do
what to a station, ``news`` writes the live events every change announces.
``dashboard`` is the coordinators' board (with ``station_rows``, ``alerts`` and
``counters``), ``notify`` the pushes, ``exports`` the logs after the day.
"""

from app.core.errors import DomainError


class OpsError(DomainError):
    """An election-day rule was broken; the message says which."""


class OpsForbidden(OpsError):
    """The user may see the station but not do this to it (a planner, a clerk of the team)."""

    status = 403


class OpsConflict(OpsError):
    """Someone else changed the object since the user last saw it."""

    status = 409


class IdempotencyConflict(OpsError):
    """An idempotency key came back with another request body than the first time."""
