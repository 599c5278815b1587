"""The base of every domain's error: a translated message and the field it belongs to."""

from __future__ import annotations


class DomainError(Exception):
    """A rule was broken. ``message`` is already translated for the current locale.

    Each domain subclasses it (``AccountsError``, ``StaffingError``); each face has
    one handler that turns it into a field error, a flash, or a problem document.
    """

    status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The object does not exist *for this tenant and user*: always shown as 404."""

    status = 404
