"""The clerk portal's start page: my places, my co-workers, and answering offers."""

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from quart.testing import QuartClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment
from app.domain.site import webparts
from app.domain.staffing.assignments import assign_person
from tests.factories import login, make_clerk, make_staffed_station, make_user, post_form

ACTOR = Actor.system("test")


async def _place(
    db: AsyncSession, tenant: Tenant, s: dict[str, Any], shift: str, role: str, person: Any,
    state: str,
) -> Assignment:  # fmt: skip
    with tenant_scope(tenant.id):
        assignment = await assign_person(
            db, ACTOR, s[shift].id, s["roles"][role].id, person.id, override=True
        )
        assignment.state = state
        await db.commit()
    return assignment


async def _linked_clerk(db: AsyncSession, tenant: Tenant, s: dict[str, Any], **fields: Any) -> Any:
    user = await make_user(db, tenant, "clerk")
    person = await make_clerk(db, tenant, s["election"], **fields)
    with tenant_scope(tenant.id):
        person.user_id = user.id
        await db.commit()
    return user, person


async def test_it_shows_my_places_with_co_workers_and_only_the_leads_phone(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    user, me = await _linked_clerk(db, tenant, s, first_name="Jag")
    chair = await make_clerk(db, tenant, s["election"], first_name="Ordf", mobile="0701234567")
    colleague = await make_clerk(
        db, tenant, s["election"], first_name="Kollega", mobile="0709876543"
    )
    proposed = await make_clerk(db, tenant, s["election"], first_name="Hemlig")
    await _place(db, tenant, s, "early", "clerk", me, "accepted")
    await _place(db, tenant, s, "early", "chair", chair, "accepted")
    await _place(db, tenant, s, "early", "clerk", colleague, "accepted")
    await _place(db, tenant, s, "early", "clerk", proposed, "proposed")
    await login(client, user)
    page = await (await client.get("/lund/portal/")).get_data(as_text=True)
    assert "Hamnskolan" in page and "openstreetmap.org" not in page  # no building yet
    assert "Ordf" in page and "+46701234567" in page  # the chair's number
    assert "Kollega" in page and "+46709876543" not in page  # not a clerk's
    assert "Hemlig" not in page  # a proposal is not told to anyone yet


async def test_it_lets_me_answer_my_offer_and_nobody_elses(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    user, me = await _linked_clerk(db, tenant, s)
    _other_user, other = await _linked_clerk(db, tenant, s)
    mine = await _place(db, tenant, s, "early", "clerk", me, "offered")
    theirs = await _place(db, tenant, s, "early", "clerk", other, "offered")
    await login(client, user)
    assert (
        await post_form(client, f"/lund/portal/offers/{theirs.id}", {"answer": "decline"})
    ).status_code == 404
    response = await post_form(client, f"/lund/portal/offers/{mine.id}", {"answer": "accept"})
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        states = dict((await db.execute(select(Assignment.id, Assignment.state))).all())
    assert states == {mine.id: "accepted", theirs.id: "offered"}


async def test_it_tells_the_office_at_once_about_a_late_decline(
    client: QuartClient, db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    import datetime as dt

    from app.domain.models import Shift

    s = await make_staffed_station(db, tenant)
    user, me = await _linked_clerk(db, tenant, s)
    offer = await _place(db, tenant, s, "early", "clerk", me, "offered")
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(db, ACTOR, {"office_email": "val@lund.test"})
        shift = await db.scalar(select(Shift).where(Shift.id == s["early"].id))
        assert shift is not None
        shift.day = dt.date.today() + dt.timedelta(days=3)
        await db.commit()
    await login(client, user)
    page = await (await client.get("/lund/portal/")).get_data(as_text=True)
    assert 'role="note"' in page  # the warning before declining
    await post_form(
        client, f"/lund/portal/offers/{offer.id}", {"answer": "decline", "reason": "Sjuk"}
    )
    mail = (await owner_db.scalars(select(OutboxMessage))).one()
    assert mail.recipient == "val@lund.test" and "Sjuk" in mail.body_text


async def test_it_shows_a_clerk_without_a_person_record_an_empty_page(
    client: QuartClient, clerk: User, outsider: User
) -> None:
    await login(client, clerk)
    page = await client.get("/lund/portal/")
    assert page.status_code == 200
    assert (
        await post_form(client, "/lund/portal/offers/1", {"answer": "accept"})
    ).status_code == 404


async def test_it_says_so_when_i_answer_an_offer_twice(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    user, me = await _linked_clerk(db, tenant, s)
    mine = await _place(db, tenant, s, "early", "clerk", me, "offered")
    await login(client, user)
    await post_form(client, f"/lund/portal/offers/{mine.id}", {"answer": "accept"})
    await client.get("/lund/portal/")  # the first answer's flash
    again = await post_form(client, f"/lund/portal/offers/{mine.id}", {"answer": "decline"})
    assert again.status_code == 302 and again.headers["Location"] == "/lund/portal/"
    page = await (await client.get("/lund/portal/")).get_data(as_text=True)
    assert "Du har redan svarat på erbjudandet." in page and "flash-error" in page
    with tenant_scope(tenant.id):
        assert await db.scalar(select(Assignment.state).where(Assignment.id == mine.id)) == (
            "accepted"
        )


def _section(page: str, heading_id: str) -> str:
    """The text of the page's section named by the heading ``heading_id`` ('' if none)."""
    found = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    return found.group(1) if found else ""


async def test_it_lists_a_worked_shift_of_the_current_election_as_done_not_earlier(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    today = dt.date.today()
    current = await make_staffed_station(db, tenant)
    old = await make_staffed_station(db, tenant, name="Gamla skolan")
    user, me = await _linked_clerk(db, tenant, current)
    with tenant_scope(tenant.id):
        # The current election's morning shift was yesterday (advance voting, say); the
        # other election was a month ago.
        current["early"].day = today - dt.timedelta(days=1)
        old["election"].election_day = today - dt.timedelta(days=30)
        old["early"].day = today - dt.timedelta(days=30)
        await db.commit()
    for s in (current, old):
        await _place(db, tenant, s, "early", "clerk", me, "accepted")
    await _place(db, tenant, current, "late", "clerk", me, "accepted")
    await login(client, user)
    page = await (await client.get("/lund/portal/")).get_data(as_text=True)
    upcoming = _section(page, "upcoming-heading")
    done = _section(page, "done-heading")
    earlier = _section(page, "past-heading")
    assert "Eftermiddag" in upcoming and "Förmiddag" not in upcoming
    assert "Hamnskolan" in done and "Förmiddag" in done and "Avklarat" in done
    assert "Gamla skolan" not in done
    assert "Gamla skolan" in earlier and "Hamnskolan" not in earlier


#: Zones 25 hours apart: at any hour, in one of them the day is not the server's.
FAR_ZONES = ("Pacific/Kiritimati", "Pacific/Pago_Pago")


async def test_it_reads_today_in_the_municipalitys_zone_not_the_servers(
    client: QuartClient, db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    """A shift on the municipality's today is still ahead and one of its yesterday is
    done, whatever the server's own date (a server on UTC is an hour or two behind
    Stockholm's day after midnight: a shift of today showed as done)."""
    zone = next(z for z in FAR_ZONES if dt.datetime.now(ZoneInfo(z)).date() != dt.date.today())
    await owner_db.execute(update(Tenant).where(Tenant.id == tenant.id).values(timezone=zone))
    await owner_db.commit()
    local_today = dt.datetime.now(ZoneInfo(zone)).date()
    current = await make_staffed_station(db, tenant)
    user, me = await _linked_clerk(db, tenant, current)
    with tenant_scope(tenant.id):
        current["early"].day = local_today - dt.timedelta(days=1)
        current["late"].day = local_today
        await db.commit()
    await _place(db, tenant, current, "early", "clerk", me, "accepted")
    await _place(db, tenant, current, "late", "clerk", me, "accepted")
    await login(client, user)
    page = await (await client.get("/lund/portal/")).get_data(as_text=True)
    upcoming = _section(page, "upcoming-heading")
    done = _section(page, "done-heading")
    assert "Eftermiddag" in upcoming and "Förmiddag" not in upcoming, zone
    assert "Förmiddag" in done and "Eftermiddag" not in done, zone


async def test_a_protected_co_worker_is_named_to_nobody_on_the_team(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    user, me = await _linked_clerk(db, tenant, s, first_name="Jag")
    hidden = await make_clerk(
        db, tenant, s["election"], first_name="Sara", last_name="Skyddsdotter",
        address_protected="y", address_protected_shown="1",
    )  # fmt: skip
    await _place(db, tenant, s, "early", "clerk", me, "accepted")
    await _place(db, tenant, s, "early", "clerk", hidden, "accepted")
    await login(client, user)
    page = await (await client.get("/lund/portal/")).get_data(as_text=True)
    assert "Skyddsdotter" not in page and "Skyddad person" in page
