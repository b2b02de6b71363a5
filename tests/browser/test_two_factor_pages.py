"""The two-factor HTML pages in a real browser: headless Chromium, driven by Playwright, on the example project.

Debian's ``chromium`` package is the browser (``/usr/bin/chromium``); Playwright never downloads one. The
example project is served by ``runserver`` on a free port over a temporary SQLite file, after ``migrate``
and ``demo_data`` (the fixtures of ``tests/test_example_project.py``). Run with ``tox -e browser``; with
``CONVITES_SCREENSHOTS=<dir>`` the test also saves full-page PNGs of the pages there (the ones in
``docs/_static/screenshots/`` are made that way).

The flow: turn two-factor authentication on, save the backup codes (download and print), log out, log in
with a backup code, make a new set of codes, and turn two-factor authentication off with one of them.

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
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, Response, expect

from tests.browser.conftest import Requests
from tests.test_example_project import ExampleSite

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], None]  # the ``screenshot`` fixture of conftest.py
RequestsOf = Callable[[Page], Requests]  # the ``requests_of`` fixture of conftest.py

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


#: The stylesheet's page background (``--convites-background``): the page was styled by convites.css.
STYLED_BACKGROUND = "rgb(246, 247, 249)"
BACKUP_CODE = re.compile(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}")


def assert_styled(page: Page) -> None:
    """The page has the app's frame (a link back to the site, the demo's header) and its stylesheet."""
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == STYLED_BACKGROUND
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("header nav a.convites-nav-title")).to_have_attribute("href", "/")


def codes_on(page: Page) -> list[str]:
    codes = page.locator(".convites-codes code").all_inner_texts()
    assert len(codes) == 10 and all(BACKUP_CODE.fullmatch(code) for code in codes), codes
    return codes


def download_codes(page: Page) -> str:
    """Click the download link of the codes on ``page``: the text file's content."""
    link = page.locator("a.convites-download")
    expect(link).to_have_attribute("download", "backup-codes.txt")
    assert (link.get_attribute("href") or "").startswith("data:text/plain;charset=utf-8,")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "backup-codes.txt"
    return Path(download.path()).read_text(encoding="utf-8")


def print_codes(page: Page) -> None:
    """The Print button (shown by convites.js) calls the browser's print; printed, the page is the codes."""
    page.evaluate("window.print = () => { window.convitesPrinted = true; }")
    page.click("button.convites-print")
    assert page.evaluate("window.convitesPrinted") is True
    page.emulate_media(media="print")
    expect(page.locator("header")).to_be_hidden()
    expect(page.locator("a.convites-download")).to_be_hidden()
    expect(page.locator(".convites-codes")).to_be_visible()
    page.emulate_media(media="screen")


def test_enrol_save_the_codes_log_in_with_one_and_turn_it_off(
    site: ExampleSite, server: str, page: Page, phone: Page, screenshot: Screenshot, requests_of: RequestsOf
) -> None:
    password = demo_password(site)
    requests = requests_of(page)

    # Log in with the password: no device yet, so the home page.
    log_in(page, server, password)
    assert path_of(page) == "/"
    expect(page.locator("main")).to_contain_text(f"You are logged in as {USERNAME}")

    # Enrol: a QR code (inline SVG), the key, the name the app will show (TOTP_ISSUER), what confirming ends,
    # and the box that keeps the API tokens (off). A reload shows the same key.
    page.goto(f"{server}/tokens/ativar-2fa/")
    assert path_of(page) == "/tokens/ativar-2fa/"
    assert_styled(page)
    expect(page.locator("figure.convites-qr svg")).to_be_visible()
    first = page.locator("code.convites-secret").inner_text()
    page.reload()
    assert page.locator("code.convites-secret").inner_text() == first
    expect(page.locator(".convites-issuer")).to_have_text(
        f"Your app will list it as django-convites demo ({USERNAME})."
    )
    expect(page.locator(".convites-2fa-ends")).to_contain_text("API tokens")
    expect(page.locator("input[name=manter_api_tokens]")).not_to_be_checked()
    secret = re.sub(r"\s", "", page.locator("code.convites-secret").inner_text()).upper()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    screenshot(page, "ativar-2fa")

    # Confirmed: the page says it is on and shows ten backup codes, once, to download and print.
    code, spent = code_after(secret, spent=current_step() - 1)
    page.fill("input[name=codigo]", code)
    submit(page)
    expect(page.locator(".convites-2fa-enabled")).to_contain_text("Two-factor authentication is now on")
    expect(page.locator("code.convites-secret")).to_have_count(0)
    codes = codes_on(page)
    text = download_codes(page)
    assert f"Backup codes of {USERNAME} at django-convites demo" in text
    assert [line for line in text.splitlines() if BACKUP_CODE.fullmatch(line)] == codes
    print_codes(page)
    expect(page.get_by_role("link", name="I have saved my codes: continue")).to_have_attribute("href", "/")
    screenshot(page, "2fa-ativado")
    # The same page on a phone: one column, nothing wider than the screen.
    phone.goto(f"{server}/tokens/ativar-2fa/")  # another browser, not logged in: the login page
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    # The page says so when opened again, with the codes left, and shows neither secret nor codes.
    page.goto(f"{server}/tokens/ativar-2fa/")
    expect(page.locator(".convites-2fa-active")).to_contain_text("You have 10 unused backup codes.")
    expect(page.locator("code.convites-secret")).to_have_count(0)
    expect(page.locator(".convites-codes")).to_have_count(0)
    screenshot(page, "2fa-ativo")

    # Log out (a POST, from the demo's header) and in again: the password alone is not enough now.
    page.goto(f"{server}/")
    submit(page, "header form button[type=submit]")
    expect(page.locator("main")).to_contain_text("You are not logged in")
    log_in(page, server, password)
    assert path_of(page) == "/tokens/verificar-2fa/", page.url
    assert parse_qs(urlsplit(page.url).query) == {"next": ["/"]}
    assert_styled(page)
    screenshot(page, "verificar-2fa")

    # A wrong code: an error, the same page, and the home page still out of reach.
    page.fill("input[name=codigo]", wrong_code(secret))
    submit(page, status=400)
    assert path_of(page) == "/tokens/verificar-2fa/"
    expect(page.locator(".errorlist")).to_be_visible()
    expect(page.locator("input[name=codigo]")).to_be_visible()
    page.goto(f"{server}/")
    assert path_of(page) == "/tokens/verificar-2fa/", page.url

    # A backup code, typed loosely (upper case, no hyphens): in, with a page that says how many are left.
    page.fill("input[name=codigo]", codes[0].replace("-", "").upper())
    submit(page)
    expect(page.locator(".convites-2fa-backup-used")).to_contain_text("You have 9 unused backup codes left.")
    screenshot(page, "verificar-2fa-backup")
    with page.expect_navigation():
        page.get_by_role("link", name="Continue").click()
    assert path_of(page) == "/", page.url
    expect(page.locator("main")).to_contain_text(f"You are logged in as {USERNAME}")

    # A new set of codes, for a current code of the app (a backup code will not do): the old ones stop working.
    page.goto(f"{server}/tokens/codigos-backup/")
    assert_styled(page)
    expect(page.locator(".convites-2fa-remaining")).to_have_text("You have 9 unused backup codes.")
    screenshot(page, "codigos-backup")
    page.fill("input[name=codigo]", codes[1])
    submit(page, status=400)
    expect(page.locator(".errorlist")).to_be_visible()
    code, spent = code_after(secret, spent)
    page.fill("input[name=codigo]", code)
    submit(page)
    expect(page.locator(".convites-2fa-codes-made")).to_contain_text("You have ten new backup codes.")
    new_codes = codes_on(page)
    assert not set(new_codes) & set(codes)
    assert [line for line in download_codes(page).splitlines() if BACKUP_CODE.fullmatch(line)] == new_codes
    screenshot(page, "codigos-backup-novos")
    phone.goto(f"{server}/accounts/login/")
    phone.fill("input[name=username]", USERNAME)
    phone.fill("input[name=password]", password)
    submit(phone)
    assert path_of(phone) == "/tokens/verificar-2fa/"
    screenshot(phone, "verificar-2fa-celular")

    # Turned off with a backup code of the new set (an old one is refused).
    page.goto(f"{server}/tokens/desativar-2fa/")
    assert path_of(page) == "/tokens/desativar-2fa/"
    expect(page.locator("input[name=codigo]")).to_be_visible()
    screenshot(page, "desativar-2fa")
    page.fill("input[name=codigo]", codes[2])
    submit(page, status=400)
    page.fill("input[name=codigo]", new_codes[0])
    submit(page)
    expect(page.locator(".convites-2fa-disabled")).to_contain_text("Two-factor authentication is off.")
    expect(page.get_by_role("link", name="Turn it on again")).to_have_attribute("href", "/tokens/ativar-2fa/")
    screenshot(page, "2fa-desativado")
    page.goto(f"{server}/tokens/desativar-2fa/")
    expect(page.locator(".convites-2fa-off")).to_be_visible()

    # Nothing was asked of another host: the stylesheet and the script are the site's own.
    assert requests.hosts() == {urlsplit(server).netloc}, requests.urls
    assert any(url.endswith("/static/django_convites/convites.css") for url in requests.urls)
    assert any(url.endswith("/static/django_convites/convites.js") for url in requests.urls)
