"""Fixtures of the browser tests: the example project served by runserver, and Debian's headless Chromium."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

# The example project's fixtures, imported so that pytest finds them here: ``site`` runs ``manage.py demo``
# (migrate, then demo_data) on a temporary SQLite file, ``server`` serves it with runserver on a free port.
from tests.test_example_project import server, site  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Nothing but the test's own requests: this machine's network refuses the others.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 900, "height": 700}
#: A phone's screen, for the pages' narrow layout.
PHONE_VIEWPORT = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000

Screenshot = Callable[[Page, str], None]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, with a new empty profile. A missing browser fails the test."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A page the size of a phone's screen, with a phone's pixel density and touch."""
    context = browser.new_context(
        viewport=PHONE_VIEWPORT, locale="en-US", device_scale_factor=2, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


class Requests:
    """Every URL a page asked for (documents, stylesheets, scripts, images, fetches), in order."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))

    def hosts(self) -> set[str]:
        """The hosts asked, ``data:`` URLs (built into a page, asked of no host) left out."""
        return {urlsplit(url).netloc for url in self.urls if urlsplit(url).scheme != "data"}


@pytest.fixture
def requests_of() -> Callable[[Page], Requests]:
    """``requests_of(page)`` records what ``page`` asks for from then on."""
    return Requests


@pytest.fixture
def screenshot() -> Iterator[Screenshot]:
    """``screenshot(page, name)`` saves ``<name>.png`` in ``$CONVITES_SCREENSHOTS`` when it is set."""
    folder = os.environ.get("CONVITES_SCREENSHOTS")
    target = Path(folder) if folder else None
    if target is not None:
        target.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> None:
        if target is not None:
            page.screenshot(path=str(target / f"{name}.png"), full_page=True, animations="disabled", scale="css")

    yield take
