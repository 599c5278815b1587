"""The everyday path of issue 20, walked on the demo in Swedish and again in English:
an applicant applies on a phone; the planner approves, books the course, places the
person by name from the staffing board and edits the shift's time; the offer shows pay
and an answer deadline; the new clerk accepts in the portal; on election day (made by
`stemma demo --election-day today` at the hour the test runs) they check in.

On the way it fails on any answer of 500 or more, any console error, and any string
left untranslated: in the Swedish walk no visible text (or placeholder, label for
screen readers, title) may be an English msgid whose Swedish translation differs, in
the English walk none a Swedish translation whose msgid differs (both read from the
catalogues), nor the Swedish name of a role or shift (data the office names per
language).

One server and one demo for both walks. Each walk is whole: it applies, books a course
session ahead of the election, and only then moves the election to today; before the
second walk the same command moves it back (courses and availability go with it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner
from playwright.async_api import Browser, BrowserContext, Page, Response, expect
from stdnum import luhn

from app.cli import main as stemma
from app.core.settings import Settings
from tests.browser.conftest import ARTIFACTS, _environment, choose_in_swapping_filter
from tests.browser.test_recruitment import PHONE, _text_of

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
DEMO_PASSWORD = "stemma-demo-2026"
PLANNER = "planner@demo.stemma.test"
ELECTION = "Val till Europaparlamentet 2029"
ELECTION_DAY = "2029-06-10"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}

#: Proper names and words the same in both languages that a catalogue also holds.
ALLOWED = {"Stemma", "svenska", "dansk", "English", "Demo kommun"}
#: People's names that hold a Swedish word (the demo clerk is called Röstmottagare).
PEOPLE = ("Robin Röstmottagare", "Röstmottagare, Robin")
#: The demo's role and shift names in Swedish: data, named by the office per language
#: (issue 20 item 7); an English page shows the English names.
SWEDISH_DATA = ("Röstmottagare", "Ordförande", "Förmiddag", "Eftermiddag", "Rösträkning")

#: Visible text of the page: text nodes of rendered elements (an option of a rendered
#: select), and the placeholder, screen-reader label and title of rendered elements.
VISIBLE_TEXT = """
() => {
  const shown = (el) => !!el && (el.checkVisibility ? el.checkVisibility() : true);
  const squeeze = (text) => (text || '').replace(/\\s+/g, ' ').trim();
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('script, style, template, noscript')) continue;
    const text = squeeze(node.textContent);
    if (text && shown(el.tagName === 'OPTION' ? el.closest('select') : el)) found.push(text);
  }
  for (const el of document.body.querySelectorAll('[placeholder], [aria-label], [title]')) {
    if (!shown(el)) continue;
    for (const name of ['placeholder', 'aria-label', 'title']) {
      const value = squeeze(el.getAttribute(name));
      if (value) found.push(value);
    }
  }
  found.push(squeeze(document.title));
  return found;
}
"""


@dataclass(frozen=True)
class Leaks:
    """What must not show in one language: whole strings, and patterns for messages
    with placeholders (at least a few words of their own)."""

    exact: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]
    words: tuple[str, ...] = ()

    def found_in(self, texts: list[str]) -> list[str]:
        return [text for text in texts if text not in ALLOWED and self._leaks(text)]

    def _leaks(self, text: str) -> bool:
        if text in self.exact or text.rstrip(":").strip() in self.exact:
            return True
        if any(pattern.fullmatch(text) for pattern in self.patterns):
            return True
        for person in PEOPLE:
            text = text.replace(person, "")
        return any(re.search(rf"\b{word}\b", text) for word in self.words)


def _pairs(locale: str) -> list[tuple[str, str]]:
    """(English msgid, translation) of every translated message, plural forms too."""
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    pairs = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        pairs += [(str(ids[min(i, len(ids) - 1)]), str(s)) for i, s in enumerate(strings) if s]
    return pairs


def _pattern(message: str) -> re.Pattern[str] | None:
    """A message with placeholders as a pattern, when its own words are enough to tell
    (at least eight letters outside the placeholders)."""
    parts = re.split(r"%\(\w+\)[sd]|%[sd]", message)
    if len(parts) == 1 or sum(c.isalpha() for c in "".join(parts)) < 8:
        return None
    return re.compile(".+?".join(re.escape(" ".join(part.split())) for part in parts))


def leaks_for(locale: str) -> Leaks:
    """What would be untranslated on a page in ``locale`` (sv or en): the other
    language's text of every message whose translation differs, unless that text is
    also a message of this language (a word both languages write alike)."""
    every = _pairs("sv")
    own = {" ".join((swedish if locale == "sv" else english).split()) for english, swedish in every}
    pairs = [(english, swedish) for english, swedish in every if english != swedish]
    other = [english if locale == "sv" else swedish for english, swedish in pairs]
    plain = {" ".join(t.split()) for t in other if "%" not in t} - own
    patterns = tuple(p for t in other if "%" in t if (p := _pattern(t)) is not None)
    return Leaks(frozenset(plain), patterns, SWEDISH_DATA if locale == "en" else ())


@dataclass
class Trouble:
    """Everything that went wrong on the way, reported together at the end of a walk."""

    server_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)
    #: Each untranslated text is told once, where it first showed.
    seen: set[str] = field(default_factory=set)

    def watch(self, page: Page) -> Page:
        def answered(response: Response) -> None:
            if response.status >= 500:
                self.server_errors.append(f"{response.status} {response.url}")

        def logged(message: Any) -> None:
            if message.type == "error":
                self.console_errors.append(f"{page.url}: {message.text}")

        async def confirm(dialog: Any) -> None:
            await dialog.accept()  # "Send the offers?": yes

        page.on("response", answered)
        page.on("console", logged)
        page.on("dialog", confirm)
        page.on("pageerror", lambda error: self.console_errors.append(f"{page.url}: {error}"))
        return page

    def assert_none(self) -> None:
        assert not self.server_errors, self.server_errors
        assert not self.console_errors, self.console_errors
        assert not self.untranslated, "\n".join(self.untranslated)

    def __str__(self) -> str:
        return "\n".join([*self.server_errors, *self.console_errors, *self.untranslated])


@dataclass
class Walk:
    """One walk of the path in one language."""

    lang: str
    base: str
    settings: Settings
    trouble: Trouble
    leaks: Leaks
    first_name: str
    last_name: str
    email: str
    national_id: str
    district: str
    station: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    async def check(self, page: Page, step: str) -> None:
        """The page's visible text in this walk's language (after HTMX has settled)."""
        await expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)
        texts = await page.evaluate(VISIBLE_TEXT)
        for text in self.leaks.found_in(texts):
            if text not in self.trouble.seen:
                self.trouble.seen.add(text)
                self.trouble.untranslated.append(f"{self.lang} {step} {page.url}: {text!r}")

    async def shot(self, page: Page, step: str) -> None:
        await page.screenshot(
            path=str(ARTIFACTS / f"everyday-{self.lang}-{step}.png"), full_page=True
        )


def _personnummer(serial: int) -> str:
    digits = f"900315{serial:03d}"
    return f"19{digits[:6]}-{digits[6:]}{luhn.calc_check_digit(digits)}"


async def _new_page(browser: Browser, trouble: Trouble, **options: Any) -> Page:
    context: BrowserContext = await browser.new_context(**options)
    return trouble.watch(await context.new_page())


async def _speak(walk: Walk, page: Page) -> None:
    """Choose the walk's language with the page's language switcher, unless it is the
    page's language (on a phone the public site keeps it in the menu)."""
    if await page.locator(f"html[lang={walk.lang}]").count():
        return
    button = page.locator(f"form.language-switcher button[value={walk.lang}]:visible")
    if not await button.count():
        await page.locator("details.site-menu > summary").click()
    await button.first.click()
    await expect(page.locator(f"html[lang={walk.lang}]")).to_have_count(1)


async def _run_demo(settings: Settings, *options: str) -> str:
    """`stemma demo` with options, in this process against the server's database (in a
    thread: the command runs its own event loop)."""

    def run() -> str:
        ran = CliRunner().invoke(
            stemma, ["demo", *options], env=_environment(settings), catch_exceptions=False
        )
        assert ran.exit_code == 0, ran.output
        return ran.output

    return await asyncio.to_thread(run)


async def _mailed_link(walk: Walk, pattern: str, within: float = 20) -> str:
    """The first link matching ``pattern`` in a mail to the walk's applicant."""
    outbox = walk.settings.data_dir / "outbox" / "mail"
    deadline = time.monotonic() + within
    while True:
        for path in sorted(outbox.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if isinstance(message, EmailMessage) and walk.email in str(message["To"]):
                found = re.findall(pattern, _text_of(message))
                if found:
                    return str(found[0])
        assert time.monotonic() < deadline, f"no mail to {walk.email} with {pattern}"
        await asyncio.sleep(0.2)


# --- the steps ------------------------------------------------------------------------------


async def apply_on_a_phone(walk: Walk, phone: Page) -> None:
    await phone.goto(f"{walk.base}/demo/")
    await _speak(walk, phone)
    await walk.check(phone, "start")
    await phone.locator('a[href="/demo/apply"]:visible').first.click()
    await expect(phone).to_have_url(f"{walk.base}/demo/apply")
    await walk.check(phone, "apply")
    await phone.locator("#field-first_name").fill(walk.first_name)
    await phone.locator("#field-last_name").fill(walk.last_name)
    await phone.locator("#field-national_id").fill(walk.national_id)
    await phone.locator("#field-email").fill(walk.email)
    await phone.locator("#field-mobile").fill("+46701234567")
    election = phone.locator("fieldset.election-choice").filter(has_text=ELECTION)
    await election.locator("input[name^=kinds_][value=election_day]").check()
    await election.locator(f'input[name^=days_][value="{ELECTION_DAY}"]').check()
    await phone.locator("#field-consent").check()
    await walk.shot(phone, "1-apply-phone")
    await phone.locator("form.application-form button[type=submit]").click()
    await expect(phone).to_have_url(f"{walk.base}/demo/apply/sent")
    await walk.check(phone, "apply-sent")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the sent page is {width}px wide on a 390px phone"


async def sign_in_planner(walk: Walk, planner: Page) -> None:
    await planner.goto(f"{walk.base}/login")
    await planner.locator("input[name=email]").fill(PLANNER)
    await planner.locator("input[name=password]").fill(DEMO_PASSWORD)
    await planner.locator("main form button[type=submit]").click()
    await expect(planner).to_have_url(f"{walk.base}/demo/planning/")
    await _speak(walk, planner)
    await walk.check(planner, "planning-home")


async def approve(walk: Walk, planner: Page) -> None:
    await planner.goto(f"{walk.base}/demo/planning/applications/?q={walk.last_name}")
    await walk.check(planner, "applications")
    await planner.locator("#application-results tbody tr a").first.click()
    await expect(planner.locator("h1")).to_have_text(walk.name)
    await walk.check(planner, "application")
    await planner.locator('form[action$="/applications/approve"] button[type=submit]').click()
    await expect(planner.locator(".flash-success").first).to_contain_text(walk.name)
    await walk.check(planner, "approved")
    await walk.shot(planner, "2-approved")


async def book_the_course(walk: Walk, planner: Page) -> None:
    """On the approved application: what keeps the person from a place (the required
    course), and a session with a free seat booked from there (issue 20 item 2)."""
    standing = planner.locator("#standing")
    # The basic course (for clerks) first; the chair course stays unbooked.
    course = standing.locator(".standing-courses > li").first
    await expect(course.locator(":scope > .badge-missing")).to_have_count(1)
    await walk.check(planner, "standing")
    await course.locator("form button[type=submit]").first.click()
    await expect(planner.locator(".flash-success").first).to_be_visible()
    await expect(course.locator(":scope > .badge-missing")).to_have_count(0)
    await walk.check(planner, "course-booked")
    await walk.shot(planner, "2-booked")


async def place_by_name(walk: Walk, planner: Page) -> None:
    """From the staffing board: the district's station, its first shift's clerk place,
    the person found by name in the place panel and assigned."""
    await planner.goto(f"{walk.base}/demo/planning/elections/")
    await planner.get_by_role("link", name=ELECTION).first.click()
    election_url = planner.url
    await planner.goto(f"{election_url.rstrip('/')}/staffing")
    await walk.check(planner, "board")
    await choose_in_swapping_filter(planner, "#field-district", label=walk.district)
    card = planner.locator("section.station-card").filter(
        has=planner.get_by_role("heading", name=walk.station, exact=True)
    )
    await expect(card).to_have_count(1)
    # The cells go by the roles' order: chair, vice chair, clerk.
    await card.locator("tbody tr").first.locator(".cell").nth(2).locator("a").first.click()
    search = card.locator(".place input[type=search]")
    await expect(search).to_be_visible()
    await walk.check(planner, "place-panel")
    await search.fill(walk.last_name)
    candidate = card.locator(".candidates li").filter(has_text=walk.name)
    await expect(candidate).to_have_count(1, timeout=20_000)
    await walk.check(planner, "place-found")
    await candidate.locator("button[type=submit]").click()
    await expect(card.locator(".holders li").filter(has_text=walk.name)).to_have_count(1)
    await walk.check(planner, "placed")
    await walk.shot(planner, "3-placed")


async def edit_the_shift(walk: Walk, planner: Page) -> str:
    """The station's first shift ends half an hour later; returns its new end."""
    # Issue 20 item 4: on the station's page, each shift's times in a disclosure; the
    # people on it stay and are told.
    await planner.goto(f"{walk.base}/demo/planning/elections/")
    await planner.get_by_role("link", name=ELECTION).first.click()
    await planner.get_by_role("link", name=walk.station, exact=True).first.click()
    await walk.check(planner, "station")
    shift = planner.locator("details.edit-shift").first
    await shift.locator("summary").click()
    await walk.check(planner, "station-edit-shift")
    form = shift.locator("form")
    ends = form.locator("input[name=ends_at]")
    old = await ends.input_value()
    new = (
        dt.datetime.combine(dt.date.today(), dt.time.fromisoformat(old)) + dt.timedelta(minutes=30)
    ).strftime("%H:%M")
    await ends.fill(new)
    await form.locator("button[type=submit]").first.click()
    await expect(planner.locator(".flash-success").first).to_be_visible()
    await walk.check(planner, "shift-edited")
    await walk.shot(planner, "4-shift-edited")
    return new


async def send_the_offer(walk: Walk, planner: Page) -> None:
    await planner.goto(f"{walk.base}/demo/planning/elections/")
    await planner.get_by_role("link", name=ELECTION).first.click()
    await planner.goto(f"{planner.url.rstrip('/')}/staffing")
    await choose_in_swapping_filter(planner, "#field-district", label=walk.district)
    await planner.locator('form[action$="/staffing/offers"] button[type=submit]').first.click()
    # What it sends (offers, SMS, their cost) before it sends.
    await expect(planner.locator("#offers-heading")).to_be_visible()
    await walk.check(planner, "offers-confirm")
    await planner.locator('form[action$="/staffing/offers"] button[type=submit]').first.click()
    await expect(planner.locator(".flash-success").first).to_be_visible()
    await walk.check(planner, "offers-sent")


async def accept_in_the_portal(walk: Walk, phone: Page, ends: str) -> None:
    """The invitation mailed at approval: choose a password, sign in, accept the offer,
    which shows the pay and when to answer by."""
    link = await _mailed_link(walk, r"https?://\S+/password/reset\?token=[\w-]+")
    await phone.goto(link)
    await walk.check(phone, "choose-password")
    for box in await phone.locator("input[type=password]").all():
        await box.fill("ett långt lösenord 2029")
    await phone.locator("main form button[type=submit]").click()
    await expect(phone).to_have_url(re.compile(r"/login$"))
    await phone.locator("input[name=email]").fill(walk.email)
    await phone.locator("input[name=password]").fill("ett långt lösenord 2029")
    await phone.locator("main form button[type=submit]").click()
    await expect(phone).to_have_url(f"{walk.base}/demo/portal/")
    await _speak(walk, phone)
    offer = phone.locator(".place-card").filter(has=phone.locator("form.offer-answer"))
    await expect(offer).to_have_count(1)
    await expect(offer).to_contain_text(walk.station)
    await expect(offer).to_contain_text(f"–{ends}")
    # Issue 20 item 5: what the clerk decides by, the pay and the answer deadline.
    terms = offer.locator(".offer-terms")
    await expect(terms).to_contain_text(re.compile(r"2[\s,.]?400"))
    await expect(terms.locator("dd strong")).to_contain_text(re.compile(r"\d"))
    await walk.check(phone, "portal-offer")
    await walk.shot(phone, "5-offer-phone")
    await offer.locator("button[value=accept]").click()
    await expect(phone.locator(".flash-success")).to_be_visible()
    await expect(phone.locator("form.offer-answer")).to_have_count(0)
    await walk.check(phone, "accepted")


async def check_in_on_election_day(walk: Walk, phone: Page) -> None:
    said = await _run_demo(walk.settings, "--election-day", "today")
    assert f"Election day of {ELECTION}" in said, said
    await phone.goto(f"{walk.base}/demo/portal/election-day")
    card = phone.locator("[data-checkin-card]").filter(has_text=walk.station)
    await expect(card).to_have_count(1)
    await walk.check(phone, "election-day")
    await walk.shot(phone, "6-election-day-phone")
    await card.locator(".checkin-arrived").click()
    await expect(card.locator(".checkin-confirmed")).to_have_count(1)
    await expect(card.locator(".checkin-left")).to_be_visible()
    await walk.check(phone, "checked-in")
    await walk.shot(phone, "7-checked-in-phone")


# --- the walk -------------------------------------------------------------------------------


@pytest.fixture
def leaks() -> Iterator[dict[str, Leaks]]:
    yield {locale: leaks_for(locale) for locale in ("sv", "en")}


def test_the_catalogues_tell_an_untranslated_string(leaks: dict[str, Leaks]) -> None:
    """The check itself: an English message on a Swedish page is found, and the other
    way round, while words both languages write alike are not."""
    assert leaks["sv"].found_in(["Save", "Assign anyway", "Stemma", "Spara"]) == [
        "Save",
        "Assign anyway",
    ]
    assert leaks["en"].found_in(["Spara", "Save", "Röstmottagare · Backaskolan"]) == [
        "Spara",
        "Röstmottagare · Backaskolan",
    ]
    assert leaks["sv"].found_in(["Status", "Demo kommun"]) == []
    assert leaks["en"].found_in(["Status", "Take Robin Röstmottagare off this shift"]) == []


async def test_the_everyday_path_in_swedish_and_english(
    live_server: str, browser: Browser, settings: Settings, leaks: dict[str, Leaks]
) -> None:
    walks = [
        ("sv", "Ada", "Vägvisare", 981, "0180-001 Centrum", "Centrumskolan"),
        ("en", "Alan", "Pathfinder", 982, "0180-002 Norra", "Norraskolan"),
    ]
    for index, (lang, first, last, serial, district, station) in enumerate(walks):
        trouble = Trouble()
        walk = Walk(
            lang,
            live_server,
            settings,
            trouble,
            leaks[lang],
            first,
            last,
            f"{first}.{last}@example.se".lower().replace("ä", "a"),
            _personnummer(serial),
            district,
            station,
        )
        if index:
            # The first walk moved the election to today: back to its day, so that its
            # application days and course sessions lie ahead again.
            await _run_demo(settings, "--election-day", ELECTION_DAY)
        try:
            await _walk(walk, browser)
        except AssertionError as failed:
            raise AssertionError(f"{failed}\nOn the way: {trouble}") from failed
        trouble.assert_none()


async def _walk(walk: Walk, browser: Browser) -> None:
    # Each person's browser speaks the walk's language.
    speaks = {"locale": {"sv": "sv-SE", "en": "en-GB"}[walk.lang]}
    phone = await _new_page(browser, walk.trouble, **PHONE, **speaks)
    planner = await _new_page(browser, walk.trouble, **DESKTOP, **speaks)
    await apply_on_a_phone(walk, phone)
    await sign_in_planner(walk, planner)
    await approve(walk, planner)
    await book_the_course(walk, planner)
    await place_by_name(walk, planner)
    ends = await edit_the_shift(walk, planner)
    await send_the_offer(walk, planner)
    clerk = await _new_page(browser, walk.trouble, **PHONE, **speaks)
    await accept_in_the_portal(walk, clerk, ends)
    await check_in_on_election_day(walk, clerk)
    for page in (phone, planner, clerk):
        await page.context.close()
