"""The pages that say something went wrong, in a real browser (headless Chromium, Playwright) on the
example project: the login page of the admin past its login limit (``throttle_login``), and the page a
locked database answers (``database_busy``, rendered by the example project and served in place of a
request, since a real lock takes the database's whole busy timeout).

With ``CONVITES_SCREENSHOTS=<dir>`` it saves each page there (``docs/_static/screenshots/``).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import Requests
from tests.browser.test_two_factor_pages import assert_styled, path_of
from tests.test_example_project import ExampleSite, shell_json

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], None]  # the ``screenshot`` fixture of conftest.py
RequestsOf = Callable[[Page], Requests]  # the ``requests_of`` fixture of conftest.py

#: Past ``LOGIN_USERNAME_RATE`` (10/minute, the default): the eleventh try with one username.
TRIES = 11

BUSY_PAGE = """
import json
from django.test import RequestFactory
from django.utils import translation
from django_convites.api.handlers import database_busy
with translation.override("en"):  # as LocaleMiddleware leaves it for the browser's Accept-Language
    response = database_busy(RequestFactory().get("/tokens/convites/validar/"))
print(json.dumps({"status": response.status_code, "retry_after": response["Retry-After"],
                  "html": response.content.decode()}))
"""


def test_the_admin_login_past_its_limit_answers_the_throttled_page(
    server: str, page: Page, screenshot: Screenshot, requests_of: RequestsOf
) -> None:
    requests = requests_of(page)
    page.goto(f"{server}/admin/login/?next=/admin/")
    statuses = []
    while not statuses or (statuses[-1] == 200 and len(statuses) < TRIES):
        page.fill("input[name=username]", "ninguem")
        page.fill("input[name=password]", "errada")
        with page.expect_navigation() as navigation:
            page.click("input[type=submit]")
        response = navigation.value
        assert response is not None
        statuses.append(response.status)
    assert statuses == [200] * (TRIES - 1) + [429], statuses
    assert int(response.headers["retry-after"]) >= 1
    assert_styled(page)
    expect(page.locator("h1")).to_have_text("Too many attempts")
    expect(page.locator("[role=alert]")).to_contain_text("Try again in a minute.")
    back = page.get_by_role("link", name="Back to the login page")
    expect(back).to_have_attribute("href", "/admin/login/?next=/admin/")
    screenshot(page, "login-bloqueado")
    with page.expect_navigation():
        back.click()
    assert path_of(page) == "/admin/login/"
    assert requests.hosts() == {urlsplit(server).netloc}, requests.urls


def test_the_database_busy_page(site: ExampleSite, server: str, page: Page, screenshot: Screenshot) -> None:
    busy = shell_json(site.env, BUSY_PAGE)
    assert busy["status"] == 503 and int(busy["retry_after"]) >= 1

    def answer(route: Route) -> None:
        route.fulfill(
            status=503,
            headers={"Retry-After": busy["retry_after"]},
            content_type="text/html; charset=utf-8",
            body=busy["html"],
        )

    page.route(f"{server}/tokens/convites/validar/", answer)
    response = page.goto(f"{server}/tokens/convites/validar/")
    assert response is not None and response.status == 503
    assert_styled(page)  # its stylesheet comes from the server
    expect(page.locator("h1")).to_have_text("Busy")
    expect(page.locator("[role=alert]")).to_be_visible()
    expect(page.locator(".convites-hint")).to_contain_text("Nothing was changed.")
    screenshot(page, "banco-ocupado")
    assert "csrfmiddlewaretoken" not in busy["html"]  # rendered without a request: no session, no form
    expect(page.get_by_role("link", name="django-convites demo")).to_have_attribute("href", "/")
