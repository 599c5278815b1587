"""The back office's start page: what needs attention now for the election in focus,
each figure right and a link to where it is put right, only what the user may open;
the list of overdue offers it leads to; and its empty states."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.models import Tenant, User, utcnow
from app.core.tenancy import tenant_scope
from app.domain import attention as attention_module
from app.domain.models import Assignment, ContactMessage, StationOpening
from app.domain.ops import incidents as ops_incidents
from app.domain.staffing import assignments
from tests.domain.ops.test_checkins import COORDINATOR, _check_in, ops_day
from tests.factories import (
    csrf_token,
    login,
    make_application,
    make_clerk,
    make_course,
    make_election,
    make_staffed_station,
    post_form,
)


def _figures(page: str) -> dict[str, tuple[int, str]]:
    """Each figure's text: its number and where it links."""
    found = re.findall(
        r'<li class="attention-figure attention-\w+">\s*<a href="([^"]+)">'
        r'<span class="attention-number">([\d\s,.\xa0]+)</span>\s*'
        r'<span class="attention-text">([^<]+)',
        page,
    )
    return {
        text.strip(): (int(re.sub(r"\D", "", number)), href.replace("&amp;", "&"))
        for href, number, text in found
    }


async def _page(client: QuartClient, user: User) -> str:
    await login(client, user)
    await post_form(client, "/lang", {"lang": "en"})
    response = await client.get("/lund/planning/")
    assert response.status_code == 200
    return await response.get_data(as_text=True)


async def test_it_says_to_create_the_election_first_when_there_is_none(
    client: QuartClient, planner: User
) -> None:
    page = await _page(client, planner)
    assert "There is no election yet" in page
    assert 'href="/lund/planning/elections/new"' in page
    assert "Needs attention" not in page and "places open" not in page


async def test_a_coordinator_without_an_election_is_told_the_office_makes_it(
    client: QuartClient, coordinator: User
) -> None:
    page = await _page(client, coordinator)
    assert "The election office has not created an election yet." in page
    assert "/elections/new" not in page


async def test_it_counts_what_staffing_needs_and_links_each_to_its_page(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    election_id = s["election"].id
    late = await make_clerk(db, tenant, s["election"])
    with tenant_scope(tenant.id):
        offered = await assignments.assign_person(
            db, Actor.system("test"), s["early"].id, s["roles"]["clerk"].id, late.id
        )
        offered.state = "offered"
        offered.offered_at = utcnow() - dt.timedelta(days=10)
        offered.answer_by = utcnow() - dt.timedelta(days=1)
        await db.commit()
    await make_application(db, tenant, s["election"])
    with tenant_scope(tenant.id):
        db.add(ContactMessage(name="Eva", email="eva@example.se", subject="Fråga", message="Hej"))
        await db.commit()
    figures = _figures(await _page(client, planner))
    board = f"/lund/planning/elections/{election_id}/staffing"
    # Norms: early a chair 1/1 and clerks 2/3, late a vice chair 0/1 and clerks 1/2; the
    # one clerk offered a place fills one of them.
    assert figures["places open below the minimum"] == (3, f"{board}?show=below_minimum")
    assert figures["places open up to the target"] == (6, f"{board}?show=open")
    assert figures["offer unanswered past its answer-by date"] == (
        1,
        f"{board}/overdue-offers",
    )
    assert figures["station without a room"] == (1, f"/lund/planning/elections/{election_id}/")
    assert figures["chairs and vice chairs without a required course"][0] == 0
    assert figures["application waiting for review"] == (
        1,
        "/lund/planning/applications/?status=new",
    )
    assert figures["unread contact message"] == (1, "/lund/planning/messages/?state=unread")


async def test_it_shows_a_coordinator_only_what_they_may_open(
    client: QuartClient, db: AsyncSession, tenant: Tenant, coordinator: User
) -> None:
    s = await make_staffed_station(db, tenant)
    await make_application(db, tenant, s["election"])
    page = await _page(client, coordinator)
    figures = _figures(page)
    assert "places open below the minimum" in figures  # staffing.view
    assert not any("application" in text for text in figures)
    assert "/applications/" not in page and "/messages/" not in page


async def test_it_shows_election_day_first_with_links_to_the_live_dashboard(
    client: QuartClient,
    db: AsyncSession,
    tenant: Tenant,
    planner: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 08:00 on the day: the station should have opened at 07:30, two clerks have
    not come 30 minutes into their shift, and a high-severity incident is open."""
    day = await ops_day(db, tenant)
    with tenant_scope(tenant.id):
        db.add(
            StationOpening(
                station_id=day.station_id,
                day=day.day,
                opens_at=dt.time(7, 30),
                closes_at=dt.time(20),
            )
        )
        await db.commit()
    await _check_in(db, tenant, day, day.chair_id, "c", now=day.at(7, 25))
    with tenant_scope(tenant.id):
        await ops_incidents.report_incident(
            db, COORDINATOR, day.station_id, category="queue", severity="high",
            text="Lång kö.", now=day.at(7, 50),
        )  # fmt: skip
    clock = day.at(8, 0).astimezone(dt.UTC)
    monkeypatch.setattr(attention_module, "utcnow", lambda: clock)
    page = await _page(client, planner)
    figures = _figures(page)
    live = f"/lund/planning/elections/{day.election_id}/live"
    assert figures["station not open after its opening time"] == (1, f"{live}?state=not_opened")
    assert figures["people not arrived 20 minutes into their shift"] == (2, f"{live}?alerts=1")
    assert figures["open incident"] == (1, live)
    assert "1 of high severity" in page
    assert page.index("Today at the stations") < page.index("Staffing and preparations")
    # The courses are behind them on the day.
    assert not any("course" in text for text in figures)
    # At 07:20 the station is not late yet, and no shift has begun.
    clock = day.at(7, 20).astimezone(dt.UTC)
    figures = _figures(await (await client.get("/lund/planning/")).get_data(as_text=True))
    assert figures["stations not open after their opening time"][0] == 0
    assert figures["people not arrived 20 minutes into their shift"][0] == 0


async def test_it_lists_the_overdue_offers_with_whom_to_call(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    late = await make_clerk(db, tenant, s["election"], mobile="0701234567")
    waiting = await make_clerk(db, tenant, s["election"])
    with tenant_scope(tenant.id):
        for person, answer_by in ((late, -1), (waiting, 2)):
            placed = await assignments.assign_person(
                db, Actor.system("test"), s["early"].id, s["roles"]["clerk"].id, person.id
            )
            placed.state = "offered"
            placed.offered_at = utcnow() - dt.timedelta(days=5)
            placed.answer_by = utcnow() + dt.timedelta(days=answer_by)
        await db.commit()
    await login(client, planner)
    url = f"/lund/planning/elections/{s['election'].id}/staffing/overdue-offers"
    page = await (await client.get(url)).get_data(as_text=True)
    assert f"{late.first_name} {late.last_name}" in page
    assert f"/lund/planning/people/{late.id}" in page and "+46 70 123 45 67" in page
    assert waiting.first_name not in page  # still within its answer-by date
    assert "staffing?q=Hamnskolan" in page


async def test_it_gives_an_outsider_not_found_and_sends_anonymous_to_sign_in(
    client: QuartClient, db: AsyncSession, tenant: Tenant, outsider: User, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    url = f"/lund/planning/elections/{s['election'].id}/staffing/overdue-offers"
    anonymous = await client.get("/lund/planning/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert (await client.get(url)).status_code == 302
    await login(client, outsider)
    assert (await client.get("/lund/planning/")).status_code == 404
    assert (await client.get(url)).status_code == 404
    own = f"/malmo/planning/elections/{s['election'].id}/staffing/overdue-offers"
    assert (await client.get(own)).status_code == 404
    # The outsider's own start page shows nothing of Lund's election.
    page = await (await client.get("/malmo/planning/")).get_data(as_text=True)
    assert "There is no election yet" in page or "Det finns inget val än" in page
    await client.post("/logout", form={"csrf_token": await csrf_token(client, "/malmo/planning/")})
    await login(client, planner)
    missing = f"/lund/planning/elections/{s['election'].id + 99}/staffing/overdue-offers"
    assert (await client.get(missing)).status_code == 404


async def test_it_refuses_a_clerk(client: QuartClient, db: AsyncSession, clerk: User) -> None:
    await login(client, clerk)
    assert (await client.get("/lund/planning/")).status_code == 403


async def test_the_overdue_count_matches_the_list(db: AsyncSession, tenant: Tenant) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"])
    with tenant_scope(tenant.id):
        placed = await assignments.assign_person(
            db, Actor.system("test"), s["early"].id, s["roles"]["clerk"].id, person.id
        )
        placed.state = "offered"
        placed.answer_by = utcnow() - dt.timedelta(hours=1)
        await db.commit()
        figures = await attention_module.staffing_figures(db, s["election"].id)
        listed = await attention_module.overdue_offers(db, s["election"].id)
        state = await db.scalar(select(Assignment.state).where(Assignment.id == placed.id))
    assert figures.offers_overdue == len(listed) == 1 and state == "offered"
    assert listed[0].person.id == person.id and listed[0].station.name == "Hamnskolan"


async def test_after_the_last_election_it_offers_to_roll_it_over(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    held = await make_election(db, tenant, election_day="2020-09-13", advance_start="",
                               advance_end="")  # fmt: skip
    page = await _page(client, planner)
    assert "No election lies ahead" in page
    assert f'href="/lund/planning/elections/{held.id}/rollover"' in page
    assert "places open" not in page  # nothing of a held election needs doing


async def test_the_staffing_figures_are_the_boards_totals(db: AsyncSession, tenant: Tenant) -> None:
    """Summed in the database as the board sums them in Python: two chairs on a place
    for one (the one past the target fills nothing else), and a clerk at the other
    station."""
    from app.domain.staffing.overview import OverviewFilters, staffing_overview

    s = await make_staffed_station(db, tenant)
    other = await make_staffed_station(db, tenant, s["election"], name="Biblioteket")
    places = [(s, "early", "chair"), (s, "early", "chair"), (other, "late", "clerk")]
    people = [await make_clerk(db, tenant, s["election"]) for _place in places]
    with tenant_scope(tenant.id):
        for (station, shift, role), person in zip(places, people, strict=True):
            db.add(
                Assignment(
                    election_id=s["election"].id,
                    station_id=station["station"].id,
                    shift_id=station[shift].id,
                    role_type_id=s["roles"][role].id,
                    person_id=person.id,
                    state="accepted",
                )
            )
        await db.commit()
        figures = await attention_module.staffing_figures(db, s["election"].id)
        board = await staffing_overview(db, s["election"].id, OverviewFilters())
    assert figures.places_missing == board.totals.missing == 12
    assert figures.places_below_minimum == board.totals.below_minimum == 6
    assert figures.stations_below_minimum == board.show_counts["below_minimum"] == 2


async def test_it_counts_the_chairs_and_vice_chairs_without_their_course(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    """A chair and a vice chair count; a clerk without the course is not a lead.
    (Placed before the course was required: a place needs it since.)"""
    s = await make_staffed_station(db, tenant)
    chair, vice, clerk = [await make_clerk(db, tenant, s["election"]) for _n in range(3)]
    with tenant_scope(tenant.id):
        for shift, role, person in (
            (s["early"], "chair", chair),
            (s["late"], "vice_chair", vice),
            (s["early"], "clerk", clerk),
        ):
            await assignments.assign_person(
                db, Actor.system("test"), shift.id, s["roles"][role].id, person.id
            )
        await db.commit()
    await make_course(db, tenant, s["election"], roles=("chair", "vice_chair", "clerk"))
    figures = _figures(await _page(client, planner))
    assert figures["chairs and vice chairs without a required course"] == (
        2,
        f"/lund/planning/elections/{s['election'].id}/courses/reports",
    )
