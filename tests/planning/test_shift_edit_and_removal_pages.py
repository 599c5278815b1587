"""Editing a shift's time on the station page, taking a person off a place after a
confirm step (with HTMX and without script), and the offer page's terms."""

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.models import Assignment, Shift
from app.domain.site import webparts
from app.domain.staffing import offers
from app.domain.staffing.assignments import assign_person
from tests.factories import (
    csrf_token,
    login,
    make_clerk,
    make_staffed_station,
    make_user,
    post_form,
)

HTMX = {"HX-Request": "true"}
ACTOR = Actor.system("t")


async def _offered(db: AsyncSession, tenant: Tenant, s: dict, person: object) -> Assignment:
    with tenant_scope(tenant.id):
        await webparts.save_site_settings(
            db,
            ACTOR,
            {
                "office_email": "val@lund.test",
                "office_phone": "046-35 50 00",
                "offer_answer_days": "7",
                "retention_months": "12",
                "applications_open": "1",
            },
        )
        assignment = await assign_person(
            db,
            ACTOR,
            s["early"].id,
            s["roles"]["clerk"].id,
            person.id,  # type: ignore[attr-defined]
        )
        await offers.send_offers(db, ACTOR, tenant, [assignment.id], "http://localhost")
    return assignment


async def test_a_planner_changes_a_shifts_time_and_a_clash_is_refused_by_name(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    other = await make_staffed_station(db, tenant, s["election"], name="Biblioteket")
    person = await make_clerk(db, tenant, s["election"], first_name="Ebba", last_name="Ek")
    with tenant_scope(tenant.id):
        await assign_person(db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id)
    await login(client, planner)
    station = f"/lund/planning/elections/{s['election'].id}/stations/{s['station'].id}"
    page = await (await client.get(station)).get_data(as_text=True)
    assert f'action="{station}/shifts/{s["early"].id}"' in page
    day = str(s["early"].day)
    moved = await post_form(
        client,
        f"{station}/shifts/{s['early'].id}",
        {"name": "Förmiddag", "day": day, "starts_at": "07:00", "ends_at": "13:00"},
    )
    assert moved.status_code == 302
    with tenant_scope(tenant.id):  # 13:30–22:00 elsewhere, after the morning now
        await assign_person(db, ACTOR, other["late"].id, s["roles"]["clerk"].id, person.id)
    clash = await post_form(
        client,
        f"{station}/shifts/{s['early'].id}",
        {"name": "Förmiddag", "day": day, "starts_at": "07:00", "ends_at": "16:00"},
    )
    body = await clash.get_data(as_text=True)
    assert clash.status_code == 422
    assert "Ebba Ek" in body and "Biblioteket" in body and "Arbetar redan" in body
    with tenant_scope(tenant.id):
        shift = await db.scalar(
            select(Shift)
            .where(Shift.name == "Förmiddag", Shift.station_id == s["station"].id)
            .execution_options(populate_existing=True)
        )
    assert shift is not None and shift.ends_at.strftime("%H:%M") == "13:00"


async def test_taking_a_person_off_asks_first_without_script_and_tells_them(
    client: QuartClient,
    db: AsyncSession,
    tenant: Tenant,
    planner: User,
    outsider: User,
    owner_db: AsyncSession,
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"], first_name="Tilde", mobile="0701234567")
    assignment = await _offered(db, tenant, s, person)
    url = (
        f"/lund/planning/elections/{s['election'].id}/staffing/assignments/{assignment.id}/withdraw"
    )
    await login(client, planner)
    asked = await (await client.get(url)).get_data(as_text=True)
    assert "Ta bort Tilde" in asked and 'name="confirmed" value="1"' in asked
    assert "mejl och ett sms" in asked
    # A post without the confirmation only asks again.
    unconfirmed = await post_form(client, url)
    assert unconfirmed.status_code == 200
    with tenant_scope(tenant.id):
        assert await db.scalar(select(Assignment.state)) == "offered"
    before = len(list(await owner_db.scalars(select(OutboxMessage))))
    done = await post_form(client, url, {"confirmed": "1"})
    assert done.status_code == 302
    with tenant_scope(tenant.id):
        state = await db.scalar(select(Assignment.state).execution_options(populate_existing=True))
    assert state == "withdrawn"
    told = list(await owner_db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert {m.channel for m in told[before:]} == {"email", "sms"}
    stranger = client.app.test_client()
    await login(stranger, outsider)
    assert (await stranger.get(url)).status_code == 404


async def test_the_board_asks_in_its_panel_and_swaps_the_card_when_confirmed(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"], first_name="Tilde")
    with tenant_scope(tenant.id):
        assignment = await assign_person(
            db, ACTOR, s["early"].id, s["roles"]["clerk"].id, person.id
        )
    await login(client, planner)
    board = await (
        await client.get(f"/lund/planning/elections/{s['election'].id}/staffing")
    ).get_data(as_text=True)
    url = (
        f"/lund/planning/elections/{s['election'].id}/staffing/assignments/{assignment.id}/withdraw"
    )
    assert (
        f'hx-get="{url}"' in board
        and f'<form method="get" class="inline-form" action="{url}"' in board
    )
    panel = await (await client.get(url, headers=HTMX)).get_data(as_text=True)
    assert "<html" not in panel and "bara ett förslag" in panel
    card = await post_form(client, url, {"confirmed": "1"}, headers=HTMX)
    text = await card.get_data(as_text=True)
    assert text.lstrip().startswith('<section class="card station-card')
    assert "Tilde" in text and "har tagits bort från passet" in text and "0/3" in text


async def test_the_offer_page_shows_pay_deadline_and_contact_on_a_phone(
    client: QuartClient, db: AsyncSession, tenant: Tenant, owner_db: AsyncSession
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    await _offered(db, tenant, s, person)
    mail = (
        await owner_db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email"))
    ).one()
    link = mail.body_text.split("http://localhost", 1)[1].split()[0]
    await client.get(link)
    page = (await (await client.get("/lund/offer")).get_data(as_text=True)).replace("\xa0", " ")
    assert "2 400 kr per dag" in page and "Svara senast" in page
    assert "val@lund.test" in page and 'href="tel:046-355000"' in page
    assert await csrf_token(client, "/lund/offer")


async def test_the_portal_shows_an_offers_pay_deadline_and_contact(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    s = await make_staffed_station(db, tenant)
    user = await make_user(db, tenant, "clerk")
    person = await make_clerk(db, tenant, s["election"], preferred_language="da")
    with tenant_scope(tenant.id):
        person.user_id = user.id
        await db.commit()
    await _offered(db, tenant, s, person)
    await login(client, user)
    page = (await (await client.get("/lund/portal/")).get_data(as_text=True)).replace("\xa0", " ")
    assert 'class="details offer-terms"' in page
    assert "2 400 kr per dag" in page and "Svara senast" in page and "val@lund.test" in page
