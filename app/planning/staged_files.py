"""What the pages of a staged file share (the register import, a candidate list, a
population register extract): the file the upload form sent, a refused file's message at
its field, and a refused confirmation sent back to the upload page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from quart import flash, redirect, request
from werkzeug.wrappers import Response as WerkzeugResponse

from app.core.errors import DomainError
from app.core.i18n import _
from app.core.validation import FieldErrors


async def uploaded_file() -> tuple[str, bytes]:
    """The form's ``file`` as (name, content); refused at the field when none was chosen
    (the view's ``on_refusal`` answer shows it)."""
    upload = (await request.files).get("file")
    if upload is None or not upload.filename:
        raise FieldErrors({"file": _("Choose a file.")})
    return upload.filename, upload.read()


def errors_at_file(error: DomainError) -> dict[str, str]:
    """A refused file's messages at their fields: the whole file's at the file field."""
    if isinstance(error, FieldErrors):
        return error.errors
    return {error.field or "file": error.message}


def back_to_upload(url: str) -> Callable[[DomainError], Awaitable[WerkzeugResponse]]:
    """The answer to a refused preview or confirmation (the file was imported already):
    the message flashed, and back to the upload page."""

    async def answer(error: DomainError) -> WerkzeugResponse:
        await flash(error.message, "error")
        return redirect(url)

    return answer


def preview_status(ok: bool) -> int:
    """A preview shows with 200; a confirmation refused for the file's rows with 422."""
    return 200 if ok or request.method == "GET" else 422
