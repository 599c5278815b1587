"""The issue "Election day live" walked as its users would, on the demo municipality
with its coming election moved to today (`stemma demo --election-day today`):

a coordinator watches the live dashboard on a desktop; the demo clerk, chair of a
polling station, checks in on a phone, opens the station (the opening checks are not
met: with a reason) and reports an incident; the dashboard follows each change without
reloading; the coordinator sends a reserve to the station, and the chair's phone shows
the push about it.

The push: headless Chromium cannot subscribe at a real push service (its contexts are
incognito, where Chrome has no Push API), so the chair's page gets a stand-in for the
browser's ``PushManager`` that hands the app's own script (``static/js/push.js``) a
subscription whose endpoint is a push service run by this test. The server encrypts the
push to that subscription and posts it there, as it would to a real one; the test
decrypts it (http_ece) and hands the payload to the chair's service worker through the
DevTools protocol (``ServiceWorker.deliverPushMessage``), which shows the notification.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import queue
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.async_api import Browser, CDPSession, Page, expect

from app.core.settings import Settings
from tests.browser.conftest import ARTIFACTS, no_turnout_yet
from tests.browser.test_recruitment import DEMO_PASSWORD, PHONE, _assert_fits_phone, _new_page
from tests.factories import free_port

STATION = "Backaskolan"
CLERK_EMAIL = "clerk@demo.stemma.test"
COORDINATOR_EMAIL = "coordinator@demo.stemma.test"
DESKTOP = {"viewport": {"width": 1440, "height": 900}}


def _shot(name: str) -> str:
    """Where a screenshot goes. Screenshots keep the caret (``caret="initial"``): hiding
    it sets inline styles, which the pages' CSP reports as errors when htmx swaps them."""
    return str(ARTIFACTS / f"election-day-{name}.png")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class PushService:
    """A push service on loopback: takes the server's encrypted pushes and decrypts them
    with the keys of the one subscription it handed out."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}/push/chair-phone"
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.received: queue.Queue[tuple[str, dict[str, str], bytes]] = queue.Queue()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                service.received.put((self.path, dict(self.headers), self.rfile.read(length)))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def subscription(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives for this service's subscription."""
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": _b64(public), "auth": _b64(self.auth)},
        }

    async def next_push(self, within: float = 20) -> tuple[dict[str, str], dict[str, Any]]:
        """The next push the server posted: its headers and its decrypted JSON."""
        path, headers, body = await asyncio.to_thread(self.received.get, timeout=within)
        assert path == "/push/chair-phone", path
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        return headers, json.loads(plain)


@pytest.fixture
def push_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[PushService]:
    service = PushService()
    service.thread.start()
    # The server may post to http://127.0.0.1 (only tests set this).
    monkeypatch.setenv("STEMMA_PUSH_ALLOW_LOOPBACK", "1")
    try:
        yield service
    finally:
        service.server.shutdown()
        service.server.server_close()


@pytest.fixture
def demo_command(push_service: PushService) -> list[str]:
    """The demo with its coming election moved to today (the push service first: the
    server is started with its setting)."""
    return ["demo", "--election-day", "today"]


#: A stand-in for the browser's push service in the page: subscribe() hands out the
#: test's subscription; everything else (permission, the service worker, posting the
#: subscription to the server) is the app's script and the real browser.
FAKE_PUSH_MANAGER = """
(() => {
  const json = %s;
  let current = null;
  const make = () => ({
    endpoint: json.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true },
    toJSON: () => json,
    unsubscribe: () => { current = null; return Promise.resolve(true); },
  });
  PushManager.prototype.subscribe = function () { current = make(); return Promise.resolve(current); };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
})();
"""


#: The notifications the portal's service worker shows, once there are any (or after
#: ``within`` milliseconds, none): the worker shows one when it has handled the push.
SHOWN_NOTIFICATIONS = """
async (within) => {
  const registration = await navigator.serviceWorker.ready;
  const deadline = Date.now() + within;
  for (;;) {
    const shown = await registration.getNotifications();
    if (shown.length || Date.now() > deadline) {
      return shown.map((n) => ({ title: n.title, body: n.body, tag: n.tag }));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
"""


async def _sign_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("E-post").fill(email)
    await page.get_by_label("Lösenord").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Logga in").click()
    await expect(page).not_to_have_url(re.compile(r"/login"))


async def _number(page: Page, counter: str) -> int:
    """A counter of the dashboard's summary, by its class."""
    text = await page.locator(f"#ops-summary .{counter} .ops-number").inner_text()
    return int(text.split("/")[0].strip())


async def _service_worker_registration(page: Page, scope: str) -> tuple[CDPSession, str]:
    """A DevTools session of the page, and its id of the service worker for ``scope``."""
    cdp = await page.context.new_cdp_session(page)
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def registered(event: dict[str, Any]) -> None:
        for registration in event["registrations"]:
            wanted = registration["scopeURL"] == scope and not registration.get("isDeleted")
            if wanted and not found.done():
                found.set_result(registration["registrationId"])

    cdp.on("ServiceWorker.workerRegistrationUpdated", registered)
    await cdp.send("ServiceWorker.enable")
    return cdp, await asyncio.wait_for(found, timeout=10)


async def test_it_runs_election_day_live_from_the_phone_to_the_dashboard(
    live_server: str, browser: Browser, push_service: PushService, settings: Settings
) -> None:
    await no_turnout_yet(settings)
    errors: list[str] = []

    # 1. The coordinator opens the live dashboard of today's election.
    dashboard = await _new_page(browser, errors, **DESKTOP)
    await _sign_in(dashboard, live_server, COORDINATOR_EMAIL)
    await dashboard.goto(f"{live_server}/demo/planning/live")
    await expect(dashboard).to_have_url(re.compile(r"/demo/planning/elections/\d+/live$"))
    board_url = dashboard.url
    # Found by the search, as a coordinator would: which page the station is on in the
    # "problems first" order depends on the hour (every station is fine before the
    # first shifts of the day start, and they come by district and name).
    await dashboard.goto(f"{board_url}?q={STATION}")
    await expect(dashboard.locator("#ops-connection")).to_have_class(re.compile(r"\bis-live\b"))
    row = dashboard.locator("tr.ops-row").filter(
        has=dashboard.get_by_role("link", name=STATION, exact=True)
    )
    await expect(row).to_have_count(1)
    await expect(row.locator(".ops-state")).to_have_class(re.compile(r"ops-state-not_opened"))
    last_change = row.locator(".ops-last-change")
    # Nothing yet: the demo's turnout is cleared, its last report could have been sent
    # the very minute the check-in below is made.
    await expect(last_change).to_have_text("–")
    before = (await last_change.inner_text()).strip()
    opened = await _number(dashboard, "counter-open")
    # Every change below must arrive over the socket: this marker dies with a reload.
    await dashboard.evaluate("window.stemmaTestMarker = 'no reload'")
    # A second coordinator watches a page of the dashboard the station is not on (the
    # second, or the first when the station is on the second): its live rows are left
    # out there without an error, the counters still follow.
    second_page = await _new_page(browser, errors, **DESKTOP)
    await _sign_in(second_page, live_server, COORDINATOR_EMAIL)
    await second_page.goto(f"{board_url}?page=2")
    here = second_page.locator("tr.ops-row").filter(
        has=second_page.get_by_role("link", name=STATION, exact=True)
    )
    if await here.count():
        await second_page.goto(board_url)
    await expect(second_page.locator("#ops-connection")).to_have_class(re.compile(r"\bis-live\b"))
    await expect(second_page.locator("tr.ops-row")).not_to_have_count(0)
    station_link = second_page.get_by_role("link", name=STATION, exact=True)
    await expect(second_page.locator("tr.ops-row").filter(has=station_link)).to_have_count(0)

    # 2. The chair, on a phone, turns on notifications and checks in.
    phone = await _new_page(browser, errors, **PHONE)
    await phone.context.grant_permissions(["notifications"], origin=live_server)
    await phone.context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(push_service.subscription()))
    await _sign_in(phone, live_server, CLERK_EMAIL)
    await phone.locator("nav.portal-nav a[href$='/portal/election-day']").click()
    await expect(phone).to_have_url(f"{live_server}/demo/portal/election-day")
    card = phone.locator("[data-checkin-card]").filter(has_text=STATION)
    await expect(card).to_have_count(1)
    await _assert_fits_phone(phone)
    await phone.screenshot(path=_shot("phone-before"), full_page=True, caret="initial")

    notifications = phone.locator("#notifications")
    await notifications.locator("[data-push-on] button").click()
    await expect(notifications.locator("[data-push-state=on]")).to_be_visible()
    # The button pressed went (off shows instead): the focus is on the note, not the body.
    await expect(notifications.locator("[data-push-state=on]")).to_be_focused()

    await card.locator(".checkin-arrived").click()
    await expect(card.locator(".checkin-confirmed")).to_have_count(1)
    await expect(card.locator(".checkin-left")).to_be_visible()
    await expect(card.locator(".checkin-queued")).to_have_count(0)

    # The row's last change is the check-in's time (whose shift the row counts depends
    # on the time of day: the chair's morning shift, or the afternoon's after 14:00).
    await expect(last_change).to_have_text(re.compile(r"^\d\d:\d\d$"))
    await expect(last_change).not_to_have_text(before)
    await dashboard.screenshot(path=_shot("dashboard-checked-in"), caret="initial")

    # 3. The chair opens the station: the team is not complete, so with a reason.
    await phone.reload()
    lead = phone.locator("section.station-lead").filter(has_text=STATION)
    await expect(lead.locator(".opening-problems li").first).to_be_visible()
    await lead.locator("textarea[name=override_reason]").fill(
        "Två röstmottagare är på väg, vi öppnar i tid."
    )
    await lead.locator("button[name=state][value=open]").click()
    await expect(phone.locator(".flash-success")).to_be_visible()
    await expect(lead.locator(".station-state")).to_have_class(re.compile(r"station-state-open"))

    await expect(row.locator(".ops-state")).to_have_class(re.compile(r"ops-state-open"))
    await expect(dashboard.locator("#ops-summary .counter-open .ops-number")).to_have_text(
        str(opened + 1)
    )
    await expect(second_page.locator("#ops-summary .counter-open .ops-number")).to_have_text(
        str(opened + 1)
    )

    # 4. ... and reports an incident of high severity.
    await lead.locator("select[name=category]").select_option(index=1)
    await lead.locator("select[name=severity]").select_option("high")
    await lead.locator("form[action*='/incidents'] textarea[name=text]").fill(
        "Valsedlar för ett parti saknas i ställ 2."
    )
    await lead.locator("form[action*='/incidents'] button[type=submit]").click()
    await expect(phone.locator(".flash-success")).to_be_visible()
    await expect(lead.locator("article.incident")).to_have_count(1)
    await _assert_fits_phone(phone)
    await phone.screenshot(path=_shot("phone-station"), full_page=True, caret="initial")

    await expect(row.locator(".ops-incidents .badge")).to_have_text("1")
    await expect(row.locator(".ops-alert-danger")).not_to_have_count(0)
    await dashboard.screenshot(path=_shot("dashboard-incident"), caret="initial")

    # 5. The coordinator sends a reserve to the station from its panel.
    clerk_chip = row.locator(".ops-role").filter(has_text=re.compile(r"^Röstmottagare"))
    before = await clerk_chip.locator("strong").inner_text()
    await row.get_by_role("link", name=STATION, exact=True).click()
    panel = dashboard.locator("#ops-panel.ops-drawer")
    await expect(panel).to_be_visible()
    await expect(panel.locator("#ops-panel-title")).to_contain_text(STATION)
    await expect(panel.locator(".ops-incident")).to_have_count(1)
    reserve = panel.locator("#field-person optgroup").first.locator("option:not([disabled])").first
    reserve_name = (await reserve.inner_text()).split(" — ")[0].strip()
    await panel.locator("#field-person").select_option(await reserve.get_attribute("value"))
    # A clerk's place on the shift the row is about (which one depends on the time).
    place = panel.locator("#field-place option").filter(has_text=re.compile(r"· Röstmottagare$"))
    await panel.locator("#field-place").select_option(await place.first.get_attribute("value"))
    # The demo's reserves each break a soft rule or lack a course: sent with a reason.
    await panel.locator("#field-override_reason").fill("Två röstmottagare har inte kommit.")
    await dashboard.screenshot(path=_shot("dashboard-panel"), caret="initial")
    await panel.locator("form[action$='/reassign'] button[type=submit]").click()
    await expect(panel.locator(".flash-success")).to_be_visible()
    await expect(panel.locator(".ops-roster li").filter(has_text=reserve_name)).to_have_count(1)
    # The reserve holds the place but has not checked in: the row's count stays. And it is
    # still the page first loaded: everything above came over its socket.
    await expect(clerk_chip.locator("strong")).to_have_text(before)
    assert await dashboard.evaluate("window.stemmaTestMarker") == "no reload"
    await dashboard.screenshot(path=_shot("dashboard-reassigned"), caret="initial")

    # 6. The chair's phone gets the push about it.
    headers, payload = await push_service.next_push()
    assert headers.get("Content-Encoding") == "aes128gcm"
    assert headers.get("Authorization", "").startswith("vapid t=")
    assert STATION in payload["title"], payload
    assert payload["url"] == "/demo/portal/election-day", payload
    scope = f"{live_server}/demo/portal/"
    cdp, registration_id = await _service_worker_registration(phone, scope)
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server, "registrationId": registration_id, "data": json.dumps(payload)},
    )
    shown = await phone.evaluate(SHOWN_NOTIFICATIONS, 10_000)
    assert shown == [{"title": payload["title"], "body": payload["body"], "tag": payload["tag"]}]
    assert errors == []
    await dashboard.context.close()
    await phone.context.close()
