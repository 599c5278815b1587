"""The error pages after a failed write: drawn in the face's layout, never failing
themselves on a session the failure left needing a rollback."""

from __future__ import annotations

from typing import Any

import pytest
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.models import Tenant
from app.domain.models import ContactMessage
from app.domain.recruitment import contact
from tests.factories import post_form


async def _failing_write(session: AsyncSession, *_args: Any, **_kwargs: Any) -> None:
    """A write the database refuses at flush (a message without its required fields),
    as a NUL byte in a name did on PostgreSQL."""
    session.add(ContactMessage())
    await session.flush()


@pytest.mark.allow_error_logs
async def test_it_draws_the_500_page_in_the_face_layout_after_a_failed_write(
    client: QuartClient,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(contact, "submit_contact_message", _failing_write)
    response = await post_form(
        client, "/lund/contact", {"name": "Sara", "email": "s@example.se", "message": "Hej"}
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 500
    # The public site's layout (its menu is read from the database) with the 500 page.
    assert 'class="public-footer' in body
    assert "Något gick fel" in body
    assert "error page failed to render" not in caplog.text
    assert "unhandled error on POST /lund/contact" in caplog.text
