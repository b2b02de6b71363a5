"""An e-mailed invite in a real browser: from the mail file to a signed-up, logged-in member of the
organization, in Debian's headless Chromium driven by Playwright, on the example project.

The example project is served by ``runserver`` with ``EMAIL_FILE_PATH`` set to a temporary folder;
``manage.py demo_convite --email`` has the demo gestor issue an invite bound to an address, and the mail
lands there as a file. The test opens the mail's link, signs up on the accept page (first with a password
the example project's validators refuse, then with a good one) and ends on the home page, which lists the
new user's organizations. With ``CONVITES_SCREENSHOTS=<dir>`` it saves the accept page and the refused
sign-up there (``docs/_static/screenshots/aceitar-convite.png`` and ``cadastro-convite.png``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.test_two_factor_pages import path_of, submit
from tests.example_site import serving
from tests.test_example_project import DEBUG_OFF, ExampleSite, manage, read_mail, shell_json

pytestmark = pytest.mark.browser

Screenshot = Callable[[Page, str], None]  # the ``screenshot`` fixture of conftest.py

ADDRESS = "nova.pessoa@example.com"
USERNAME = "nova"
PASSWORD = "uma frase longa de boas-vindas 42"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/tokens/convites/aceitar/(cvi_[A-Za-z0-9]+)/)")

MEMBERSHIP = """
import json
from django.contrib.auth import get_user_model
from django_convites.models import Invite
user = get_user_model().objects.get(username="{username}")
invite = Invite.objects.get(email="{email}")
print(json.dumps({{
    "email": user.email,
    "organizations": [o.slug for o in user.organizacoes.all()],
    "nuclei": sorted(n.nome for n in user.nucleos.all()),
    "used_by": invite.used_by.username if invite.used_by else None,
}}))
"""


@dataclass(frozen=True)
class MailingSite:
    base: str
    env: dict[str, str]
    mail_dir: Path


@pytest.fixture
def mailing_site(site: ExampleSite, tmp_path: Path) -> Iterator[MailingSite]:
    """The example project under runserver (debug off, as ``server``), its mail written to files in a
    temporary folder."""
    mail_dir = tmp_path / "sent_emails"
    env = {**site.env, **DEBUG_OFF, "EMAIL_FILE_PATH": str(mail_dir)}
    with serving(env, tmp_path / "runserver.log") as base:
        yield MailingSite(base=base, env=env, mail_dir=mail_dir)


def test_an_emailed_invite_leads_to_a_signed_up_logged_in_member(
    mailing_site: MailingSite, page: Page, screenshot: Screenshot
) -> None:
    base = mailing_site.base
    manage(mailing_site.env, "demo_convite", "--email", ADDRESS, "--base-url", base)
    (mail_file,) = mailing_site.mail_dir.iterdir()
    message = read_mail(mail_file)
    assert message["To"] == ADDRESS
    ((link, code),) = LINK.findall(message.get_content())
    assert link.startswith(base)

    requested: list[str] = []

    def note(request: Request) -> None:
        requested.append(request.url)

    page.on("request", note)

    # The link: its code goes into the session, and the page the browser lands on has none in its URL.
    page.goto(link)
    assert path_of(page) == "/tokens/convites/aceitar/", page.url
    assert code not in page.url
    expect(page.locator("h1")).to_have_text("Accept an invite")
    expect(page.locator(".convites-valid")).to_contain_text("associado")
    expect(page.locator(".convites-valid")).to_contain_text("Organização Demo")  # by name, not by id
    expect(page.get_by_label("E-mail")).to_have_value(ADDRESS)
    expect(page.get_by_role("link", name="Log in to accept it")).to_have_attribute(
        "href", "/accounts/login/?next=%2Ftokens%2Fconvites%2Faceitar%2F"
    )
    assert code not in page.content()
    screenshot(page, "aceitar-convite")

    # A password the example project's validators refuse: the errors beside the field, nothing created.
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill("12345")
    submit(page, "form:has(input[name=registrar]) button[type=submit]", status=400)
    assert path_of(page) == "/tokens/convites/aceitar/"
    errors = page.locator("form:has(input[name=registrar]) ul.errorlist")
    expect(errors).to_contain_text("This password is too short.")
    expect(errors).to_contain_text("This password is entirely numeric.")
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Username")).to_have_value(USERNAME)
    screenshot(page, "cadastro-convite")

    # A good one: the account, the invite spent, logged in, and on the home page (SIGNUP_REDIRECT_URL).
    page.get_by_label("Password").fill(PASSWORD)
    submit(page, "form:has(input[name=registrar]) button[type=submit]")
    assert path_of(page) == "/", page.url
    expect(page.locator("main")).to_contain_text(f"You are logged in as {USERNAME}")
    expect(page.locator("#membership")).to_contain_text("Organização Demo")
    expect(page.locator("#membership")).to_contain_text("Núcleo Norte, Núcleo Sul")
    assert code not in page.content()

    member = shell_json(mailing_site.env, MEMBERSHIP.format(username=USERNAME, email=ADDRESS))
    assert member == {
        "email": ADDRESS,
        "organizations": ["organizacao-demo"],
        "nuclei": ["Núcleo Norte", "Núcleo Sul"],
        "used_by": USERNAME,
    }

    # The accept page again: the code left the session with the use.
    page.goto(f"{base}/tokens/convites/aceitar/")
    expect(page.locator("[role=alert]")).to_contain_text("Open the link of your invite")

    # Nothing was asked of another host, and the code travelled in one request line only: the link's.
    hosts = {urlsplit(url).netloc for url in requested}
    assert hosts == {urlsplit(base).netloc}, requested
    assert [url for url in requested if code in url] == [link], json.dumps(requested, indent=1)
