"""The HTML pages as a whole (docs/templates.rst): every page in the app's frame, styled by its own
stylesheet and nothing from another host; the links on from each page; the backup codes of the browser
(when two-factor authentication is turned on, and on ``/tokens/codigos-backup/``); and the name
authenticator apps show (``TOTP_ISSUER``) in the ``otpauth://`` URI and its QR code."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import segno
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import LoginView
from django.contrib.staticfiles import finders
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client, RequestFactory, override_settings
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from django_convites import views
from django_convites.models import AuditEvent, BackupCode
from django_convites.net import RequestMeta
from django_convites.services import backup_codes, two_factor
from tests.factories import (
    api_as,
    browser_as,
    confirmed_totp,
    events,
    issue,
    make_backup_codes,
    make_user,
    totp_code,
    wrong_code,
)
from tests.test_invite_accept_page import opened, third_party

pytestmark = pytest.mark.django_db

ENABLE = "/tokens/ativar-2fa/"
DISABLE = "/tokens/desativar-2fa/"
VERIFY = "/tokens/verificar-2fa/"
CODES = "/tokens/codigos-backup/"
ISSUE = "/tokens/convites/gerar/"
VALIDATE = "/tokens/convites/validar/"
ACCEPT = "/tokens/convites/aceitar/"
STYLESHEET = '<link rel="stylesheet" href="/static/django_convites/convites.css">'
SCRIPT = '<script src="/static/django_convites/convites.js" defer></script>'
BACKUP_CODE = re.compile(r"[a-z2-7]{4}(?:-[a-z2-7]{4}){3}")


def html_of(response: Any) -> str:
    return str(response.content.decode())


def codes_in(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z2-7-]+)</code></li>", html)


def download_of(html: str) -> str:
    """The text file the page's download link holds (a ``data:`` URL built into the page)."""
    found = re.search(r'href="data:text/plain;charset=utf-8,([^"]*)" download="backup-codes.txt"', html)
    assert found, html
    return unquote(found.group(1))


def secret_on(html: str) -> str:
    found = re.search(r'class="convites-secret">([A-Z2-7]+)<', html)
    assert found, html
    return found.group(1)


def enrolled(client: Client) -> str:
    """Open the enable page (which prepares a device): its secret."""
    return secret_on(html_of(client.get(ENABLE)))


# -- every page -------------------------------------------------------------------------------------------


def every_page(users: dict[str, Any]) -> list[tuple[str, str]]:
    """``(what, html)`` of every page of the app in each of its states."""
    pages: list[tuple[str, str]] = []
    gestor = browser_as(users["gestor"])
    pages.append(("issue", html_of(gestor.get(ISSUE))))
    pages.append(("issued", html_of(gestor.post(ISSUE, {"tipo_destino": "associado"}))))
    anonymous = Client()
    pages.append(("validate", html_of(anonymous.get(VALIDATE))))
    code = issue(users["admin"]).code
    pages.append(("validated", html_of(anonymous.post(VALIDATE, {"codigo": code}))))
    pages.append(("accept, missing", html_of(Client().get(ACCEPT))))
    visitor = opened(code)
    pages.append(("accept, sign-up", html_of(visitor.get(ACCEPT))))
    member = opened(code, browser_as(make_user("membro")))
    pages.append(("accept, button", html_of(member.get(ACCEPT))))
    pages.append(("accepted", html_of(member.post(ACCEPT))))
    pages.append(("accept, used", html_of(opened(code).get(ACCEPT))))

    user = users["usuario"]
    browser = browser_as(user)
    pages.append(("codes, off", html_of(browser.get(CODES))))
    pages.append(("disable, off", html_of(browser.get(DISABLE))))
    secret = enrolled(browser)
    pages.append(("enable", html_of(browser.get(ENABLE))))
    pages.append(("enabled", html_of(browser.post(ENABLE, {"codigo": totp_code(secret)}))))
    pages.append(("enable, on", html_of(browser.get(ENABLE))))
    pages.append(("verify, verified", html_of(browser.get(VERIFY))))
    pages.append(("codes", html_of(browser.get(CODES))))
    device = TOTPDevice.objects.get(user=user)
    pages.append(("codes made", html_of(browser.post(CODES, {"codigo": totp_code(device, unspent=True)}))))
    again = browser_as(user)
    pages.append(("verify", html_of(again.get(VERIFY))))
    pages.append(("verify, backup code", html_of(again.post(VERIFY, {"codigo": make_backup_codes(user)[0]}))))
    pages.append(("disable", html_of(browser.get(DISABLE))))
    pages.append(("disabled", html_of(browser.post(DISABLE, {"codigo": totp_code(device, unspent=True)}))))

    login = LoginView.as_view(template_name="django_convites/login.html")
    request = RequestFactory().get("/entrar/")
    request.user = AnonymousUser()
    pages.append(("login", login(request).render().content.decode()))
    pages.append(("login throttled", render_to_string("django_convites/login_throttled.html", {"login_path": "/x/"})))
    pages.append(("database busy", render_to_string("django_convites/database_busy.html", {"detail": "Busy."})))
    return pages


@pytest.fixture
def pages(users: dict[str, Any]) -> list[tuple[str, str]]:
    return every_page(users)


def test_every_page_is_in_the_apps_frame_with_its_stylesheet(pages):
    assert len(pages) == 24
    for what, html in pages:
        assert html.startswith("<!DOCTYPE html>"), what
        assert '<html lang="en" dir="ltr">' in html, what
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html, what
        assert STYLESHEET in html, what
        assert '<a class="convites-skip" href="#convites-content">' in html, what
        assert '<a class="convites-home" href="/">Back to the site</a>' in html, what
        assert '<main id="convites-content" class="convites-main" tabindex="-1">' in html, what
        assert len(re.findall(r"<h1>", html)) == 1, what


def test_no_page_loads_anything_from_another_host(pages):
    for what, html in pages:
        assert third_party(html) == [], what
    assert third_party('<a href="data:text/plain,x" download="x.txt">x</a>') == []  # built in, no host
    assert third_party('<script src="https://cdn.example.net/x.js"></script>') == ["https://cdn.example.net/x.js"]


def test_only_the_pages_with_backup_codes_load_the_print_script(pages):
    with_script = {what for what, html in pages if SCRIPT in html}
    assert with_script == {"enable", "enabled", "enable, on", "codes", "codes made", "codes, off"}
    for what, html in pages:
        assert "<script" not in html.replace(SCRIPT, ""), what  # no inline script anywhere
        assert " onclick=" not in html, what


def test_the_stylesheet_and_the_script_ship_with_the_app():
    css = finders.find("django_convites/convites.css")
    js = finders.find("django_convites/convites.js")
    assert css and js
    text = Path(css).read_text(encoding="utf-8")
    assert "@import" not in text and "url(" not in text  # no font, image or other file
    assert ":focus-visible" in text and "@media print" in text and "@media (max-width" in text


def test_a_logged_in_page_says_who_is_logged_in(users):
    html = html_of(browser_as(users["usuario"]).get(VALIDATE))
    assert '<footer class="convites-footer">' in html and "Logged in as usuario." in html
    assert "convites-footer" not in html_of(Client().get(VALIDATE))


@override_settings(LOGIN_REDIRECT_URL="/painel/")
def test_back_to_the_site_is_login_redirect_url_when_the_site_sets_it():
    assert views.home_url() == "/painel/"
    assert '<a class="convites-home" href="/painel/">' in html_of(Client().get(VALIDATE))
    assert '<a class="convites-home" href="/painel/">' in render_to_string(
        "django_convites/database_busy.html", {"detail": "x"}
    )


def test_back_to_the_site_is_the_root_when_login_redirect_url_is_django_s_default():
    assert views.home_url() == "/"


SITE_BASE = """{% extends "django_convites/base.html" %}
{% block home_url %}/inicio/{% endblock %}
{% block home_label %}Home{% endblock %}
{% block nav_links %}<a href="/ajuda/">Help</a>{% endblock %}
{% block footer %}<footer>Example Inc.</footer>{% endblock %}
{% block extra_head %}<link rel="icon" href="/favicon.ico">{% endblock %}"""


def test_a_site_puts_the_pages_in_its_own_frame_by_overriding_the_base(users):
    loaders = [
        ("django.template.loaders.locmem.Loader", {"django_convites/base.html": SITE_BASE}),
        "django.template.loaders.app_directories.Loader",
    ]
    templates = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": loaders,
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                ],
            },
        }
    ]
    with override_settings(TEMPLATES=templates):
        html = html_of(browser_as(users["usuario"]).get(VALIDATE))
    assert '<a class="convites-home" href="/inicio/">Home</a>' in html
    assert '<a href="/ajuda/">Help</a>' in html
    assert "<footer>Example Inc.</footer>" in html and "Logged in as" not in html
    assert '<link rel="icon" href="/favicon.ico">' in html
    assert "<h1>Check an invite</h1>" in html and STYLESHEET in html


def test_the_pages_speak_portuguese(users):
    user = users["usuario"]
    browser = browser_as(user, HTTP_ACCEPT_LANGUAGE="pt-br")
    html = html_of(browser.get(CODES))
    assert '<html lang="pt-br" dir="ltr">' in html
    assert "Voltar ao site" in html
    secret = enrolled(browser)
    done = html_of(browser.post(ENABLE, {"codigo": totp_code(secret)}, HTTP_ACCEPT_LANGUAGE="pt-br"))
    assert "Seus códigos de backup" in done and "Baixar como arquivo de texto" in done
    with translation.override("pt-br"):
        text = views.backup_codes_text(["aaaa-bbbb-cccc-dddd"], account="ana", issuer="Exemplo")
    assert text.startswith("Códigos de backup de ana em Exemplo\n")


# -- backup codes: when two-factor authentication is turned on ---------------------------------------------


def test_turning_it_on_shows_ten_backup_codes_once_with_a_download(users):
    user = users["usuario"]
    browser = browser_as(user)
    secret = enrolled(browser)
    done = browser.post(ENABLE, {"codigo": totp_code(secret), "next": "/site/page/"})
    assert done.status_code == 200
    assert done["Cache-Control"] == "no-store" and done["Referrer-Policy"] == "same-origin"
    html = html_of(done)
    assert "Two-factor authentication is now on." in html
    codes = codes_in(html)
    assert len(codes) == len(set(codes)) == 10 and all(BACKUP_CODE.fullmatch(code) for code in codes)
    text = download_of(html)
    assert text.startswith("Backup codes of usuario at testserver\n")
    assert [line for line in text.splitlines() if BACKUP_CODE.fullmatch(line)] == codes
    assert 'class="convites-button" href="/site/page/"' in html  # on to where the user was going
    # Stored as digests only, made in the confirmation's transaction, audited as the API's are.
    assert BackupCode.objects.filter(device__user=user).count() == 10
    assert backup_codes.remaining(user) == 10
    (made,) = events("codigos_backup_gerados")
    assert (made.actor, made.details) == (user, {"quantidade": 10})
    assert [event.event for event in AuditEvent.objects.order_by("id")][-2:] == [
        "2fa_ativado",
        "codigos_backup_gerados",
    ]
    # Once: the page again says it is on, with how many codes are left, and shows none.
    again = html_of(browser.get(ENABLE))
    assert codes_in(again) == [] and "You have 10 unused backup codes." in again
    # Each code logs in once.
    assert two_factor.verify_user(user, codes[3]) and not two_factor.verify_user(user, codes[3])


def test_a_next_of_another_site_is_not_followed(users):
    browser = browser_as(users["usuario"])
    secret = enrolled(browser)
    html = html_of(browser.post(f"{ENABLE}?next=https://evil.example/", {"codigo": totp_code(secret)}))
    assert 'class="convites-button" href="/"' in html and "evil.example" not in html


def test_the_api_confirmation_makes_no_backup_codes(users):
    user = users["usuario"]
    client = api_as(user)
    secret = client.post("/api/2fa/totp/").json()["segredo"]
    assert client.post("/api/2fa/totp/confirmar/", {"codigo": totp_code(secret)}, format="json").status_code == 200
    assert backup_codes.remaining(user) == 0 and events("codigos_backup_gerados") == []


# -- backup codes: /tokens/codigos-backup/ -----------------------------------------------------------------


@pytest.fixture
def on(users):
    """``usuario`` with two-factor authentication on and a set of backup codes: (browser, device, codes)."""
    user = users["usuario"]
    device = confirmed_totp(user).device
    return browser_as(user), device, make_backup_codes(user)


def test_the_codes_page_needs_a_login():
    response = Client().get(CODES)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_without_two_factor_the_codes_page_says_so_and_links_to_turn_it_on(users):
    html = html_of(browser_as(users["usuario"]).get(CODES))
    assert "Backup codes come with two-factor authentication, which is off." in html
    assert f'href="{ENABLE}"' in html and 'name="codigo"' not in html
    refused = browser_as(users["usuario"]).post(CODES, {"codigo": "123456"})
    assert refused.status_code == 400 and events("codigos_backup_gerados") == []


def test_a_current_code_makes_ten_new_codes_shown_once(on, users, caplog):
    caplog.set_level(logging.DEBUG)
    browser, device, old = on
    page = browser.get(CODES)
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert "You have 10 unused backup codes." in html_of(page)
    done = browser.post(CODES, {"codigo": totp_code(device)})
    assert done.status_code == 200
    assert done["Cache-Control"] == "no-store" and done["Referrer-Policy"] == "same-origin"
    html = html_of(done)
    codes = codes_in(html)
    assert len(set(codes)) == 10 and not set(codes) & set(old)
    assert [line for line in download_of(html).splitlines() if BACKUP_CODE.fullmatch(line)] == codes
    assert "data-convites-print hidden" in html and SCRIPT in html
    # The old set no longer works; the new one does.
    user = users["usuario"]
    assert not two_factor.verify_user(user, old[0])
    assert two_factor.verify_user(user, codes[0])
    assert [event.details for event in events("codigos_backup_gerados")][-1] == {"quantidade": 10}
    # No code anywhere but in that answer: not in the session, the audit log or the logs.
    session = dict(browser.session.items())
    rows = " ".join(f"{row.event} {row.details}" for row in AuditEvent.objects.all())
    logged = " ".join(f"{record.getMessage()} {record.args}" for record in caplog.records)
    for code in codes:
        assert code not in str(session) and code not in rows and code not in logged
    assert codes_in(html_of(browser.get(CODES))) == []


def test_a_backup_code_or_a_wrong_code_makes_no_codes(on):
    browser, device, old = on
    for code in (old[0], wrong_code(totp_code(device)), "", "12345x"):
        response = browser.post(CODES, {"codigo": code})
        assert response.status_code == 400, code
        assert codes_in(html_of(response)) == []
        assert 'class="errorlist"' in html_of(response)
    assert len(events("codigos_backup_gerados")) == 1  # the fixture's
    # Each code the form let through was refused by the service, and audited (the empty one never got there).
    assert [event.details["acao"] for event in events("2fa_falhou")] == ["codigos_backup"] * 3


def test_the_codes_page_is_throttled_with_the_apis_budget(on, convites_settings):
    convites_settings(TWO_FACTOR_RATE="2/minute")
    browser, device, _old = on
    assert browser.post(CODES, {"codigo": "000000"}).status_code == 400
    assert browser.post(CODES, {"codigo": "000001"}).status_code == 400
    throttled = browser.post(CODES, {"codigo": totp_code(device)})
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) >= 1
    assert "Too many attempts." in html_of(throttled) and codes_in(html_of(throttled)) == []


def test_the_codes_page_counts_wrong_codes_into_the_lockout(on, convites_settings):
    convites_settings(TOTP_FAILURE_LIMIT=2, TWO_FACTOR_RATE=None)
    browser, device, _old = on
    right = totp_code(device)
    browser.post(CODES, {"codigo": wrong_code(right)})
    browser.post(CODES, {"codigo": wrong_code(right)})
    locked = browser.post(CODES, {"codigo": right})
    assert locked.status_code == 429 and int(locked["Retry-After"]) >= 1
    assert codes_in(html_of(locked)) == []


def test_the_codes_page_needs_csrf(on, users):
    _browser, device, _old = on
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["usuario"])
    assert strict.post(CODES, {"codigo": totp_code(device)}).status_code == 403


# -- the other pages' states and links ------------------------------------------------------------------


def test_a_verified_session_is_told_there_is_nothing_to_verify(users):
    browser = browser_as(users["usuario"])
    secret = enrolled(browser)
    browser.post(ENABLE, {"codigo": totp_code(secret)})  # verifies this session
    html = html_of(browser.get(f"{VERIFY}?next=/site/page/"))
    assert "there is nothing to verify" in html and 'name="codigo"' not in html
    assert 'class="convites-button" href="/site/page/"' in html


def test_a_current_totp_code_goes_straight_on(on):
    browser, device, _old = on
    response = browser.post(VERIFY, {"codigo": totp_code(device), "next": "/site/page/"})
    assert response.status_code == 302 and response["Location"] == "/site/page/"


def test_a_backup_code_says_how_many_are_left_and_urges_new_ones_when_few(on, users):
    browser, _device, old = on
    for code in old[:7]:
        assert two_factor.verify_user(users["usuario"], code)
    html = html_of(browser.post(VERIFY, {"codigo": old[7]}))
    assert "You have 2 unused backup codes left." in html and "Make a new set soon" in html
    assert f'href="{CODES}"' in html


def test_the_disable_page_without_two_factor_links_to_turn_it_on(users):
    html = html_of(browser_as(users["usuario"]).get(DISABLE))
    assert "there is nothing to turn off" in html and f'href="{ENABLE}"' in html


def test_after_turning_it_off_the_page_links_on_and_back(on):
    browser, device, _old = on
    html = html_of(browser.post(DISABLE, {"codigo": totp_code(device)}))
    assert "Two-factor authentication is off." in html and "backup codes were deleted" in html
    assert f'href="{ENABLE}">Turn it on again</a>' in html and 'class="convites-button" href="/"' in html


def test_the_issue_page_shows_the_accept_link_and_the_organizations_name(users):
    from tests.factories import make_org

    organization, _nuclei = make_org("Org Uma")
    html = html_of(
        browser_as(users["admin"]).post(ISSUE, {"tipo_destino": "associado", "organizacao": organization.pk})
    )
    code = re.search(r'class="convites-code">([^<]+)<', html).group(1)
    assert f'<code class="convites-link">http://testserver/tokens/convites/aceitar/{code}/</code>' in html
    assert "<dd>Org Uma</dd>" in html


# -- the issuer of the otpauth:// URI ------------------------------------------------------------------


def otpauth_parts(url: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    return parts.path.removeprefix("/"), parse_qs(parts.query)


def test_by_default_the_issuer_is_the_requests_host(users):
    data = api_as(users["usuario"]).post("/api/2fa/totp/", HTTP_HOST="contas.example.com:8443").json()
    label, query = otpauth_parts(data["otpauth_url"])
    assert label == "contas.example.com:usuario"
    assert query["issuer"] == ["contas.example.com"] and query["secret"] == [data["segredo"]]


def test_totp_issuer_names_the_site_in_the_label_and_the_parameter(users, convites_settings):
    convites_settings(TOTP_ISSUER="Acme & Filhos / RH")
    user = make_user("ana:silva")
    url = api_as(user).post("/api/2fa/totp/").json()["otpauth_url"]
    assert url.startswith("otpauth://totp/Acme%20%26%20Filhos%20%2F%20RH:ana%3Asilva?")
    assert url.endswith("&issuer=Acme%20%26%20Filhos%20%2F%20RH")
    label, query = otpauth_parts(url)
    assert unquote(label) == "Acme & Filhos / RH:ana:silva" and query["issuer"] == ["Acme & Filhos / RH"]
    assert "+" not in url  # a space is %20 (RFC 3986), never +


def test_the_enable_page_names_the_issuer_and_its_qr_code_holds_the_uri(users, convites_settings):
    convites_settings(TOTP_ISSUER="Exemplo Ltda")
    user = users["usuario"]
    html = html_of(browser_as(user).get(ENABLE))
    assert "Your app will list it as <strong>Exemplo Ltda</strong> (usuario)." in html
    enrolment = two_factor.pending_enrolment(user)
    assert enrolment is not None and enrolment.issuer == "Exemplo Ltda"
    assert enrolment.otpauth_url.startswith("otpauth://totp/Exemplo%20Ltda:usuario?secret=")
    assert enrolment.otpauth_url.endswith("&issuer=Exemplo%20Ltda")
    # The QR code on the page is the one of that URI, issuer and all: no reader ships with the test
    # suite, so the URI is encoded again and compared module by module.
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert svg == segno.make(enrolment.otpauth_url, error="m").svg_inline(scale=4, title="otpauth")
    assert svg != segno.make(enrolment.otpauth_url.replace("Exemplo", "Outro"), error="m").svg_inline(
        scale=4, title="otpauth"
    )


@override_settings(OTP_TOTP_ISSUER=lambda device: f"Conta {device.user.get_username()}")
def test_django_otps_own_issuer_setting_is_read_when_totp_issuer_is_none(users):
    url = api_as(users["usuario"]).post("/api/2fa/totp/").json()["otpauth_url"]
    assert url.endswith("&issuer=Conta%20usuario")


def test_a_colon_never_reaches_the_issuer(convites_settings):
    assert two_factor.issuer(meta=RequestMeta(host="[::1]")) == ""  # an IPv6 address names no site
    assert two_factor.issuer(meta=None) == ""
    with override_settings(OTP_TOTP_ISSUER="Acme: RH"):
        assert two_factor.issuer(meta=None) == "Acme RH"


def test_without_any_name_the_label_is_the_account_alone(users):
    device = confirmed_totp(users["usuario"]).device
    url = two_factor.otpauth_url(device, "")
    assert url.startswith("otpauth://totp/usuario?secret=") and "issuer" not in url


@pytest.mark.django_db(transaction=True)
def test_with_the_sites_framework_the_issuer_is_the_sites_name():
    from django.apps import apps

    installed = [*apps.get_app_configs()]
    with override_settings(INSTALLED_APPS=[config.name for config in installed] + ["django.contrib.sites"]):
        from django.contrib.sites.models import Site

        with connection.schema_editor() as editor:
            editor.create_model(Site)
        try:
            Site.objects.create(id=1, domain="contas.example.com", name="Contas Exemplo")
            meta = RequestMeta(host="contas.example.com")
            assert two_factor.issuer(meta=meta) == "Contas Exemplo"  # found by the request's host
            assert two_factor.issuer(meta=RequestMeta(host="outro.example.com")) == "outro.example.com"
            with override_settings(SITE_ID=1):
                Site.objects.clear_cache()
                assert two_factor.issuer(meta=RequestMeta(host="outro.example.com")) == "Contas Exemplo"
            with override_settings(SITE_ID=2):
                Site.objects.clear_cache()
                assert two_factor.issuer(meta=meta) == "contas.example.com"  # no such Site: the host
        finally:
            Site.objects.clear_cache()
            with connection.schema_editor() as editor:
                editor.delete_model(Site)
