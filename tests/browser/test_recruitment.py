"""The issue "Public site and recruitment" walked as new users would, on the demo municipality:
a planner publishes a page, an applicant on a phone reads it and applies, gets the
confirmation email and opens their own data, and the planner approves the application
into the register. And the contact form, from a phone to the planner's inbox."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import time
from email.message import EmailMessage
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Page, expect
from stdnum import luhn
from stdnum.se import personnummer

from app.core.settings import Settings
from tests.browser.conftest import ARTIFACTS

DEMO_PASSWORD = "stemma-demo-2026"
ELECTION = "Val till Europaparlamentet 2029"
ELECTION_DAY = "2029-06-10"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def _watch(page: Page, errors: list[str]) -> Page:
    """Collect the page's console errors (script errors, CSP violations) into ``errors``."""
    page.on(
        "console",
        lambda message: (
            errors.append(f"{page.url}: {message.text}") if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    return page


async def _new_page(browser: Browser, errors: list[str], **options: object) -> Page:
    context: BrowserContext = await browser.new_context(**options)  # type: ignore[arg-type]
    return _watch(await context.new_page(), errors)


async def _sign_in_planner(page: Page, live_server: str) -> None:
    await page.goto(f"{live_server}/login")
    await page.get_by_label("E-post").fill("planner@demo.stemma.test")
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    await expect(page).to_have_url(f"{live_server}/demo/planning/")


def _personnummer_born_1990() -> str:
    digits = "900315" + "987"
    number = f"19{digits[:6]}-{digits[6:]}{luhn.calc_check_digit(digits)}"
    assert personnummer.is_valid(number), number
    return number


async def _wait_for_email(directory: Path, recipient: str, within: float = 10) -> EmailMessage:
    deadline = time.monotonic() + within
    while True:
        for path in sorted(directory.glob("*.eml")) if directory.exists() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            if recipient in str(message["To"]):
                return message
        if time.monotonic() > deadline:
            present = sorted(p.name for p in directory.glob("*")) if directory.exists() else []
            raise AssertionError(f"no email to {recipient} in {directory}: {present}")
        await asyncio.sleep(0.2)


def _text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    assert body is not None
    content = body.get_content()
    assert isinstance(content, str)
    return content


async def _assert_fits_phone(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide on a 390px phone"


async def test_it_walks_from_a_published_page_to_an_approved_applicant(
    live_server: str, browser: Browser, settings: Settings
) -> None:
    errors: list[str] = []
    sentence = f"Provsträngen {int(time.time())}: vi bjuder på fika i varje vallokal."
    last_name = "Playwrightsson"
    applicant_email = "ada.playwrightsson@example.se"

    # 1. The planner rewrites and publishes the Swedish "work" page.
    planner = await _new_page(browser, errors, **DESKTOP)
    await _sign_in_planner(planner, live_server)
    await planner.goto(f"{live_server}/demo/planning/site/work/sv")
    body = planner.locator("#field-body")
    await expect(body).to_be_visible()
    original = await body.input_value()
    await body.fill(f"{sentence}\n\n{original}")
    await planner.locator("button[name=action][value=publish]").click()
    await expect(planner.locator(".flash-success")).to_be_visible()
    await expect(planner.locator("#field-body")).to_have_value(re.compile(re.escape(sentence)))
    await expect(planner.locator(".preview")).to_contain_text(sentence)
    await planner.screenshot(path=str(ARTIFACTS / "recruitment-site-editor.png"), full_page=True)

    # 2. An applicant on a phone finds the page through the site's menu.
    phone = await _new_page(browser, errors, **PHONE)
    await phone.goto(f"{live_server}/demo/")
    await expect(phone.locator("h1")).to_be_visible()
    await _assert_fits_phone(phone)
    await phone.screenshot(path=str(ARTIFACTS / "recruitment-start-phone.png"), full_page=True)
    # On a phone the pages are behind the header's menu button.
    await phone.locator("details.site-menu summary").click()
    await phone.locator('.site-menu-panel a[href="/demo/work"]').click()
    await expect(phone).to_have_url(f"{live_server}/demo/work")
    await expect(phone.locator("article")).to_contain_text(sentence)
    await expect(phone.locator('.site-menu-panel a[href="/demo/work"]')).to_have_attribute(
        "aria-current", "page"
    )
    await _assert_fits_phone(phone)
    await phone.screenshot(path=str(ARTIFACTS / "recruitment-work-phone.png"), full_page=True)

    # 3. The application form: first empty, then filled in.
    await phone.goto(f"{live_server}/demo/apply")
    form = phone.locator("form.application-form")
    await form.locator("button[type=submit]").click()
    summary = phone.locator("#error-summary")
    await expect(summary).to_be_visible()
    await expect(summary).to_have_attribute("role", "alert")
    for field in ("first_name", "last_name", "national_id", "email", "mobile", "consent"):
        await expect(summary.locator(f'a[href="#field-{field}"]')).to_have_count(1)
    # The summary is the first thing in the form, and its links lead to the fields.
    summary_top = await summary.evaluate("element => element.getBoundingClientRect().top")
    first_name_top = await phone.locator("#field-first_name").evaluate(
        "element => element.getBoundingClientRect().top"
    )
    assert summary_top < first_name_top
    await expect(summary).to_be_focused()
    await expect(phone.locator("#field-first_name")).to_have_attribute("aria-invalid", "true")
    # Whether this state fits the phone: test_the_application_form_with_errors_fits_a_phone.
    await phone.screenshot(
        path=str(ARTIFACTS / "recruitment-apply-errors-phone.png"), full_page=True
    )
    await summary.locator('a[href="#field-national_id"]').click()
    await expect(phone).to_have_url(re.compile(r"#field-national_id$"))

    await phone.locator("#field-first_name").fill("Ada")
    await phone.locator("#field-last_name").fill(last_name)
    await phone.locator("#field-national_id").fill(_personnummer_born_1990())
    await phone.locator("#field-email").fill(applicant_email)
    await phone.locator("#field-mobile").fill("+46701234567")
    election = phone.locator("fieldset.election-choice").filter(has_text=ELECTION)
    await expect(election).to_have_count(1)
    await election.locator("input[name^=kinds_][value=election_day]").check()
    await election.locator(f'input[name^=days_][value="{ELECTION_DAY}"]').check()
    await phone.locator("#field-consent").check()
    await phone.locator("form.application-form button[type=submit]").click()
    await expect(phone).to_have_url(f"{live_server}/demo/apply/sent")
    await expect(phone.locator(".card-highlight[role=status] h1")).to_be_visible()
    await _assert_fits_phone(phone)
    await phone.screenshot(path=str(ARTIFACTS / "recruitment-apply-sent-phone.png"), full_page=True)

    # 4. The confirmation email and the applicant's own data.
    message = await _wait_for_email(settings.data_dir / "outbox" / "mail", applicant_email)
    text = _text_of(message)
    links = re.findall(r"https?://\S+/demo/apply/mine\?token=[\w-]+", text)
    assert links, text
    assert links[0].startswith(live_server), links[0]
    await phone.goto(links[0])
    await expect(phone).to_have_url(f"{live_server}/demo/apply/mine")
    assert "token" not in phone.url
    await expect(phone.locator("main")).to_contain_text(f"Ada {last_name}")
    await expect(phone.locator("main")).to_contain_text(ELECTION)
    await _assert_fits_phone(phone)
    await phone.screenshot(
        path=str(ARTIFACTS / "recruitment-my-application-phone.png"), full_page=True
    )

    # 5. The planner finds the application, approves it, and sees the person's availability.
    await planner.goto(f"{live_server}/demo/planning/applications/")
    await planner.locator("#field-q").fill(last_name)
    results = planner.locator("#application-results tbody tr")
    await expect(results).to_have_count(1)
    await expect(results).to_contain_text(f"{last_name}, Ada")
    await planner.screenshot(path=str(ARTIFACTS / "recruitment-inbox.png"), full_page=True)
    await results.get_by_role("link", name=f"{last_name}, Ada").click()
    await expect(planner.locator("h1")).to_have_text(f"Ada {last_name}")
    await expect(planner.locator("main")).to_contain_text(ELECTION)
    await planner.locator('form[action$="/applications/approve"] button[type=submit]').click()
    await expect(planner.locator(".flash-success").first).to_contain_text(f"Ada {last_name}")
    await expect(planner.locator('form[action$="/applications/approve"]')).to_have_count(0)
    await planner.screenshot(path=str(ARTIFACTS / "recruitment-application.png"), full_page=True)

    await planner.goto(f"{live_server}/demo/planning/people/?q={last_name}")
    people = planner.locator("#people-results tbody tr")
    await expect(people).to_have_count(1)
    await people.locator("a").first.click()
    await expect(planner.locator("h1")).to_have_text(f"Ada {last_name}")
    availability = planner.locator("section[aria-labelledby=availability-heading]")
    await expect(availability.locator("#availability-heading")).to_be_visible()
    await expect(availability).to_contain_text(ELECTION)
    await expect(availability.locator("li")).to_have_count(1)
    await expect(availability.locator("li")).to_contain_text("2029")
    await expect(availability.locator("li")).to_contain_text(re.compile(r"\b10\b"))
    await planner.screenshot(path=str(ARTIFACTS / "recruitment-person.png"), full_page=True)

    # Chromium reports the empty form's deliberate 422 answer as a console error; only
    # that one is expected.
    errors.remove(
        f"{live_server}/demo/apply: Failed to load resource:"
        " the server responded with a status of 422 ()"
    )
    assert errors == [], errors


async def test_it_takes_a_contact_message_from_a_phone_to_the_planner(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    subject = "Kan jag ta med barnvagn till utbildningen?"

    phone = await _new_page(browser, errors, **PHONE)
    await phone.goto(f"{live_server}/demo/")
    await phone.locator("details.site-menu summary").click()
    await phone.locator('.site-menu-panel a[href="/demo/contact"]').click()
    await expect(phone).to_have_url(f"{live_server}/demo/contact")
    await phone.locator("#field-name").fill("Bo Kontaktsson")
    await phone.locator("#field-email").fill("bo.kontaktsson@example.se")
    await phone.locator("#field-subject").fill(subject)
    await phone.locator("#field-message").fill(
        "Hej! Jag har en bebis på tre månader.\nGår det bra?"
    )
    await _assert_fits_phone(phone)
    await phone.screenshot(path=str(ARTIFACTS / "recruitment-contact-phone.png"), full_page=True)
    await phone.locator("main form button[type=submit]").click()
    await expect(phone).to_have_url(f"{live_server}/demo/contact/sent")
    await expect(phone.locator(".card-highlight[role=status] h1")).to_be_visible()
    await phone.screenshot(
        path=str(ARTIFACTS / "recruitment-contact-sent-phone.png"), full_page=True
    )

    planner = await _new_page(browser, errors, **DESKTOP)
    await _sign_in_planner(planner, live_server)
    await planner.goto(f"{live_server}/demo/planning/messages/")
    row = planner.locator("tbody tr").filter(has_text=subject)
    await expect(row).to_have_count(1)
    await expect(planner.locator("tbody tr")).to_have_count(4)  # and the demo's three
    await expect(row).to_have_class(re.compile(r"\bunread\b"))
    await planner.screenshot(path=str(ARTIFACTS / "recruitment-messages.png"), full_page=True)
    await row.get_by_role("link", name=subject).click()
    await expect(planner.locator("h1")).to_have_text(subject)
    await expect(planner.locator(".message-body")).to_contain_text("bebis på tre månader")
    await planner.locator(
        'form[action$="/answered"]:has(input[name=answered][value="1"]) button[type=submit]'
    ).click()
    await expect(planner.locator(".flash-success")).to_be_visible()
    await expect(planner.locator('input[name=answered][value="0"]')).to_have_count(1)
    await planner.screenshot(path=str(ARTIFACTS / "recruitment-message.png"), full_page=True)
    await planner.goto(f"{live_server}/demo/planning/messages/?state=answered")
    await expect(planner.locator("tbody tr").filter(has_text=subject)).to_have_count(1)

    assert errors == [], errors


async def test_the_application_form_with_errors_fits_a_phone(
    live_server: str, browser: Browser
) -> None:
    errors: list[str] = []
    phone = await _new_page(browser, errors, **PHONE)
    await phone.goto(f"{live_server}/demo/apply")
    await _assert_fits_phone(phone)
    await phone.locator("form.application-form button[type=submit]").click()
    await expect(phone.locator("#error-summary")).to_be_visible()
    message = await phone.locator("#field-consent-error").bounding_box()
    checkbox = await phone.locator("#field-consent").bounding_box()
    assert message is not None and checkbox is not None
    assert message["y"] + message["height"] <= checkbox["y"], "the error is not above the box"
    await _assert_fits_phone(phone)


async def test_an_application_in_a_clerks_name_is_shown_beside_the_register(
    live_server: str, browser: Browser
) -> None:
    """Someone applies with the demo clerk Robin's personnummer and their own contact
    details; the planner sees both side by side, and approving changes none of Robin's."""
    errors: list[str] = []
    phone = await _new_page(browser, errors, **PHONE)
    await phone.goto(f"{live_server}/demo/apply")
    await phone.locator("#field-first_name").fill("Robin")
    await phone.locator("#field-last_name").fill("Röstmottagare")
    await phone.locator("#field-national_id").fill("19800229-0016")
    await phone.locator("#field-email").fill("someone.else@example.se")
    await phone.locator("#field-mobile").fill("+46709998877")
    await phone.locator("#field-street_address").fill("Annan väg 9")
    election = phone.locator("fieldset.election-choice").filter(has_text=ELECTION)
    await election.locator("input[name^=kinds_][value=election_day]").check()
    await election.locator(f'input[name^=days_][value="{ELECTION_DAY}"]').check()
    await phone.locator("#field-consent").check()
    await _assert_fits_phone(phone)
    await phone.screenshot(path=str(ARTIFACTS / "takeover-apply-phone.png"), full_page=True)
    await phone.locator("form.application-form button[type=submit]").click()
    await expect(phone).to_have_url(f"{live_server}/demo/apply/sent")
    await _assert_fits_phone(phone)
    # An applicant whose data link has expired asks for a fresh one.
    await phone.goto(f"{live_server}/demo/apply/mine/new")
    await phone.locator("#field-email").fill("someone.else@example.se")
    await phone.get_by_role("button", name="Skicka en ny länk till mig").click()
    await expect(phone.locator("main [role=status]")).to_contain_text("30 dagar")
    await _assert_fits_phone(phone)
    await phone.screenshot(path=str(ARTIFACTS / "takeover-new-link-phone.png"), full_page=True)

    planner = await _new_page(browser, errors, **DESKTOP)
    await _sign_in_planner(planner, live_server)
    await planner.goto(f"{live_server}/demo/planning/applications/?q=Röstmottagare")
    await planner.locator("#application-results tbody tr a").first.click()
    match = planner.locator("section.register-match")
    await expect(match).to_be_visible()
    await expect(match.locator("h2")).to_have_text("Personen finns redan i registret")
    await expect(match).to_contain_text("someone.else@example.se")
    await expect(match).to_contain_text("Annan väg 9")
    await expect(match.locator("tr.differs")).to_have_count(4)  # email, mobile, street, city
    # Robin signs in with the register's email and mobile: those cannot be taken.
    await expect(match.locator('input[name=take][value="email"]')).to_have_count(0)
    await expect(match.locator('input[name=take][value="street_address"]')).to_have_count(1)
    await expect(planner.locator('input[name="invite"]')).to_have_count(0)
    await planner.screenshot(path=str(ARTIFACTS / "takeover-application.png"), full_page=True)
    await planner.locator("#approve-form button[type=submit]").click()
    await expect(planner.locator(".flash-success").first).to_be_visible()
    await planner.locator('main p.card a[href*="/planning/people/"]').click()
    await expect(planner.locator("main")).to_contain_text("+46 70 111 22 33")
    await expect(planner.locator("main")).not_to_contain_text("someone.else@example.se")
    await planner.screenshot(path=str(ARTIFACTS / "takeover-person.png"), full_page=True)
    assert errors == [], errors
