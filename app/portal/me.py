"""Who "me" is in the portal: the signed-in clerk's person record in this municipality."""

from __future__ import annotations

from app.core.auth import current_user
from app.core.errors import NotFound
from app.core.i18n import _
from app.core.web import db
from app.domain.clerks import places as portal
from app.domain.models import Person


async def my_person() -> Person | None:
    """The signed-in clerk's person record, or None when the office linked none."""
    user = current_user()
    assert user is not None
    return await portal.person_of_user(db(), user.id)


async def my_person_or_404() -> Person:
    person = await my_person()
    if person is None:
        raise NotFound(_("Not found."))
    return person
