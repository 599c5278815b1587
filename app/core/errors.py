"""The base of every domain's error: a translated message and the field it belongs to.

The transaction rule, one for the whole code base:

- A service (one async function per use case in ``app/domain`` or ``app/core/accounts``)
  owns its unit of work: it validates, writes, records the audit entry and the events,
  and commits. A refused action raises a ``DomainError`` and leaves nothing half
  written: the service checks before it writes, or rolls back before raising.
- A use case made of others calls their non-committing parts (``write_...`` functions,
  documented as such) and commits once itself; there are no ``commit`` flags.
- A view (``app/planning``, ``app/portal``, ``app/public``, ``app/api``) never commits
  or rolls back: it parses, calls one service, renders. The request's session is closed
  at teardown, which discards anything not committed.
- A view says what to show on a refusal with ``app.core.web.on_refusal(answer)`` before
  calling the service, instead of a try/except. Each HTML face registers one handler
  for ``DomainError`` on its blueprint (``app.core.error_pages.answer_refusal``): it
  reloads the request's tenant and user if a rollback expired them, and returns the
  answer (the form again with the message at its field, a fragment for HTMX, or a
  flash and a redirect). The API face's handler answers with a problem document.
"""

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
        #: The messages by field, for a form that shows them there ("form": above it).
        self.errors: dict[str, str] = {field or "form": message}


class NotFound(DomainError):
    """The object does not exist *for this tenant and user*: always shown as 404."""

    status = 404
