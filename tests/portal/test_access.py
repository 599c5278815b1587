"""Every portal route that takes an id, tried with another clerk's ids: always 404."""

import re

from quart import Quart
from quart.testing import QuartClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.courses.booking import book_person
from app.domain.models import StationMessage
from tests.factories import (
    csrf_token,
    letterhead,
    login,
    make_course,
    make_course_session,
    make_staffed_station,
)
from tests.portal.test_my_assignments import _linked_clerk, _place


async def test_it_gives_404_for_every_id_of_another_clerk(
    app: Quart, client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    _owner_user, owner = await _linked_clerk(db, tenant, s)
    snooper_user, _snooper = await _linked_clerk(db, tenant, s)
    theirs = await _place(db, tenant, s, "early", "clerk", owner, "offered")
    course = await make_course(db, tenant, s["election"])
    course_session = await make_course_session(db, tenant, course)
    with tenant_scope(tenant.id):
        booked = await book_person(
            db, Actor.system("t"), letterhead(tenant), course_session.id, owner.id
        )
        message = StationMessage(
            election_id=s["election"].id,
            scope="station",
            station_id=s["station"].id,
            text="Kom ihåg legitimationen.",
        )
        db.add(message)
        await db.commit()
    ids = {
        "assignment_id": theirs.id,
        "person_id": owner.id,
        "station_id": s["station"].id,
        "booking_id": booked.id,
        "message_id": message.id,
        # A pay statement is the signed-in clerk's own: none in an election they did
        # not work in.
        "election_id": s["election"].id,
    }
    await login(client, snooper_user)
    token = await csrf_token(client)
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/<tenant>/portal/") or "<int:" not in rule.rule:
            continue
        path = re.sub(r"<int:(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)
        path = path.replace("<tenant>", "lund")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = await client.open(
                path, method=method, form={"csrf_token": token, "answer": "decline"}
            )
            assert response.status_code == 404, (method, path, response.status_code)
            checked += 1
    assert checked >= 1


async def test_it_never_links_an_existing_account_to_a_person(
    app: Quart, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    """An applicant (or a planner) who types an existing account's address into a
    person's record must not get that account: only new addresses get one."""
    import pytest

    from app.core.accounts.users import AccountsError
    from app.core.audit import Actor
    from app.core.tenancy import tenant_scope
    from app.domain.clerks.places import invite_to_portal
    from tests.factories import make_person

    person = await make_person(db, tenant, email=admin.email, mobile="0701234567")
    settings = app.extensions["stemma"].settings
    with tenant_scope(tenant.id), pytest.raises(AccountsError):
        await invite_to_portal(db, Actor.system("t"), settings, tenant, person.id)
    with tenant_scope(tenant.id):
        await db.refresh(person)
    assert person.user_id is None


async def test_an_invited_clerk_reads_the_portal_in_their_language(
    app: Quart, db: AsyncSession, tenant: Tenant
) -> None:
    """The person asked to be written to in English: the invitation was English, and so
    is their account (the portal, the page choosing the password)."""
    from sqlalchemy import select

    from app.core.audit import Actor
    from app.core.models import User
    from app.core.tenancy import tenant_scope
    from app.domain.clerks.places import invite_to_portal
    from tests.factories import make_person

    person = await make_person(db, tenant, email="alan@example.se", preferred_language="en")
    settings = app.extensions["stemma"].settings
    with tenant_scope(tenant.id):
        await invite_to_portal(db, Actor.system("t"), settings, tenant, person.id)
    user = await db.scalar(select(User).where(User.email == "alan@example.se"))
    assert user is not None and user.locale == "en"
