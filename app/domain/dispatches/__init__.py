"""Dispatches: the office's own messages to a chosen group by e-mail, SMS or both.

- ``filters``: who is in the group (staff by district, station, role, state, day,
  course booking and arrival; reserves; applicants; a course's bookings), read in
  one statement.
- ``texts``: the written texts and templates, rendered per recipient's language.
- ``preview``: the counts per channel, who is left out and why, SMS parts and cost.
- ``sending``: create, send now or at a time, cancel, send again to the failed; the
  list frozen and queued in bulk, each message once.
- ``status``: the counts per state and the list per state.
"""

from app.core.errors import DomainError


class DispatchError(DomainError):
    """A dispatch cannot be made or sent as asked."""
