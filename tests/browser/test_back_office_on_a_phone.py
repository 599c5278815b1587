"""Every back-office page with a table, on a phone: the page is no wider than the phone
(a wide table scrolls inside its own wrapper, nothing in it widens the page)."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.browser.test_recruitment import DEMO_PASSWORD, PHONE, _new_page

#: Downloads, pages that change something, and pages drawn by other tests' rules.
SKIPPED = re.compile(
    r"\.(csv|xlsx|pdf|ics|json)\b|/export|/logout|/erase|/withdraw|/cancel|/download"
    r"|template-|/poster|/sw\.js|/preview|/history"
)
#: Pages of one kind looked at (two people, two stations, ...): enough to meet each
#: kind's tables, few enough for a test.
PER_KIND = 2
MOST_PAGES = 150

MEASURE = """() => {
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const right = el.getBoundingClientRect().right;
    if (right > window.innerWidth + 1) wide.push(`${el.tagName}.${el.className} ${Math.round(right)}`);
  }
  return {
    width: document.documentElement.scrollWidth,
    tables: document.querySelectorAll('table').length,
    wide: wide.slice(-3),
  };
}"""


async def test_no_back_office_table_page_is_wider_than_a_phone(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    page = await _new_page(browser, errors, **PHONE)
    await page.goto(f"{live_server}/login")
    await page.get_by_label("E-post").fill("admin@demo.stemma.test")
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    back_office = f"{live_server}/demo/planning/"
    await expect(page).to_have_url(back_office)

    queue = [back_office]
    seen: set[str] = set()
    kinds: dict[str, int] = {}
    measured, too_wide = 0, []
    while queue and len(seen) < MOST_PAGES:
        url = queue.pop(0)
        seen.add(url)
        response = await page.goto(url)
        assert response is not None and response.status < 400, url
        found = await page.evaluate(MEASURE)
        if found["tables"]:
            measured += 1
            if found["width"] > 390:
                too_wide.append((url.removeprefix(live_server), found["width"], found["wide"]))
        for href in await page.eval_on_selector_all(
            # Not the links of a public page's text shown for editing (.prose): they
            # are written for the public site.
            "a[href]",
            "links => links.filter(link => !link.closest('.prose'))"
            ".map(link => link.href.split('#')[0])",
        ):
            if not href.startswith(back_office) or SKIPPED.search(href) or href in seen:
                continue
            kind = re.sub(r"\d+", "N", href.split("?")[0])
            if href not in queue and kinds.get(kind, 0) < PER_KIND:
                kinds[kind] = kinds.get(kind, 0) + 1
                queue.append(href)
    assert measured >= 20, measured  # the walk met the back office's tables
    assert not too_wide, too_wide
    assert not errors, errors
