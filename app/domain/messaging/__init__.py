"""Messages: every mail and text the system sends, its default wording per language,
the office's own wording of it, and the merge fields both are written with.

- ``catalog``: the keys (one per message) and what each offers;
- ``fields``: the merge-field catalogue and the context built from the model;
- ``render``: the sandbox, the check made at save time, the rendering;
- ``queue``: ``queue_message``, the one way a service puts a message in the outbox.
"""

from __future__ import annotations

from app.core.errors import DomainError


class MessagingError(DomainError):
    """A template that cannot be saved or a message that cannot be made."""
