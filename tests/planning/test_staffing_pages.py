"""The staffing board in the back office, and the offer link a clerk opens."""

import datetime as dt
import re

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import OutboxMessage, Tenant, User
from app.core.tenancy import tenant_scope
from app.domain.courses.booking import book_person
from app.domain.courses.qualifications import grant
from app.domain.models import Assignment, DistrictPreference
from app.domain.staffing.assignments import assign_person
from tests.factories import (
    csrf_token,
    letterhead,
    locate_station,
    login,
    make_clerk,
    make_course,
    make_course_session,
    make_staffed_station,
    post_form,
)

HTMX = {"HX-Request": "true"}


async def test_it_shows_the_board_with_what_is_missing(
    client: QuartClient, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await login(client, coordinator)
    page = await client.get(f"/lund/planning/elections/{s['election'].id}/staffing")
    body = await page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Hamnskolan" in body and "status-missing" in body
    assert "0/3" in body and "0/1" in body
    # A coordinator sees the board but cannot change it.
    assert "/staffing/place" not in body


async def test_it_assigns_from_the_place_panel_in_place(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"], first_name="Tilde")
    await login(client, planner)
    base = f"/lund/planning/elections/{s['election'].id}/staffing"
    panel = await client.get(
        f"{base}/place?shift={s['early'].id}&role={s['roles']['clerk'].id}", headers=HTMX
    )
    text = await panel.get_data(as_text=True)
    assert "Tilde" in text and "<html" not in text
    response = await post_form(
        client,
        f"{base}/assign",
        {
            "shift_id": str(s["early"].id),
            "role_type_id": str(s["roles"]["clerk"].id),
            "person_id": str(person.id),
        },
        headers=HTMX,
    )
    card = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert card.lstrip().startswith('<section class="card station-card') and "Tilde" in card
    assert "1/3" in card


def _counters(fragment: str) -> str:
    """The board's counters sent out of band with a station card, as plain words."""
    start = fragment.index('<section class="board-summary" id="board-summary"')
    section = fragment[start : fragment.index("</section>", start)]
    assert 'hx-swap-oob="true"' in section.split(">", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", section.split("<ul", 1)[1]).split())


async def test_the_counters_follow_a_placement_and_a_removal_in_a_card(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"], first_name="Tilde")
    planner.locale = "en"
    await db.commit()
    await login(client, planner)
    base = f"/lund/planning/elections/{s['election'].id}/staffing"
    page = await (await client.get(base)).get_data(as_text=True)
    assert 'id="board-summary"' in page and "hx-swap-oob" not in page
    form = {
        "shift_id": str(s["early"].id),
        "role_type_id": str(s["roles"]["clerk"].id),
        "person_id": str(person.id),
    }
    on_board = {**HTMX, "HX-Current-URL": f"http://localhost{base}"}
    placed = await post_form(client, f"{base}/assign", form, headers=on_board)
    counters = _counters(await placed.get_data(as_text=True))
    assert "1 / 7 places filled" in counters and "1 place proposed" in counters
    assert "6 places open" in counters

    with tenant_scope(tenant.id):
        assignment = await db.scalar(select(Assignment))
    assert assignment is not None
    removed = await post_form(
        client, f"{base}/assignments/{assignment.id}/withdraw", {"confirmed": "1"}, headers=on_board
    )
    assert removed.status_code == 200
    counters = _counters(await removed.get_data(as_text=True))
    assert "0 / 7 places filled" in counters and "0 places proposed" in counters

    # The counters count what the page the change came from counts (its filters).
    elsewhere = {**HTMX, "HX-Current-URL": f"http://localhost{base}?q=Nowhere"}
    placed = await post_form(client, f"{base}/assign", form, headers=elsewhere)
    assert "0 / 0 places filled" in _counters(await placed.get_data(as_text=True))


async def test_the_place_panel_finds_and_ranks_people_of_unknown_distance(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    election = s["election"]
    await locate_station(db, tenant, s["station"].id, postal_code="226 49")
    # Twenty placed people about 10 km away, more than the panel lists.
    for number in range(20):
        placed = await make_clerk(db, tenant, election, first_name=f"Placerad{number}")
        with tenant_scope(tenant.id):
            placed = await db.merge(placed)
            placed.latitude, placed.longitude = 55.79, 13.19 + number * 0.001
            await db.commit()
    # Approved web applicants: no coordinates. One wished the station's district, one
    # lives in its postcode area, one told nothing of where they live.
    wished = await make_clerk(db, tenant, election, first_name="Vera", last_name="Önskar")
    await make_clerk(
        db, tenant, election, first_name="Ulla", last_name="Postnummer", postal_code="226 10"
    )
    unknown = await make_clerk(db, tenant, election, first_name="Nils", last_name="Ingenstans")
    with tenant_scope(tenant.id):
        db.add(DistrictPreference(person_id=wished.id, district_id=s["district"].id))
        await db.commit()
    await login(client, planner)
    await post_form(client, "/lang", {"lang": "sv"})
    base = f"/lund/planning/elections/{election.id}/staffing"
    place = f"shift={s['early'].id}&role={s['roles']['clerk'].id}"

    suggested = await client.get(f"{base}/place?{place}&results=1&q=", headers=HTMX)
    text = await suggested.get_data(as_text=True)
    assert suggested.status_code == 200
    # Ranked by what is known, ahead of the placed people 10 km away: not hidden.
    assert text.index("Vera Önskar") < text.index("Ulla Postnummer") < text.index("Placerad")
    assert "avstånd okänt, har önskat det här valdistriktet" in text
    assert "avstånd okänt, samma postnummerområde" in text
    assert "Ingenstans" not in text  # nothing known: after the 15 nearer ones

    # Anyone can be found by name, whatever their coordinates, and placed.
    found = await client.get(f"{base}/place?{place}&results=1&q=Ingenstans", headers=HTMX)
    text = await found.get_data(as_text=True)
    assert found.status_code == 200
    assert "Nils Ingenstans" in text and "avstånd okänt" in text
    assert f'name="person_id" value="{unknown.id}"' in text
    placed_card = await post_form(
        client,
        f"{base}/assign",
        {
            "shift_id": str(s["early"].id),
            "role_type_id": str(s["roles"]["clerk"].id),
            "person_id": str(unknown.id),
        },
        headers=HTMX,
    )
    assert placed_card.status_code == 200
    assert "Nils Ingenstans" in await placed_card.get_data(as_text=True)


async def test_it_explains_a_conflict_and_offers_an_override_only_for_soft_rules(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    away = await make_clerk(db, tenant, s["election"], kinds=())
    await login(client, planner)
    url = f"/lund/planning/elections/{s['election'].id}/staffing/assign"
    data = {
        "shift_id": str(s["early"].id),
        "role_type_id": str(s["roles"]["clerk"].id),
        "person_id": str(away.id),
    }
    refused = await post_form(client, url, data, headers=HTMX)
    body = await refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert 'role="alert"' in body and 'name="override" value="1"' in body
    accepted = await post_form(client, url, {**data, "override": "1"}, headers=HTMX)
    assert accepted.status_code == 200
    again = await post_form(client, url, {**data, "override": "1"}, headers=HTMX)
    assert again.status_code == 409
    assert 'name="override"' not in await again.get_data(as_text=True)  # a hard rule


async def test_it_sends_offers_and_the_clerk_answers_from_the_link(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User, owner_db: AsyncSession
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    with tenant_scope(tenant.id):
        await assign_person(db, Actor.system("t"), s["early"].id, s["roles"]["clerk"].id, person.id)
    await login(client, planner)
    url = f"/lund/planning/elections/{s['election'].id}/staffing/offers"
    # The first post shows what it will send; nothing is sent yet.
    asked = await post_form(client, url)
    asked_text = " ".join(re.sub(r"<[^>]+>", " ", await asked.get_data(as_text=True)).split())
    assert asked.status_code == 200
    assert "1 erbjudande via e-post" in asked_text, asked_text
    assert (await owner_db.scalars(select(OutboxMessage))).first() is None
    sent = await post_form(client, url, {"confirmed": "1"})
    assert sent.status_code == 302
    mail = (await owner_db.scalars(select(OutboxMessage))).one()
    link = mail.body_text.split("http://localhost", 1)[1].split()[0]
    clerk = client.app.test_client()
    opened = await clerk.get(link)
    assert opened.headers["Location"] == "/lund/offer"
    page = await (await clerk.get("/lund/offer")).get_data(as_text=True)
    assert "Hamnskolan" in page
    token = await csrf_token(clerk, "/lund/offer")
    answer = await clerk.post("/lund/offer", form={"csrf_token": token, "answer": "decline"})
    assert answer.status_code == 200
    with tenant_scope(tenant.id):
        state = await db.scalar(select(Assignment.state))
    assert state == "declined"
    twice = await clerk.post("/lund/offer", form={"csrf_token": token, "answer": "accept"})
    assert twice.status_code == 409


async def test_it_keeps_reserves(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"], first_name="Reserva")
    await login(client, planner)
    url = f"/lund/planning/elections/{s['election'].id}/reserves"
    found = await (await client.get(f"{url}?q=Reserva")).get_data(as_text=True)
    assert "Reserva" in found
    added = await post_form(client, url, {"person_id": str(person.id)})
    assert added.status_code == 302
    again = await post_form(client, url, {"person_id": str(person.id)})
    assert again.status_code == 409
    assert "Reserva" in await (await client.get(url)).get_data(as_text=True)


async def test_it_shows_where_each_holder_stands_on_the_required_course(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    people = [await make_clerk(db, tenant, s["election"]) for _ in range(3)]
    clerk = s["roles"]["clerk"].id
    with tenant_scope(tenant.id):
        for person in people:
            await assign_person(db, Actor.system("t"), s["early"].id, clerk, person.id)
    # The course comes after the staffing: one has it, one is booked, one has nothing.
    course = await make_course(db, tenant, s["election"], name="Grundkurs")
    session_day = s["election"].election_day - dt.timedelta(days=10)
    course_session = await make_course_session(db, tenant, course, day=session_day)
    with tenant_scope(tenant.id):
        await grant(db, Actor.system("t"), people[0].id, course, dt.date.today(), source="manual")
        await book_person(
            db, Actor.system("t"), letterhead(tenant), course_session.id, people[1].id
        )
        await db.commit()
    planner.locale = "en"  # the texts below in English
    await db.commit()
    await login(client, planner)
    base = f"/lund/planning/elections/{s['election'].id}/staffing"

    page = await (await client.get(base)).get_data(as_text=True)
    assert "✓ Course done" in page
    assert "Course booked" in page
    assert "No course" in page
    assert "1 person without the required course" in page
    summary = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert '<span class="badge badge-missing">1</span>' in summary

    untrained = await make_clerk(db, tenant, s["election"], first_name="Otto")
    panel = await client.get(f"{base}/place?shift={s['early'].id}&role={clerk}", headers=HTMX)
    text = await panel.get_data(as_text=True)
    assert "Otto" in text and "No course" in text
    assert "Lacks the required course Grundkurs" in text
    assert untrained.id  # blocked: no assign button for the untrained
    assert f'name="person_id" value="{untrained.id}"' not in text


async def test_the_board_names_where_focus_goes_after_each_change(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    """HTMX swaps a station's card or panel, and focuses what carries ``autofocus``: the
    panel's search, the person just placed, the confirm step's button (only in the
    panel: the page without script keeps the browser's order), the card's heading after
    a removal. What happened is marked ``data-announce`` for the page's live region."""
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"], first_name="Tilde")
    await login(client, planner)
    base = f"/lund/planning/elections/{s['election'].id}/staffing"
    panel = await client.get(
        f"{base}/place?shift={s['early'].id}&role={s['roles']['clerk'].id}", headers=HTMX
    )
    assert re.search(r'<input id="place-q-\d+"[^>]* autofocus', await panel.get_data(as_text=True))
    data = {
        "shift_id": str(s["early"].id),
        "role_type_id": str(s["roles"]["clerk"].id),
        "person_id": str(person.id),
    }
    card = await (await post_form(client, f"{base}/assign", data, headers=HTMX)).get_data(
        as_text=True
    )
    assert re.search(r'<a href="[^"]+" autofocus>Tilde [^<]+</a>', card)
    assert re.search(r"<span [^>]*data-announce>Tilde [^<]+</span>", card)
    assert card.count("autofocus") == 1
    with tenant_scope(tenant.id):
        assignment = await db.scalar(select(Assignment).where(Assignment.person_id == person.id))
    assert assignment is not None
    withdraw = f"{base}/assignments/{assignment.id}/withdraw"
    in_panel = await (await client.get(withdraw, headers=HTMX)).get_data(as_text=True)
    assert re.search(r'<button type="submit" class="[^"]*button-danger[^"]*" autofocus>', in_panel)
    assert "data-cancel-panel" in in_panel
    page = await (await client.get(withdraw)).get_data(as_text=True)
    assert "autofocus" not in page
    removed = await post_form(client, withdraw, {"confirmed": "1"}, headers=HTMX)
    card = await removed.get_data(as_text=True)
    assert re.search(r'<h2 id="station-\d+-name" tabindex="-1" autofocus>', card)
    assert re.search(r"<p [^>]*data-announce>[^<]*Tilde", card)
