"""A real server process and Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import datetime as dt
import inspect
import os
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from click.testing import CliRunner
from playwright.async_api import Browser, Page, Playwright, async_playwright, expect
from sqlalchemy import delete, make_url, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.cli import main as stemma
from app.core.db import create_engine
from app.core.models import Tenant
from app.core.settings import Settings
from app.core.tenancy import tenant_scope
from app.demo import DEMO_SLUG
from app.domain.models import TurnoutReport
from tests.conftest import TEST_DATABASE_URL, copy_sqlite
from tests.factories import free_port
from tests.support.prestarted import Launcher

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here carries the ``browser`` marker, so ``-m browser`` and
    ``-m "not browser"`` select them (before ``-m`` deselects anything), and runs on
    the worker's one event loop for browser tests."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
            # One event loop for the worker's browser tests, the loop its Chromium
            # runs on (``_chromium``); before the plain mark the asyncio mode adds.
            if inspect.iscoroutinefunction(getattr(item, "obj", None)):
                item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)


def _environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "STEMMA_DATABASE_URL": settings.database_url,
        "STEMMA_DATA_DIR": str(settings.data_dir),
        "STEMMA_SECRET_KEY": settings.secret_key,
        # The test's own channel prefix: other workers' servers share the Redis.
        "STEMMA_REDIS_CHANNEL_PREFIX": settings.redis_channel_prefix,
        **({"STEMMA_REDIS_URL": settings.redis_url} if settings.redis_url else {}),
    }


async def choose_in_swapping_filter(page: Page, select: str, **option: Any) -> None:
    """Choose an option of a filter that HTMX answers by swapping the list in and
    pushing the address: returns once the new list is in place, so what the test looks
    up next is not an element of the list about to be replaced (under load the swap
    comes late)."""
    # htmx binds the filter once the page has loaded: a choice made before is no request.
    await page.wait_for_load_state("load")
    before = page.url
    await page.locator(select).select_option(**option)
    # Under a loaded CI machine the board's answer can take longer than expect's 5 s.
    await expect(page).not_to_have_url(before, timeout=20_000)
    await expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)


@pytest.fixture
def demo_command() -> list[str]:
    """How `live_server` makes the demo; a test module may override it (with options)."""
    return ["demo"]


@pytest.fixture
def live_server(
    request: pytest.FixtureRequest,
    settings: Settings,
    demo_command: list[str],
    _server_launcher: Launcher,
) -> Iterator[str]:
    """`stemma migrate`, `stemma demo`, then `stemma serve`, as `make run` does.

    The first two run the same commands in this process (starting the app's code in a
    new interpreter costs seconds a test; ``tests/test_cli.py`` runs them as processes),
    once per worker and demo: later tests get a copy of what they made
    (``_made_demo``). The server is a process of its own, as a newcomer's is, forked
    from the worker's interpreter that has the app's code loaded already
    (``tests/support/prestarted.py``: some 4 s of CPU a test fewer)."""
    environment = _environment(settings)
    _made_demo(request, settings, demo_command, environment)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment["STEMMA_BASE_URL"] = base_url
    log = settings.data_dir / "server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = _server_launcher.start(["serve", "--port", str(port)], environment, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/healthz", timeout=1):  # noqa: S310 - loopback
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(log.read_text()) from None
                time.sleep(0.2)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            # Serving waits out its graceful timeout (10 s) for sockets still open at
            # the end; how it stops is not what these tests look at.
            server.kill()
            server.wait(timeout=5)


@pytest.fixture(scope="session")
def _server_launcher() -> Iterator[Launcher]:
    launcher = Launcher()
    try:
        yield launcher
    finally:
        launcher.close()


#: Per worker: where the database is kept as `stemma migrate` and one demo command left
#: it (a SQLite file, or a PostgreSQL schema), by the command and the hour it was made.
_DEMO_COPIES: dict[tuple[str, ...], str] = {}


def _made_demo(
    request: pytest.FixtureRequest,
    settings: Settings,
    demo_command: list[str],
    environment: dict[str, str],
) -> None:
    """Bring the test's database to what `stemma migrate` and ``demo_command`` make.

    The demo costs seconds, and a few dozen tests ask for one of two demos: the first
    test of a worker runs the commands, the others get a copy of the rows it left
    (every row and id, as the commands wrote them). The copy is keyed by the hour in the
    demo's zone as well, since "--election-day today" places the day around now."""
    hour = dt.datetime.now(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d %H")
    key = (*demo_command, hour)
    cleaner = request.getfixturevalue("postgres_cleaner") if TEST_DATABASE_URL else None
    database = make_url(settings.database_url).database or ""
    copy = _DEMO_COPIES.get(key)
    if copy is not None:
        if cleaner is not None:
            cleaner.restore(copy)
        else:
            copy_sqlite(copy, database)
        return
    for command in (["migrate"], demo_command):
        ran = CliRunner().invoke(stemma, command, env=environment, catch_exceptions=False)
        assert ran.exit_code == 0, ran.output
    if cleaner is not None:
        copy = f"demo_copy_{len(_DEMO_COPIES)}"
        cleaner.snapshot(copy)
    else:
        folder = request.getfixturevalue("tmp_path_factory").mktemp("demo-copy")
        copy = str(folder / "stemma.db")
        copy_sqlite(database, copy)
    _DEMO_COPIES[key] = copy


#: What Chromium is started with for every browser test.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A Swedish reader's browser, as the demo municipality's: the public site follows
    # the browser's language on a first visit (a test of another language opens its
    # page with ``locale=``).
    "--accept-lang=sv-SE,sv",
]


class _Chromium:
    """Playwright and one Chromium for all the browser tests of a worker: starting
    them cost a test seconds (Playwright's driver, then the browser). Each test still
    gets pages of its own in new browser contexts, which share no cookies, storage or
    cache with another's, and closed after it; a Chromium that went away is started
    again for the next test."""

    def __init__(self, playwright: Playwright) -> None:
        self._playwright = playwright
        self._browser: Browser | None = None

    async def browser(self) -> Browser:
        if self._browser is None or not self._browser.is_connected():
            self._browser = await self._playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
        return self._browser

    async def close(self) -> None:
        if self._browser is not None and self._browser.is_connected():
            await self._browser.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def _chromium() -> AsyncIterator[_Chromium]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium")
    async with async_playwright() as playwright:
        chromium = _Chromium(playwright)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(_chromium: _Chromium) -> AsyncIterator[Browser]:
    """The worker's Chromium; every context the test opened is closed after it."""
    ARTIFACTS.mkdir(exist_ok=True)
    chromium = await _chromium.browser()
    try:
        yield chromium
    finally:
        for context in list(chromium.contexts):
            await context.close()


@asynccontextmanager
async def in_the_demo(settings: Settings) -> AsyncIterator[AsyncConnection]:
    """A transaction in the demo municipality's scope, beside the running server."""
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as connection:
            tenant_id = await connection.scalar(select(Tenant.id).where(Tenant.slug == DEMO_SLUG))
            assert tenant_id is not None
            with tenant_scope(tenant_id):
                yield connection
    finally:
        await engine.dispose()


async def no_turnout_yet(settings: Settings) -> None:
    """Clear the turnout `stemma demo --election-day today` filled in for the reporting
    times already past. Which those are, and when each was sent (up to a quarter of an
    hour after its time, and never after the demo was made), depends on the hour a test
    runs: a station's last change could be the very minute of a check-in the test makes,
    and a chair's count one of many in the totals."""
    async with in_the_demo(settings) as connection:
        await connection.execute(delete(TurnoutReport))
