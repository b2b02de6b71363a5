"""The accept page's sign-up: ``/tokens/convites/aceitar/`` after the e-mailed link, for someone without an
account (docs/invites.rst, "HTML pages"). The link and the logged-in button are in test_invite_email.py."""

from __future__ import annotations

import logging
import re
from collections import Counter
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.template.loader import render_to_string
from django.test import Client, override_settings
from rest_framework.test import APIClient

from django_convites import signals
from django_convites.exceptions import ConvitesError, InviteEmailMismatch, NotAllowed
from django_convites.models import AuditEvent, Invite, SessionFamily
from django_convites.services import invites
from django_convites.views import ACCEPT_SESSION_KEY
from tests.factories import api_as, browser_as, issue, make_org, make_user
from tests.invites import assert_nothing_written, new_users
from tests.parallel import api_error, race

pytestmark = pytest.mark.django_db

PAGE = "/tokens/convites/aceitar/"
PASSWORD = "uma senha longa e boa 42"
DJANGO_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]


def link(code: str) -> str:
    return f"/tokens/convites/aceitar/{code}/"


def opened(code: str, client: Client | None = None) -> Client:
    """A browser that followed the accept link of ``code``: the code is in its session."""
    client = client or Client()
    assert client.get(link(code)).status_code == 302
    return client


def fields(username: str = "ana", email: str = "ana@example.com", password: str = PASSWORD) -> dict[str, str]:
    return {"registrar": "1", "username": username, "email": email, "password": password}


def html_of(response: Any) -> str:
    return response.content.decode()


def signed_up(response: Any) -> bool:
    """Whether a POST of the page used the invite: it answers the page that says so (the sign-up without
    ``SIGNUP_REDIRECT_URL``, and the logged-in user's button)."""
    return response.status_code == 200 and "convites-accepted" in html_of(response)


def errors_beside(html: str, field: str) -> str:
    """The text of the error list Django renders just before ``field``'s label (``as_p``)."""
    found = re.search(rf'<ul class="errorlist"[^>]*>(.*?)</ul>\s*<p>\s*<label for="id_{field}"', html, re.S)
    assert found, f"no error beside {field}:\n{html}"
    return found.group(1)


@pytest.fixture
def bound(users: dict[str, Any]) -> invites.IssuedInvite:
    return issue(users["admin"], email="Ana@Example.com", link_base="http://testserver")


@pytest.fixture
def open_invite(users: dict[str, Any]) -> invites.IssuedInvite:
    return issue(users["admin"])


# -- the form -----------------------------------------------------------------------------------------------


def test_an_anonymous_visitor_sees_the_sign_up_form_with_the_bound_address(bound):
    page = opened(bound.code).get(PAGE)
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert page["Referrer-Policy"] == "same-origin"
    html = html_of(page)
    assert bound.code not in html
    for field in ("username", "email", "password"):
        assert re.search(rf'<label for="id_{field}">[^<]+</label>', html), field
    assert re.search(r'<input type="email" name="email" value="Ana@example.com"[^>]*id="id_email"', html)
    assert 'name="password"' in html and 'value="' not in re.search(r'<input type="password"[^>]*>', html).group(0)
    assert 'name="registrar"' in html and 'name="csrfmiddlewaretoken"' in html
    assert "/accounts/login/?next=%2Ftokens%2Fconvites%2Faceitar%2F" in html


def test_the_page_names_the_organization_and_nuclei_it_grants(users):
    organization, nuclei = make_org("Casa Azul")
    issued = issue(users["admin"], organization=organization.pk, nuclei=[nucleus.pk for nucleus in nuclei])
    html = html_of(opened(issued.code).get(PAGE))
    assert str(organization) in html
    for nucleus in nuclei:
        assert str(nucleus) in html


def test_an_invite_without_an_address_leaves_the_field_empty(open_invite):
    html = html_of(opened(open_invite.code).get(PAGE))
    assert re.search(r'<input type="email" name="email"(?![^>]*value=)[^>]*>', html)


def test_a_logged_in_user_sees_the_button_and_no_sign_up(open_invite, users):
    client = opened(open_invite.code, browser_as(users["usuario"]))
    html = html_of(client.get(PAGE))
    assert 'name="registrar"' not in html and 'name="password"' not in html
    assert "<button" in html


# -- signing up ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "target"),
    [
        ({}, None),  # the page that says so, with a link on to the site
        ({"SIGNUP_REDIRECT_URL": "/bem-vindo/"}, "/bem-vindo/"),
        ({"SIGNUP_REDIRECT_URL": "django_convites:invite-validate"}, "/tokens/convites/validar/"),
    ],
)
def test_a_sign_up_makes_the_account_spends_the_invite_and_logs_in(bound, convites_settings, setting, target):
    convites_settings(**setting)
    client = opened(bound.code)
    response = client.post(PAGE, fields(email="ana@EXAMPLE.com"))
    if target is None:
        assert response.status_code == 200, html_of(response)
        html = html_of(response)
        assert "Your account is ready and the invite is accepted." in html
        assert 'class="convites-button" href="/"' in html  # Continue to the site: LOGIN_REDIRECT_URL is not set
        assert "Logged in as ana." in html
    else:
        assert response.status_code == 302, html_of(response)
        assert response["Location"] == target
    user = get_user_model()._default_manager.get(username="ana")
    assert user.email == "ana@example.com" and user.check_password(PASSWORD)
    invite = Invite.objects.get(pk=bound.invite.pk)
    assert invite.used_by == user and invite.state().value == "usado"
    assert client.session[SESSION_KEY] == str(user.pk)
    assert ACCEPT_SESSION_KEY not in client.session
    assert not SessionFamily.objects.exists()  # a Django session, no JWT session
    assert sorted(row.event for row in AuditEvent.objects.filter(actor=user)) == ["convite_usado", "login"]
    # Back on the page: the code is gone, so it asks for the link.
    again = client.get(PAGE)
    assert again.status_code == 400 and bound.code not in html_of(again)


def test_a_bound_invite_refuses_another_address_beside_the_field(bound):
    client = opened(bound.code)
    response = client.post(PAGE, fields(email="bia@example.com"))
    assert response.status_code == 400
    html = html_of(response)
    assert str(InviteEmailMismatch().detail) in errors_beside(html, "email")
    assert 'value="ana"' in html  # what the person typed stays in the form, but for the password
    assert PASSWORD not in html
    assert_nothing_written(bound.invite)
    assert signed_up(client.post(PAGE, fields(email="ana@example.com")))


@override_settings(AUTH_PASSWORD_VALIDATORS=DJANGO_VALIDATORS)
def test_the_password_validators_refuse_a_weak_password_beside_the_field(open_invite):
    client = opened(open_invite.code)
    response = client.post(PAGE, fields(password="12345"))
    assert response.status_code == 400
    beside = errors_beside(html_of(response), "password")
    assert "This password is too short. It must contain at least 8 characters." in beside
    assert "This password is too common." in beside
    assert "This password is entirely numeric." in beside
    assert "Your password can’t be entirely numeric." in html_of(response)  # the validators' help
    assert_nothing_written(open_invite.invite)


def test_a_username_taken_already_is_an_error_beside_the_field(open_invite):
    response = opened(open_invite.code).post(PAGE, fields(username="usuario"))
    assert response.status_code == 400
    assert "A user with that username already exists." in errors_beside(html_of(response), "username")
    assert_nothing_written(open_invite.invite)


@pytest.mark.parametrize(
    "data",
    [
        {"registrar": "1"},
        {"registrar": "1", "username": "x" * 200, "email": "ana", "password": "p"},
        {"registrar": "1", "username": "ana", "email": "ana@example.com", "password": "p", "is_superuser": "1"},
        {"registrar": "1", "username": "\x00", "email": "ana@example.com\n", "password": "\x00"},
    ],
)
def test_hostile_input_is_a_form_error_never_a_500(open_invite, data):
    response = opened(open_invite.code).post(PAGE, data)
    assert response.status_code in (200, 400), response.status_code
    assert not get_user_model()._default_manager.filter(is_superuser=True, username="ana").exists()
    if not signed_up(response):
        assert_nothing_written(open_invite.invite)


class HostError(RuntimeError):
    pass


def test_a_host_receiver_that_raises_leaves_no_user_and_the_page_says_so(open_invite):
    def attach(sender: Any, user: Any, **kwargs: Any) -> None:
        raise HostError("the host could not attach the member")

    client = opened(open_invite.code)
    signals.invite_used.connect(attach, weak=False)
    try:
        response = client.post(PAGE, fields())
    finally:
        signals.invite_used.disconnect(attach)
    assert response.status_code == 503
    assert "Your account could not be created." in html_of(response)
    assert 'name="registrar"' in html_of(response)  # the form, to try again
    assert_nothing_written(open_invite.invite)
    assert Invite.objects.get().state().value == "novo"
    assert SESSION_KEY not in client.session and client.session[ACCEPT_SESSION_KEY] == open_invite.code
    assert signed_up(client.post(PAGE, fields()))  # once the host works again


def test_a_host_receiver_refusing_is_shown_and_rolls_back(open_invite):
    def refuse(sender: Any, **kwargs: Any) -> None:
        raise NotAllowed()

    signals.invite_used.connect(refuse, weak=False)
    try:
        response = opened(open_invite.code).post(PAGE, fields())
    finally:
        signals.invite_used.disconnect(refuse)
    assert response.status_code == 403
    assert str(NotAllowed().detail) in html_of(response)
    assert_nothing_written(open_invite.invite)


def test_an_invite_used_meanwhile_says_so_and_makes_no_account(open_invite, users):
    client = opened(open_invite.code)
    invites.use_invite(open_invite.code, user=users["usuario"])
    response = client.post(PAGE, fields())
    assert response.status_code == 409
    assert "already been used" in html_of(response)
    assert not new_users().exists()


def test_a_logged_in_user_posting_the_sign_up_makes_nothing(open_invite, users):
    client = opened(open_invite.code, browser_as(users["usuario"]))
    assert client.post(PAGE, fields()).status_code == 400
    open_invite.invite.refresh_from_db()
    assert open_invite.invite.used_at is None and not new_users().exists()
    assert client.session[SESSION_KEY] == str(users["usuario"].pk)


def test_without_the_link_a_sign_up_makes_nothing(open_invite):
    assert Client().post(PAGE, fields()).status_code == 400
    assert_nothing_written(open_invite.invite)


def test_the_sign_up_needs_the_csrf_token(open_invite):
    client = opened(open_invite.code, Client(enforce_csrf_checks=True))
    assert client.post(PAGE, fields()).status_code == 403
    assert_nothing_written(open_invite.invite)
    page = client.get(PAGE)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html_of(page)).group(1)
    assert signed_up(client.post(PAGE, {**fields(), "csrfmiddlewaretoken": token}))


def holding(code: str, **defaults: Any) -> Client:
    """A browser whose session holds ``code`` without having opened the link (which spends the budget)."""
    client = Client(**defaults)
    session = client.session
    session[ACCEPT_SESSION_KEY] = code
    session.save()
    return client


def test_sign_ups_are_throttled_per_client_ip_on_the_validation_budget(users, convites_settings):
    convites_settings(INVITE_VALIDATION_RATE="3/minute")
    client = opened(issue(users["admin"]).code)  # the link counts one
    assert client.post(PAGE, fields(password="")).status_code == 400
    assert signed_up(client.post(PAGE, fields()))
    other = issue(users["admin"])
    answer = holding(other.code).post(PAGE, fields("bia", "bia@example.com"))
    assert answer.status_code == 429
    assert int(answer["Retry-After"]) >= 1
    assert "Too many attempts. Try again in a minute." in html_of(answer)
    assert not new_users().filter(username="bia").exists()
    elsewhere = holding(other.code, REMOTE_ADDR="10.9.8.7")
    assert signed_up(elsewhere.post(PAGE, fields("bia", "bia@example.com")))


# -- logging in instead, and a site's own sign-up -------------------------------------------------------


def test_the_code_survives_a_login_and_the_button_uses_it(open_invite, users):
    client = opened(open_invite.code)
    client.force_login(users["usuario"])  # django.contrib.auth.login(), as the login page calls it
    assert client.session[ACCEPT_SESSION_KEY] == open_invite.code
    response = client.post(PAGE)
    assert signed_up(response) and "You accepted the invite." in html_of(response)
    assert Invite.objects.get().used_by == users["usuario"]
    assert ACCEPT_SESSION_KEY not in client.session


@pytest.mark.parametrize(
    ("value", "href"),
    [("/contas/cadastro/", "/contas/cadastro/"), ("django_convites:invite-validate", "/tokens/convites/validar/")],
)
def test_with_signup_url_the_page_links_to_the_sites_sign_up(open_invite, convites_settings, value, href):
    convites_settings(SIGNUP_URL=value)
    client = opened(open_invite.code)
    html = html_of(client.get(PAGE))
    assert f'href="{href}">Create an account to accept it</a>' in html
    assert 'name="password"' not in html and 'name="registrar"' not in html
    assert client.session[ACCEPT_SESSION_KEY] == open_invite.code  # for the site's sign-up to read
    assert client.post(PAGE, fields()).status_code == 400  # the page's own form is off
    assert_nothing_written(open_invite.invite)


# -- secrets and resources -------------------------------------------------------------------------------


@override_settings(AUTH_PASSWORD_VALIDATORS=DJANGO_VALIDATORS)
def test_no_code_or_password_in_the_page_after_the_redirect_the_audit_log_or_the_logs(users, caplog):
    caplog.set_level(logging.DEBUG)
    bound_one = issue(users["admin"], email="ana@example.com", link_base="http://testserver")
    other = issue(users["admin"])
    pages = []
    client = opened(bound_one.code)
    pages.append(client.get(PAGE))
    pages.append(client.post(PAGE, fields(email="bia@example.com")))  # refused: another address
    pages.append(client.post(PAGE, fields(password="curta")))
    done = client.post(PAGE, fields())
    pages.append(done)
    assert done.status_code == 200 and "invite is accepted" in html_of(done)
    second = opened(other.code)
    pages.append(second.post(PAGE, fields("ana", "ana2@example.com")))  # refused: the username is taken
    rows = " ".join(f"{row.event} {row.details} {row.ip} {row.user_agent}" for row in AuditEvent.objects.all())
    logged = " ".join(f"{record.getMessage()} {record.args}" for record in caplog.records)
    seen = " ".join(html_of(page) for page in pages)
    for secret in (bound_one.code, other.code, PASSWORD, "curta"):
        assert secret not in rows
        assert secret not in logged
        assert secret not in seen
    assert "convite_usado" in rows and "convite_uso_falhou" in rows


class _Resources(HTMLParser):
    """Every URL a page would load or send to: ``src``, ``href``, ``action``, ``srcset``, ``data``, ``poster``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "action", "srcset", "data", "poster", "formaction"} and value is not None:
                self.urls.append(value)


def third_party(html: str) -> list[str]:
    """The URLs of ``html`` that name a host or a scheme: anything but the site's own paths. A ``data:`` URL
    (the backup codes' download, built into the page) asks no host for anything."""
    parser = _Resources()
    parser.feed(html)
    assert "<style" not in html or "url(" not in html
    return [
        url for url in parser.urls if (urlsplit(url).netloc or urlsplit(url).scheme) and urlsplit(url).scheme != "data"
    ]


def test_the_pages_that_show_an_invite_load_nothing_from_another_host(open_invite, users, convites_settings):
    anonymous = opened(open_invite.code)
    logged_in = opened(open_invite.code, browser_as(users["usuario"]))
    rendered = [anonymous.get(PAGE), logged_in.get(PAGE), anonymous.post(PAGE, fields(password=""))]
    convites_settings(SIGNUP_URL="/contas/cadastro/")
    rendered.append(anonymous.get(PAGE))
    pages = [html_of(page) for page in rendered]
    pages.append(render_to_string("django_convites/base.html"))
    for html in pages:
        assert third_party(html) == [], html
    assert third_party('<img src="https://cdn.example.net/x.png">') == ["https://cdn.example.net/x.png"]
    assert third_party('<link href="//fonts.example.net/a.css">') == ["//fonts.example.net/a.css"]


# -- concurrency (PostgreSQL and MySQL) ---------------------------------------------------------------------

RACERS = 30


@pytest.mark.parallel_db
def test_30_parallel_page_sign_ups_and_api_uses_have_one_winner(convites_settings):
    convites_settings(INVITE_VALIDATION_RATE=None)
    issued = issue(make_user("emissor", role="admin"))
    members = [make_user(f"membro{index}") for index in range(RACERS)]
    apis = [api_as(member) for member in members]
    browsers = [opened(issued.code) for _ in range(RACERS)]

    def work(index: int) -> None:
        if index % 2:
            response = apis[index].post(f"/api/tokens/{issued.code}/use/", {}, format="json")
            if response.status_code != 200:
                raise api_error(response)
        else:
            response = browsers[index].post(PAGE, fields(f"novo{index}", f"novo{index}@example.com"))
            if not signed_up(response):
                raise ConvitesError(code=f"status {response.status_code}")

    outcomes = race(work, threads=RACERS)
    assert outcomes["ok"] == 1, outcomes
    assert set(outcomes) <= {"ok", "invite_used", "status 409"}, outcomes
    assert sum(outcomes.values()) == RACERS
    invite = Invite.objects.get()
    created = list(get_user_model()._default_manager.filter(username__startswith="novo"))
    assert len(created) <= 1
    assert invite.used_by in [*members, *created]
    assert (len(created) == 1) is (invite.used_by in created)
    assert AuditEvent.objects.filter(event="convite_usado").count() == 1


@pytest.mark.parallel_db
def test_30_parallel_page_and_api_sign_ups_with_one_code_make_one_account(convites_settings):
    convites_settings(INVITE_VALIDATION_RATE=None)
    issued = issue(make_user("emissor", role="admin"))
    browsers = [opened(issued.code) for _ in range(RACERS)]

    def work(index: int) -> None:
        data = fields(f"novo{index}", f"novo{index}@example.com")
        if index % 2:
            del data["registrar"]
            response = APIClient().post(f"/api/tokens/{issued.code}/registrar/", data, format="json")
            if response.status_code != 201:
                raise api_error(response)
        else:
            response = browsers[index].post(PAGE, data)
            if not signed_up(response):
                raise ConvitesError(code=f"status {response.status_code}")

    outcomes = race(work, threads=RACERS)
    assert outcomes["ok"] == 1, outcomes
    assert set(outcomes) <= {"ok", "invite_used", "status 409"}, outcomes
    (user,) = get_user_model()._default_manager.filter(username__startswith="novo")
    assert Invite.objects.get().used_by == user
    assert AuditEvent.objects.filter(event="convite_usado").count() == 1
    assert Counter(outcomes)["ok"] == 1
