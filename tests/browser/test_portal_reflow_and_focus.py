"""Issue 27, items 3, 4 (check-in) and 6: the portal's header stays visible with "Sign
out" on a phone once the page is scrolled, and keyboard focus is never under it; a
check-in by keyboard keeps the reader's place and says the answer in a live region
(read from Chromium's accessibility tree); every public and portal page, and the back
office's person and application pages, fit a 320 px wide window (WCAG 1.4.10)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_election_day_live import CLERK_EMAIL, STATION
from tests.browser.test_election_day_live import _sign_in as sign_in
from tests.browser.test_recruitment import PHONE, _new_page

NARROW = {"viewport": {"width": 320, "height": 640}, "is_mobile": True, "has_touch": True}

PUBLIC = [
    "/",
    "/login",
    "/login/link",
    "/login/code",
    "/password/forgot",
    "/demo/",
    "/demo/work",
    "/demo/faq",
    "/demo/pay",
    "/demo/privacy",
    "/demo/apply",
    "/demo/contact",
]
PORTAL = [
    "/demo/portal/",
    "/demo/portal/election-day",
    "/demo/portal/availability",
    "/demo/portal/courses",
    "/demo/portal/team",
    "/demo/portal/profile",
    "/account/security",
]


@pytest.fixture
def demo_command() -> list[str]:
    return ["demo", "--election-day", "today"]


async def _overflow(page: Page, url: str) -> str | None:
    await page.goto(url)
    width = await page.evaluate("document.documentElement.scrollWidth")
    return None if width <= 320 else f"{url} is {width}px wide at 320px"


async def test_every_public_and_portal_page_fits_320_px(live_server: str, browser: Browser) -> None:
    errors: list[str] = []
    wide: list[str] = []
    for locale in ("sv-SE", "da-DK", "en-GB"):
        page = await _new_page(browser, errors, locale=locale, **NARROW)
        for path in PUBLIC:
            wide.append(await _overflow(page, f"{live_server}{path}") or "")
        await page.context.close()

    page = await _new_page(browser, errors, **NARROW)
    await sign_in(page, live_server, CLERK_EMAIL)
    for language in ("svenska", "dansk"):
        await page.goto(f"{live_server}/demo/portal/")
        await page.get_by_role("button", name=language).click()
        await expect(page.locator("html")).to_have_attribute("lang", language[:2])
        for path in PORTAL:
            wide.append(await _overflow(page, f"{live_server}{path}") or "")
    await page.context.close()

    page = await _new_page(browser, errors, **NARROW)
    await sign_in(page, live_server, "planner@demo.stemma.test")
    pages: list[str] = []
    for listing, pattern in (("people", r"/people/\d+$"), ("applications", r"/applications/\d+$")):
        await page.goto(f"{live_server}/demo/planning/{listing}")
        found = await page.eval_on_selector_all(
            "main a[href]",
            "(links, pattern) => links.map((a) => a.getAttribute('href'))"
            ".filter((href) => new RegExp(pattern).test(href))",
            pattern,
        )
        assert found, listing
        pages.append(found[0])
    for path in pages:
        wide.append(await _overflow(page, f"{live_server}{path}") or "")
    await page.screenshot(path=str(ARTIFACTS / "reflow-320-application.png"), full_page=True)
    await page.context.close()
    assert [w for w in wide if w] == []
    assert errors == []


async def _focused_in_the_tree(page: Page) -> dict[str, Any]:
    """The focused node of Chromium's accessibility tree, as a screen reader gets it: its
    role, its live-region setting and the text inside it."""
    cdp = await page.context.new_cdp_session(page)
    nodes = (await cdp.send("Accessibility.getFullAXTree"))["nodes"]
    await cdp.detach()
    by_id = {node["nodeId"]: node for node in nodes}

    def properties(node: dict[str, Any]) -> dict[str, Any]:
        return {p["name"]: p["value"].get("value") for p in node.get("properties", [])}

    def text(node: dict[str, Any]) -> str:
        if node.get("role", {}).get("value") == "StaticText":
            return str(node.get("name", {}).get("value", ""))
        return "".join(text(by_id[child]) for child in node.get("childIds", []) if child in by_id)

    focused = [
        node
        for node in nodes
        if properties(node).get("focused") and node["role"]["value"] != "RootWebArea"
    ]
    assert len(focused) == 1, focused
    node = focused[0]
    return {"role": node["role"]["value"], "live": properties(node).get("live"), "text": text(node)}


async def _tab_to(page: Page, name: str) -> None:
    for _ in range(60):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.textContent.trim()") == name:
            return
    raise AssertionError(f"{name} not reached by Tab")


async def test_a_check_in_by_keyboard_keeps_the_place_and_says_the_answer(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, service_workers="block", **PHONE)
    await sign_in(page, live_server, CLERK_EMAIL)
    # A second tab on the same page, left as it was: its "I have arrived" is refused later.
    stale = await page.context.new_page()
    await stale.goto(f"{live_server}/demo/portal/election-day")
    await page.goto(f"{live_server}/demo/portal/election-day")
    card = page.locator("[data-checkin-card]").filter(has_text=STATION)

    await _tab_to(page, "Jag är på plats")
    await page.keyboard.press("Enter")
    await expect(card.locator(".checkin-confirmed")).to_have_count(1)
    assert await page.evaluate("document.activeElement !== document.body"), "focus fell to the body"
    said = card.locator("[data-checkin-said]")
    await expect(said).to_be_focused()
    focused = await _focused_in_the_tree(page)
    assert focused["role"] == "status" and focused["live"] == "polite", focused
    assert focused["text"].startswith("Kom · Bekräftad"), focused
    # The live region holds the answer (polite), and the next Tab is "I am leaving".
    snapshot = await card.aria_snapshot()
    assert "- status: " in snapshot and "Bekräftad" in snapshot, snapshot
    await page.screenshot(path=str(ARTIFACTS / "checkin-keyboard-confirmed.png"), caret="initial")
    await page.keyboard.press("Tab")
    await expect(card.get_by_role("button", name="Jag går nu")).to_be_focused()

    # The stale tab still offers "I have arrived": the server refuses it, the reason is an
    # alert and the focus is back on the button, not on the page's body.
    stale_card = stale.locator("[data-checkin-card]").filter(has_text=STATION)
    await _tab_to(stale, "Jag är på plats")
    await stale.keyboard.press("Enter")
    alert = stale_card.locator("[data-checkin-alert]")
    await expect(alert).to_contain_text("redan")
    await expect(stale_card.get_by_role("button", name="Jag är på plats")).to_be_focused()
    assert (await _focused_in_the_tree(stale))["role"] == "button"
    assert "- alert: " in await stale_card.aria_snapshot()

    # Offline: the check-in is queued, the focus is on the line that says so.
    await page.context.set_offline(True)
    await card.get_by_role("button", name="Jag går nu").focus()
    await page.keyboard.press("Enter")
    await expect(said).to_contain_text("Väntar")
    await expect(said).to_be_focused()
    await page.context.set_offline(False)
    await expect(card.locator(".checkin-confirmed")).to_have_count(2)
    await expect(said).to_contain_text("Bekräftad")
    await expect(said).to_be_focused()
    assert [e for e in errors if "ERR_INTERNET_DISCONNECTED" not in e] == []
    await page.context.close()


async def test_the_portal_header_shows_sign_out_after_scrolling_on_a_phone(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    for window in (PHONE, NARROW):
        page = await _new_page(browser, errors, **window)
        await sign_in(page, live_server, CLERK_EMAIL)
        await page.goto(f"{live_server}/demo/portal/election-day")
        await page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
        assert await page.evaluate("window.scrollY") > 300
        sign_out = page.locator(".portal-header").get_by_role("button", name="Logga ut")
        box = await sign_out.bounding_box()
        assert box is not None and box["y"] >= 0, box
        # Nothing lies over it: the topmost element at its middle is the button itself.
        on_top = await sign_out.evaluate(
            "(b) => { const r = b.getBoundingClientRect();"
            " return b.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)); }"
        )
        assert on_top, "the sign-out button is covered"
        await page.screenshot(
            path=str(ARTIFACTS / f"portal-header-scrolled-{window['viewport']['width']}.png")
        )
        # Backwards by keyboard from the end: no focused element is under the header.
        header = await page.locator(".portal-header").bounding_box()
        assert header is not None
        for _ in range(25):
            await page.keyboard.press("Shift+Tab")
            where = await page.evaluate(
                "async () => { await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));"
                " const e = document.activeElement; const r = e.getBoundingClientRect();"
                " return { top: r.top, inHeader: Boolean(e.closest('.portal-header')),"
                " name: e.textContent.trim().slice(0, 40) }; }"
            )
            if where["inHeader"]:
                break
            assert where["top"] >= header["y"] + header["height"] - 1, (where, header)
        await page.context.close()
    assert errors == []
