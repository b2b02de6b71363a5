"""The invite pages in a real browser (headless Chromium, Playwright) on the example project: a gestor
issues an invite on ``/tokens/convites/gerar/``, a visitor checks its code on ``/tokens/convites/validar/``,
and a user with an account opens its link and accepts it with the button, landing on the page that says
what the invite granted. The sign-up of someone without an account is ``test_invite_signup_page.py``.

With ``CONVITES_SCREENSHOTS=<dir>`` it saves each page there (``docs/_static/screenshots/``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Requests
from tests.browser.test_two_factor_pages import assert_styled, demo_password, path_of, submit
from tests.test_example_project import ExampleSite, shell_json

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], None]  # the ``screenshot`` fixture of conftest.py
RequestsOf = Callable[[Page], Requests]  # the ``requests_of`` fixture of conftest.py

GUEST = "convidada"
GUEST_PASSWORD = "uma frase longa de convidada 42"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/tokens/convites/aceitar/(cvi_[A-Za-z0-9]+)/")

NEW_USER = """
import json
from django.contrib.auth import get_user_model
user, _ = get_user_model().objects.get_or_create(username="{username}", defaults={{"email": "{username}@example.com"}})
user.set_password("{password}")
user.save()
print(json.dumps(user.pk))
"""


def log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    submit(page)


def log_out(page: Page, base: str) -> None:
    page.goto(f"{base}/")
    submit(page, "header form button[type=submit]")


def test_issue_check_and_accept_an_invite(
    site: ExampleSite, server: str, page: Page, screenshot: Screenshot, requests_of: RequestsOf
) -> None:
    requests = requests_of(page)
    shell_json(site.env, NEW_USER.format(username=GUEST, password=GUEST_PASSWORD))

    # The gestor issues an invite for the demo organization: the code and its link, shown once.
    log_in(page, server, "gestor", demo_password(site))
    page.goto(f"{server}/tokens/convites/gerar/")
    assert_styled(page)
    expect(page.locator(".convites-hint")).to_contain_text("You may create")
    page.select_option("select[name=tipo_destino]", "associado")
    page.select_option("select[name=organizacao]", label="Organização Demo")
    screenshot(page, "gerar-convite")
    submit(page, status=201)
    issued = page.locator(".convites-issued")
    expect(issued).to_contain_text("Invite created. Copy the code now")
    code = page.locator("code.convites-code").inner_text()
    link = page.locator("code.convites-link").inner_text()
    found = LINK.fullmatch(link)
    assert found and found.group(1) == code, link
    screenshot(page, "convite-gerado")
    log_out(page, server)

    # Anyone checks the code: what it grants, and that checking does not use it.
    page.goto(f"{server}/tokens/convites/validar/")
    assert_styled(page)
    page.fill("input[name=codigo]", "cvi_nao_existe")
    submit(page, status=400)
    expect(page.locator(".errorlist")).to_be_visible()
    page.fill("input[name=codigo]", code)
    submit(page)
    expect(page.locator(".convites-valid")).to_contain_text("Organização Demo")
    expect(page.locator(".convites-hint")).to_contain_text("Checking does not use the invite.")
    screenshot(page, "validar-convite")

    # A user with an account opens the link, logged in: one button uses the invite for them.
    log_in(page, server, GUEST, GUEST_PASSWORD)
    page.goto(link)
    assert path_of(page) == "/tokens/convites/aceitar/", page.url
    expect(page.locator(".convites-valid")).to_contain_text("associado")
    expect(page.locator("main form")).to_contain_text(f"You are logged in as {GUEST}")
    screenshot(page, "aceitar-convite-logado")
    submit(page)
    accepted = page.locator(".convites-accepted")
    expect(accepted).to_contain_text("You accepted the invite.")
    expect(accepted).to_contain_text("Organização Demo")
    screenshot(page, "convite-aceito")
    with page.expect_navigation():
        page.get_by_role("link", name="Continue to the site").click()
    assert path_of(page) == "/", page.url
    expect(page.locator("#membership")).to_contain_text("Organização Demo")

    # The link again: the invite is used, and the page says so, with a way on.
    page.goto(link)
    expect(page.locator("[role=alert]")).to_contain_text("used")
    screenshot(page, "convite-usado")

    assert requests.hosts() == {urlsplit(server).netloc}, requests.urls
