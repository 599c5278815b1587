"""Every face in the reader's language: role and shift names the office gives per
language, HTMX fragments, dates, and the public site's first visit."""

import datetime as dt
import re

from quart.testing import QuartClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.audit import Actor
from app.core.i18n import local_name, locale_scope, ngettext
from app.core.models import Tenant, User
from app.core.templating import localtime
from app.core.tenancy import tenant_scope
from app.demo.recruitment import PAY_PAGE
from app.domain.models import RoleType, Shift
from app.domain.site import webparts
from tests.factories import login, make_clerk, make_person, make_staffed_station, post_form

HTMX = {"HX-Request": "true"}


async def _choose_language(client: QuartClient, code: str) -> None:
    response = await post_form(client, "/lang", {"lang": code, "next": "/"})
    assert response.status_code == 302


async def test_switching_the_language_returns_to_the_same_address_on_this_site_only(
    client: QuartClient,
) -> None:
    board = "/lund/planning/elections/7/staffing?district=3&show=open"
    back = await post_form(client, "/lang", {"lang": "en", "next": board})
    assert back.status_code == 302 and back.headers["Location"] == board
    for elsewhere in ("https://evil.example/x", "//evil.example/x", "/\\evil.example", "x?y=1"):
        away = await post_form(client, "/lang", {"lang": "da", "next": elsewhere})
        assert away.status_code == 302
        assert away.headers["Location"] == "/", elsewhere


async def test_a_board_fragment_after_an_htmx_change_is_in_the_pages_language(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    person = await make_clerk(db, tenant, s["election"], first_name="Tilde")
    await login(client, planner)
    base = f"/{tenant.slug}/planning/elections/{s['election'].id}/staffing"
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
    assert response.status_code == 200 and "Tilde" in card
    # The state in Swedish, as on the whole page, never the code.
    assert ">föreslagen<" in card
    assert ">proposed<" not in card


async def test_role_and_shift_names_follow_the_readers_language(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    s = await make_staffed_station(db, tenant)
    with tenant_scope(tenant.id):
        clerk = await db.scalar(select(RoleType).where(RoleType.code == "clerk"))
        assert clerk is not None and clerk.name == "Röstmottagare"
        # A new municipality's roles are named in every language from the start.
        assert clerk.names == {"da": "Valgtilforordnet", "en": "Poll clerk"}
    await login(client, planner)
    base = f"/{tenant.slug}/planning/elections/{s['election'].id}"
    # The office names the early shift in English (not in Danish).
    station_url = f"{base}/stations/{s['station'].id}"
    page = await client.get(station_url)
    assert 'name="name_en"' in await page.get_data(as_text=True)
    with tenant_scope(tenant.id):
        early = await db.get(Shift, s["early"].id)
        assert early is not None
        early.names = {"en": "Morning"}
        await db.commit()

    board = await (await client.get(f"{base}/staffing")).get_data(as_text=True)
    assert "Röstmottagare" in board and "Förmiddag" in board and "Poll clerk" not in board
    await _choose_language(client, "en")
    board = await (await client.get(f"{base}/staffing")).get_data(as_text=True)
    assert "Poll clerk" in board and "Morning" in board
    assert "Röstmottagare" not in board and "Förmiddag" not in board
    await _choose_language(client, "da")
    board = await (await client.get(f"{base}/staffing")).get_data(as_text=True)
    # Danish has a role name; the shift has none in Danish, so the municipality's own.
    assert "Valgtilforordnet" in board and "Förmiddag" in board


async def test_the_office_names_a_role_per_language_with_its_own_language_required(
    client: QuartClient, db: AsyncSession, tenant: Tenant, admin: User
) -> None:
    await login(client, admin)
    with tenant_scope(tenant.id):
        host = await db.scalar(select(RoleType).where(RoleType.code == "host"))
        assert host is not None
        host_id = host.id
    page = await (await client.get(f"/{tenant.slug}/planning/roles/")).get_data(as_text=True)
    assert f'id="name-{host_id}-en"' in page and f'id="name-{host_id}-da"' in page
    response = await post_form(
        client,
        f"/{tenant.slug}/planning/roles/{host_id}",
        {"name": "", "name_da": "Vært", "name_en": "Greeter", "pay_amount": "170"},
    )
    assert response.status_code == 422
    assert "Fältet måste fyllas i." in await response.get_data(as_text=True)
    response = await post_form(
        client,
        f"/{tenant.slug}/planning/roles/{host_id}",
        {"name": "Värd", "name_da": "", "name_en": "Greeter", "pay_amount": "170"},
    )
    assert response.status_code == 302
    with tenant_scope(tenant.id):
        host = await db.get(RoleType, host_id, populate_existing=True)
        assert host is not None
        assert (host.name, host.names) == ("Värd", {"en": "Greeter"})
        with locale_scope("da"):
            assert local_name(host.name, host.names) == "Värd"
        with locale_scope("en"):
            assert local_name(host.name, host.names) == "Greeter"


def test_moments_are_written_in_each_languages_own_way_with_a_24_hour_clock() -> None:
    moment = dt.datetime(2026, 12, 7, 0, 15, tzinfo=dt.UTC)
    written = {}
    for code in ("sv", "da", "en"):
        with locale_scope(code):
            written[code] = localtime(moment, "Europe/Stockholm")
    # Not "12/7/26, 1:15 AM": the day first, the month by name, 24 hours.
    assert written == {
        "sv": "7 dec. 2026 01:15",
        "da": "7. dec. 2026 01.15",
        "en": "7 Dec 2026, 01:15",
    }


async def test_the_public_sites_first_visit_follows_the_browsers_language(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    start = f"/{tenant.slug}/"
    page = await client.get(start, headers={"Accept-Language": "da-DK,da;q=0.9,en;q=0.8"})
    assert '<html lang="da"' in await page.get_data(as_text=True)
    page = await client.get(start, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en"' in await page.get_data(as_text=True)
    # A language the municipality does not offer: its own.
    page = await client.get(start, headers={"Accept-Language": "fi-FI,fi;q=0.9"})
    assert '<html lang="sv"' in await page.get_data(as_text=True)
    # A language chosen on the site wins over the browser's afterwards.
    await _choose_language(client, "sv")
    page = await client.get(start, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="sv"' in await page.get_data(as_text=True)


async def test_a_count_with_a_noun_agrees_with_it(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    person = await make_person(db, tenant, status="applicant")
    await login(client, planner)
    response = await post_form(
        client,
        f"/{tenant.slug}/planning/people/bulk",
        {"person_ids": str(person.id), "status": "active"},
        follow_redirects=True,
    )
    body = await response.get_data(as_text=True)
    assert "1 person bytte status." in body and "1 personer" not in body
    # The board's summary: one place is "1 plats", more are "platser".
    s = await make_staffed_station(db, tenant)
    board = await client.get(f"/{tenant.slug}/planning/elections/{s['election'].id}/staffing")
    assert "0 av 7 platser tillsatta" in await board.get_data(as_text=True)
    with locale_scope("sv"):
        assert (
            ngettext(
                "%(filled)s of %(num)s place filled; %(missing)s missing below the minimum.",
                "%(filled)s of %(num)s places filled; %(missing)s missing below the minimum.",
                1,
                filled=0,
                missing=1,
            )
            == "0 av 1 plats tillsatt; 1 saknas under miniminivån."
        )


def test_the_demos_pay_page_says_the_same_in_every_language() -> None:
    def facts(text: str) -> list[str]:
        # The amounts and hours, whatever the thousands separator.
        return re.findall(r"\d+", re.sub(r"(?<=\d)[ .,](?=\d{3})", "", text))

    swedish = sorted(facts(PAY_PAGE["sv"]))
    assert sorted(facts(PAY_PAGE["da"])) == swedish
    assert sorted(facts(PAY_PAGE["en"])) == swedish


async def test_a_page_older_than_the_municipalitys_own_language_says_so(
    client: QuartClient, db: AsyncSession, tenant: Tenant
) -> None:
    actor = Actor.system("test")
    danish = {"Accept-Language": "da"}
    with tenant_scope(tenant.id):
        await webparts.publish(db, actor, "pay", "da", {"title": "Honorar", "body": "2.400 kr."})
    page = await (await client.get(f"/{tenant.slug}/pay", headers=danish)).get_data(as_text=True)
    assert "2.400 kr." in page and "version-notice" not in page
    with tenant_scope(tenant.id):
        await webparts.publish(
            db, actor, "pay", "sv", {"title": "Arvode", "body": "2 400 kr, utbildning 300 kr."}
        )
    page = await (await client.get(f"/{tenant.slug}/pay", headers=danish)).get_data(as_text=True)
    assert "version-notice" in page
    assert "Siden blev opdateret på svensk den" in page and "Læs den på svensk" in page
    # A language never written by the office, shown in its built-in text, says so too.
    english = {"Accept-Language": "en"}
    page = await (await client.get(f"/{tenant.slug}/pay", headers=english)).get_data(as_text=True)
    assert "This page was updated in Swedish on" in page
    # Brought up to date: no notice; the own language's readers never see one.
    with tenant_scope(tenant.id):
        await webparts.publish(
            db, actor, "pay", "da", {"title": "Honorar", "body": "2.400 kr., undervisning 300 kr."}
        )
    page = await (await client.get(f"/{tenant.slug}/pay", headers=danish)).get_data(as_text=True)
    assert "version-notice" not in page
    swedish = {"Accept-Language": "sv"}
    page = await (await client.get(f"/{tenant.slug}/pay", headers=swedish)).get_data(as_text=True)
    assert "version-notice" not in page


async def test_the_office_sees_which_versions_are_older_than_its_own_languages(
    client: QuartClient, db: AsyncSession, tenant: Tenant, planner: User
) -> None:
    actor = Actor.system("test")
    with tenant_scope(tenant.id):
        await webparts.publish(db, actor, "pay", "da", {"title": "Honorar", "body": "2.400 kr."})
        await webparts.publish(db, actor, "pay", "sv", {"title": "Arvode", "body": "2 400 kr."})
    await login(client, planner)
    page = await (await client.get(f"/{tenant.slug}/planning/site/")).get_data(as_text=True)
    # Danish (published before) and English (never written) of the pay page.
    assert page.count("Äldre än svenska") == 2
