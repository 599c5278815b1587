"""A candidate list as the browser walks upload it: one placed clerk of the demo on it
(by identity number) and one stranger (by birth date), checked, then saved."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Locator, Page, expect


def write_candidate_list(path: Path, name: str, number: str) -> None:
    """The file: ``name`` ("first last") with ``number``, and a stranger with none."""
    first, _space, last = name.partition(" ")
    path.write_text(
        "förnamn;efternamn;personnummer;födelsedatum;parti;lista\n"
        f"{first};{last};{number};;Exempelpartiet;Kommunlistan\n"
        "Okänd;Kandidatsson;;1970-05-05;Exempelpartiet;Kommunlistan\n",
        encoding="utf-8",
    )


async def check_candidate_list(
    page: Page, base: str, election_id: int, path: Path, name: str
) -> Locator:
    """Upload the file on the election's candidates page and check it: the preview's
    matches, which name the placed clerk."""
    await page.goto(f"{base}/demo/planning/elections/{election_id}/candidates")
    await page.get_by_label("Fil", exact=True).set_input_files(str(path))
    await page.get_by_role("button", name="Kontrollera filen").click()
    matches = page.locator("table[aria-labelledby=matches]")
    await expect(matches).to_contain_text(name)
    return matches


async def save_candidate_list(page: Page) -> None:
    """Save the checked list: both rows."""
    await page.get_by_role("button", name="Spara kandidaterna").click()
    await expect(page.locator(".flash-success")).to_contain_text("Kandidaterna är sparade: 2")
