"""Documents the office edits: the appointment letter, the offer's introduction on the
public offer page and the staff list's header, per language, written with the same
merge fields and checked and rendered in the same sandbox as the messages
(``app.domain.messaging.render``); and letters by post (``mailing``): address labels
and a mail-merge workbook for a chosen group.

- ``catalog``: the documents, their titles and the merge fields each offers;
- ``texts``: the office's versions of each text, the default from its file, reset;
- ``fields``: the merge fields of a letter, an offer and a staff list;
- ``mailing``: the group, who is left out and why, labels and the workbook.
"""

from __future__ import annotations

from app.core.errors import DomainError


class DocumentError(DomainError):
    """A document text that cannot be saved, or a mailing that cannot be made."""
