"""The two-factor HTML pages in a real browser: headless Chromium, driven by Playwright, on the example project.

Debian's ``chromium`` package is the browser (``/usr/bin/chromium``); Playwright never downloads one. The
example project is served by ``runserver`` on a free port over a temporary SQLite file, after ``migrate``
and ``demo_data`` (the fixtures of ``tests/test_example_project.py``). Run with ``tox -e browser``; with
``CONVITES_SCREENSHOTS=<dir>`` the test also saves full-page PNGs of the pages there (the ones in
``docs/_static/screenshots/`` are made that way).

A TOTP code is accepted once: the test keeps the last time step it spent and computes each new code for a
later step, which the device's tolerance of one step accepts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Response, expect

from tests.test_example_project import ExampleSite

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], None]  # the ``screenshot`` fixture of conftest.py

USERNAME = "usuario"  # a role no setting makes enrol; the test turns two-factor authentication on itself

TOTP_STEP = 30
TOTP_DIGITS = 6


def totp(secret: str, step: int) -> str:
    """The RFC 6238 code (HMAC-SHA1, six digits) of base32 ``secret`` at time step ``step``."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 10**TOTP_DIGITS:0{TOTP_DIGITS}d}"


def current_step() -> int:
    return int(time.time()) // TOTP_STEP


def code_after(secret: str, spent: int) -> tuple[str, int]:
    """A code for a step later than ``spent`` that the server accepts now (within one step): the code and
    its step."""
    step = max(spent + 1, current_step())
    return totp(secret, step), step


def wrong_code(secret: str) -> str:
    """Six digits that are no code of ``secret`` at any step the server could accept now."""
    now = current_step()
    valid = {totp(secret, step) for step in range(now - 2, now + 3)}
    return next(code for code in (f"{n:06d}" for n in range(0, 10**6, 111_111)) if code not in valid)


def demo_password(site: ExampleSite) -> str:
    """The demo users' password, as the demo command printed it."""
    found = re.search(r"all with the password '([^']+)'", site.demo_output)
    assert found, site.demo_output
    return found.group(1)


def submit(page: Page, button: str = "main form button[type=submit]", *, status: int = 200) -> None:
    """Click ``button`` and wait for the page the form leads to (after any redirect); fail unless that page
    answers ``status``."""
    with page.expect_navigation() as navigation:
        page.click(button)
    response: Response | None = navigation.value
    assert response is not None
    assert response.status == status, (
        f"{response.url} answered {response.status}:\n{page.locator('body').inner_text()[:500]}"
    )


def log_in(page: Page, base: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", password)
    submit(page)


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def test_enrol_log_out_and_log_in_again_with_a_code(
    site: ExampleSite, server: str, page: Page, screenshot: Screenshot
) -> None:
    password = demo_password(site)

    # Log in with the password: no device yet, so the home page.
    log_in(page, server, password)
    assert path_of(page) == "/"
    expect(page.locator("main")).to_contain_text(f"You are logged in as {USERNAME}")

    # Enrol: a QR code (inline SVG), the key, what confirming ends, and the box that keeps the API tokens
    # (off). A reload shows the same key.
    page.goto(f"{server}/tokens/ativar-2fa/")
    assert path_of(page) == "/tokens/ativar-2fa/"
    expect(page.locator("figure.convites-qr svg")).to_be_visible()
    first = page.locator("code.convites-secret").inner_text()
    page.reload()
    assert page.locator("code.convites-secret").inner_text() == first
    expect(page.locator(".convites-2fa-ends")).to_contain_text("API tokens")
    expect(page.locator("input[name=manter_api_tokens]")).not_to_be_checked()
    secret = re.sub(r"\s", "", page.locator("code.convites-secret").inner_text()).upper()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    screenshot(page, "ativar-2fa")

    code, spent = code_after(secret, spent=current_step() - 1)
    page.fill("input[name=codigo]", code)
    submit(page)
    expect(page.locator(".convites-2fa-enabled")).to_contain_text("Two-factor authentication is now on")
    expect(page.locator("code.convites-secret")).to_have_count(0)
    # The page says so when opened again, and shows no secret.
    page.goto(f"{server}/tokens/ativar-2fa/")
    expect(page.locator(".convites-2fa-active")).to_be_visible()
    expect(page.locator("code.convites-secret")).to_have_count(0)

    # Log out (a POST, from the demo's header) and in again: the password alone is not enough now.
    page.goto(f"{server}/")
    submit(page, "header form button[type=submit]")
    expect(page.locator("main")).to_contain_text("You are not logged in")
    log_in(page, server, password)
    assert path_of(page) == "/tokens/verificar-2fa/", page.url
    assert parse_qs(urlsplit(page.url).query) == {"next": ["/"]}
    screenshot(page, "verificar-2fa")

    # A wrong code: an error, the same page, and the home page still out of reach.
    page.fill("input[name=codigo]", wrong_code(secret))
    submit(page, status=400)
    assert path_of(page) == "/tokens/verificar-2fa/"
    expect(page.locator(".errorlist")).to_be_visible()
    expect(page.locator("input[name=codigo]")).to_be_visible()
    page.goto(f"{server}/")
    assert path_of(page) == "/tokens/verificar-2fa/", page.url

    # The code of a later step than the one spent at confirmation: through to the home page, verified.
    code, spent = code_after(secret, spent)
    page.fill("input[name=codigo]", code)
    submit(page)
    assert path_of(page) == "/", page.url
    expect(page.locator("main")).to_contain_text(f"You are logged in as {USERNAME}")
    page.goto(f"{server}/tokens/ativar-2fa/")
    assert path_of(page) == "/tokens/ativar-2fa/"
    expect(page.locator(".convites-2fa-active")).to_be_visible()

    # The page that turns it off, reachable by the verified session.
    page.goto(f"{server}/tokens/desativar-2fa/")
    assert path_of(page) == "/tokens/desativar-2fa/"
    expect(page.locator("input[name=codigo]")).to_be_visible()
    screenshot(page, "desativar-2fa")
