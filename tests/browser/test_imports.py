"""A re-import in a real browser: the preview says what changes before anything is saved."""

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_registers import _sign_in

#: A made-up person the demo does not hold (born 1931).
FIRST = "förnamn;efternamn;personnummer;mobil;status\nEbba;Testsson;19310101-0001;;aktiv\n"
AGAIN = (
    "personnummer;mobil;status;ort\n"
    "19310101-0001;070-174 06 09;inaktiv;Lund\n"
    "19310101-0001;;;\n"
    ";;vilande;\n"
)
CHANGED = "personnummer;mobil;status;ort\n19310101-0001;070-174 06 09;inaktiv;Lund\n"


async def _upload(page: Page, path: Path) -> None:
    await page.get_by_role("link", name="Import", exact=True).click()
    await page.get_by_label("Personer").check()
    await page.get_by_label("Fil", exact=True).set_input_files(str(path))
    await page.get_by_role("button", name="Kontrollera filen").click()


async def test_a_re_import_shows_what_changes_and_imports_it(
    live_server: str, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors = await _sign_in(page, live_server)
    for name, text in (("first.csv", FIRST), ("again.csv", AGAIN), ("changed.csv", CHANGED)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    await page.get_by_role("link", name="Import", exact=True).click()
    await expect(page.get_by_text("Mall med en exempelrad:")).to_have_count(3)
    await page.screenshot(path=str(ARTIFACTS / "import-upload.png"), full_page=True)
    await _upload(page, tmp_path / "first.csv")
    await page.get_by_role("button", name="Importera").click()
    await expect(page.get_by_text("Importen är klar: 1 ny person.")).to_be_visible()

    # Errors per row, with the allowed values of a fixed-list column.
    await _upload(page, tmp_path / "again.csv")
    await expect(page.get_by_text("Samma som rad 2.")).to_be_visible()
    await expect(page.get_by_text("Skriv något av: Sökande, Aktiv, Inaktiv.")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "import-update-errors.png"), full_page=True)

    await _upload(page, tmp_path / "changed.csv")
    changes = page.locator("table[aria-labelledby=changes]")
    await expect(changes).to_contain_text("Ebba Testsson (19310101-****)")
    await expect(changes).to_contain_text("+46 70 174 06 09")
    await expect(changes).not_to_contain_text("0001")
    await page.screenshot(path=str(ARTIFACTS / "import-update-preview.png"), full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.screenshot(path=str(ARTIFACTS / "import-update-preview-phone.png"), full_page=True)
    await page.get_by_role("button", name="Importera").click()
    await expect(page.get_by_text("Importen är klar: 1 ändrad.")).to_be_visible()
    assert errors == [], errors
