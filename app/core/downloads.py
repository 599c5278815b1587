"""Files a face hands out as downloads: their media types, their names and the response."""

from __future__ import annotations

import re
import unicodedata

from quart import Response

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "json": "application/json",
}


def slug(text: str) -> str:
    """A file name part in plain ASCII ("Röstmottagare Å" -> "rostmottagare-a")."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "stemma"


def attachment(body: bytes, format: str, filename: str) -> Response:
    """``body`` as a download named ``filename.format``, of that format's media type."""
    response = Response(body, content_type=MEDIA_TYPES[format])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.{format}"'
    return response
