"""Issue 27, items 1 and 2, in Chromium: with the colour of the audit saved (#e07000,
15 contrast failures on the start page before), every text on the public start page and
application form reaches 4.5:1 (3:1 large) at desktop and phone size; a colour no text
reads on is refused with the nearest one in the field; the focus ring on a link, a button
and the menu's `summary` reaches 3:1 against what is around it."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_recruitment import DESKTOP, PHONE, _new_page, _sign_in_planner

AUDIT_COLOUR = "#e07000"

#: In the page: WCAG's ratio of each visible text against the colours under it (layers
#: composited up to the first opaque one), and of the focused element's two rings.
CONTRAST = """
(() => {
  const parse = (value) => {
    const m = value.match(/rgba?\\(([\\d.]+),\\s*([\\d.]+),\\s*([\\d.]+)(?:,\\s*([\\d.]+))?\\)/);
    return m ? [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]] : [0, 0, 0, 0];
  };
  const over = (top, under) => top.slice(0, 3).map(
    (c, i) => c * top[3] + under[i] * (1 - top[3])).concat([1]);
  const ground = (element) => {
    const layers = [];
    for (let node = element; node; node = node.parentElement) {
      const colour = parse(getComputedStyle(node).backgroundColor);
      if (colour[3] > 0) layers.push(colour);
      if (colour[3] >= 1) break;
    }
    return layers.reverse().reduce((under, top) => over(top, under), [255, 255, 255, 1]);
  };
  const luminance = (rgb) => {
    const [r, g, b] = rgb.slice(0, 3).map((c) => {
      c /= 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    const box = element.getBoundingClientRect();
    const style = getComputedStyle(element);
    if (!node.textContent.trim() || box.width <= 1 || box.height <= 1) continue;
    if (style.visibility !== "visible" || !element.checkVisibility()) continue;
    const under = ground(element);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && +style.fontWeight >= 700);
    texts.push({
      text: node.textContent.trim().slice(0, 40),
      ratio: ratio(over(parse(style.color), under), under),
      needed: large ? 3 : 4.5,
    });
  }
  const focused = document.activeElement;
  const style = getComputedStyle(focused);
  const around = ground(focused.parentElement);
  const outer = parse(style.outlineColor);
  const inner = parse((style.boxShadow.match(/rgba?\\([^)]*\\)/) || ["none"])[0]);
  return {
    texts,
    focus: {
      tag: focused.tagName,
      outline: style.outlineStyle + " " + style.outlineWidth,
      rings: ratio(outer, inner),
      // Technique C40: the ring that contrasts more with what is around the element.
      around: Math.max(ratio(outer, around), inner[3] ? ratio(inner, around) : 1),
    },
  };
})()
"""


async def _measure(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(CONTRAST)
    return result


def _assert_text_reads(result: dict[str, Any], where: str) -> None:
    failing = [text for text in result["texts"] if text["ratio"] < text["needed"] - 0.005]
    assert result["texts"], where
    assert failing == [], f"{where}: {failing}"


def _assert_ring(result: dict[str, Any], tag: str, where: str) -> None:
    focus = result["focus"]
    assert focus["tag"] == tag, (where, focus)
    assert focus["outline"] == "solid 3px", (where, focus)
    assert focus["rings"] >= 9 and focus["around"] >= 3, (where, focus)


async def _save_colour(page: Page, live_server: str) -> None:
    """The office tries mid-grey (refused, the nearest colour offered), then the orange."""
    await _sign_in_planner(page, live_server)
    await page.goto(f"{live_server}/demo/planning/site/settings")
    colour = page.locator("#field-brand_color")
    await colour.fill("#808080")
    await page.get_by_role("button", name="Spara").click()
    await expect(page.locator("#field-brand_color-error")).to_contain_text("4,5:1")
    await expect(page.locator("#field-brand_color-error")).to_contain_text("#868686")
    await expect(colour).to_have_value("#868686")
    await page.screenshot(path=str(ARTIFACTS / "colour-refused.png"))
    await colour.fill(AUDIT_COLOUR)
    await page.get_by_role("button", name="Spara").click()
    await expect(page.locator(".flash-success")).to_be_visible()
    await expect(colour).to_have_value(AUDIT_COLOUR)


async def _tab_to(page: Page, selector: str) -> None:
    """Tab (the keyboard only) until the element is focused."""
    target = page.locator(selector)
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{selector} was not reached by Tab")


async def test_the_audits_colour_reads_everywhere_and_the_focus_ring_shows(
    live_server: str, browser: Browser
) -> None:
    refused: list[str] = []
    office = await _new_page(browser, refused, **DESKTOP)
    await _save_colour(office, live_server)
    await office.context.close()
    assert len(refused) == 1 and "422" in refused[0], refused  # the refusal's answer

    errors: list[str] = []

    desktop = await _new_page(browser, errors, **DESKTOP)
    await desktop.goto(f"{live_server}/demo/")
    _assert_text_reads(await _measure(desktop), "start, desktop")
    await desktop.screenshot(path=str(ARTIFACTS / "colour-start-desktop.png"))
    # A link in the coloured header, the current language (a button) and a body link.
    for selector, tag in (
        ("header .site-nav a >> nth=1", "A"),
        ("header .header-row > .language-switcher button.current", "BUTTON"),
        ("main a >> nth=0", "A"),
    ):
        await _tab_to(desktop, selector)
        _assert_ring(await _measure(desktop), tag, f"desktop {selector}")
        name = selector.split()[0] + "-" + tag.lower()
        await desktop.screenshot(path=str(ARTIFACTS / f"colour-focus-desktop-{name}.png"))
    await desktop.goto(f"{live_server}/demo/apply")
    _assert_text_reads(await _measure(desktop), "application form, desktop")
    await desktop.context.close()

    phone = await _new_page(browser, errors, **PHONE)
    await phone.goto(f"{live_server}/demo/")
    _assert_text_reads(await _measure(phone), "start, phone")
    await _tab_to(phone, "details.site-menu > summary")
    _assert_ring(await _measure(phone), "SUMMARY", "phone menu")
    await phone.screenshot(path=str(ARTIFACTS / "colour-focus-phone-summary.png"))
    await phone.keyboard.press("Enter")
    await _tab_to(phone, ".site-menu-panel a >> nth=1")
    _assert_ring(await _measure(phone), "A", "phone menu link")
    _assert_text_reads(await _measure(phone), "start with the menu open, phone")
    await phone.screenshot(path=str(ARTIFACTS / "colour-focus-phone-menu.png"))
    await phone.goto(f"{live_server}/demo/apply")
    _assert_text_reads(await _measure(phone), "application form, phone")
    await phone.context.close()
    assert errors == []
