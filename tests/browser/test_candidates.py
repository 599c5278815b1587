"""Candidates kept off, walked as a planner would on the demo municipality: import the
election's candidate list with one clerk of the register on it, check the preview, and
see the clerk blocked on the board with the match and its source."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from app.core.settings import Settings
from app.core.tenancy import ALL_TENANTS
from app.domain.models import Assignment, Election, Person, Station
from tests.browser.conftest import ARTIFACTS, in_the_demo
from tests.browser.test_accessibility import Audit
from tests.browser.test_recruitment import DESKTOP, PHONE, _new_page, _sign_in_planner
from tests.support.candidate_lists import (
    check_candidate_list,
    save_candidate_list,
    write_candidate_list,
)


async def _a_placed_clerk(settings: Settings) -> tuple[int, int, int | None, str, str, str]:
    """A person holding a place in the demo: election, district, name, number, election name."""
    every = {ALL_TENANTS: True}
    async with in_the_demo(settings) as connection:
        row = (
            await connection.execute(
                select(
                    Assignment.election_id,
                    Station.id,
                    Station.district_id,
                    Person.first_name,
                    Person.last_name,
                    Person.national_id,
                )
                .join(Person, Person.id == Assignment.person_id)
                .join(Station, Station.id == Assignment.station_id)
                .where(Person.national_id.is_not(None), Assignment.state == "accepted")
                .order_by(Assignment.id)
                .limit(1)
                .execution_options(**every)
            )
        ).one()
        name = await connection.scalar(
            select(Election.name).where(Election.id == row[0]).execution_options(**every)
        )
    election_id, station_id, district_id, first, last, number = row
    return election_id, station_id, district_id, f"{first} {last}", number, str(name)


async def test_it_imports_a_candidate_list_and_the_board_blocks_the_clerk(
    live_server: str, browser: Browser, settings: Settings, tmp_path: Path
) -> None:
    election_id, station_id, district_id, name, number, _election = await _a_placed_clerk(settings)
    first, _space, last = name.partition(" ")
    path = tmp_path / "kandidater-2029.csv"
    path.write_text(
        "förnamn;efternamn;personnummer;parti;lista\n"
        f"{first};{last};{number};Exempelpartiet;Kommunlistan\n"
        "Okänd;Kandidatsson;19700505-0000;Exempelpartiet;Kommunlistan\n",
        encoding="utf-8",
    )
    errors: list[str] = []
    audit = Audit(live_server)
    page = await _new_page(browser, errors, **DESKTOP)
    await _sign_in_planner(page, live_server)
    await page.goto(f"{live_server}/demo/planning/elections/{election_id}")
    await page.get_by_role("link", name="Kandidater", exact=True).click()
    await expect(page.locator("h1")).to_have_text("Kandidater i valet")
    await page.get_by_label("Fil", exact=True).set_input_files(str(path))
    await page.get_by_role("button", name="Kontrollera filen").click()

    # A number with a wrong check digit: the row is named, nothing is saved.
    await expect(page.locator("#error-summary")).to_contain_text("inget har sparats")
    await page.screenshot(path=str(ARTIFACTS / "candidates-errors.png"), full_page=True)
    await audit.check(page, "desktop")
    write_candidate_list(path, name, number)
    matches = await check_candidate_list(page, live_server, election_id, path, name)
    await expect(matches).to_contain_text("Säker: identitetsnummer")
    await expect(page.locator("body")).not_to_contain_text(number)
    await page.screenshot(path=str(ARTIFACTS / "candidates-preview.png"), full_page=True)
    await audit.check(page, "desktop")
    await save_candidate_list(page)
    await page.screenshot(path=str(ARTIFACTS / "candidates-list.png"), full_page=True)
    await audit.check(page, "desktop")

    # The board marks the clerk where they are placed, with the match and its source.
    query = f"?district={district_id}" if district_id else "?kind=advance"
    await page.goto(f"{live_server}/demo/planning/elections/{election_id}/staffing{query}")
    card = page.locator(f"#station-{station_id}")
    holder = card.locator(".holders li", has_text=name).first
    await expect(holder).to_contain_text("Får inte arbeta här")
    await expect(holder).to_contain_text("kandidater-2029.csv, rad 2")
    await expect(holder).to_contain_text("Exempelpartiet")
    await holder.scroll_into_view_if_needed()
    await page.screenshot(path=str(ARTIFACTS / "candidates-board.png"), full_page=False)
    await audit.check(page, "desktop")

    # The municipality's own exclusion of the same clerk, with its reason.
    await holder.get_by_role("link", name=name).click()
    await page.get_by_role("link", name="Uteslutningar", exact=True).click()
    await page.get_by_label("Skäl").fill("Partiföreträdare i valnämnden")
    await page.get_by_role("button", name="Uteslut", exact=True).click()
    await expect(page.locator(".flash-success")).to_contain_text(f"{name} är utesluten.")
    await expect(page.locator("table")).to_contain_text("Partiföreträdare i valnämnden")
    await page.screenshot(path=str(ARTIFACTS / "candidates-exclusion.png"), full_page=True)
    await audit.check(page, "desktop")

    phone = await _new_page(browser, errors, **PHONE)
    await _sign_in_planner(phone, live_server)
    await phone.goto(f"{live_server}/demo/planning/elections/{election_id}/candidates")
    await phone.screenshot(path=str(ARTIFACTS / "candidates-lists-phone.png"), full_page=True)
    await audit.check(phone, "phone")
    # The person's exclusions page, on a phone too.
    await phone.goto(f"{live_server}/demo/planning/exclusions")
    await audit.check(phone, "phone")
    if audit.found:
        pytest.fail(audit.report(), pytrace=False)
    assert audit.views == 7, audit.views
    assert errors == [], errors
