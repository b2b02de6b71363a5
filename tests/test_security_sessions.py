"""Issue 11, findings 4, 8, 9, 10 and 13: login input, refresh of a deactivated user, the absolute end of a
session, token-shaped client strings in the audit, and auditing and throttling every login of the site."""

from __future__ import annotations

import datetime

import jwt
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory, override_settings
from django.urls import include, path
from django.utils import timezone
from django.views.debug import ExceptionReporter

from django_convites import checks
from django_convites._db import deferred
from django_convites.api.views.sessions import LoginView as ApiLoginView
from django_convites.exceptions import InactiveUser
from django_convites.models import AuditEvent, RefreshToken, SessionFamily
from django_convites.services import sessions
from django_convites.views import LoginView, throttle_login
from tests.factories import bearer, confirmed_totp, events, login_pair, post_login, post_refresh, totp_code
from tests.invites import error_of

LOGIN = "/api/auth/token/"
SESSIONS = "/api/auth/sessoes/"
SITE_LOGIN = "/entrar/"
ADMIN_LOGIN = "/admin/login/"

# The URLs of the login-page tests (``@pytest.mark.urls(__name__)``): a host that mounts the app's login
# view and wraps the admin's.
urlpatterns = [
    path("entrar/", LoginView.as_view(template_name="admin/login.html"), name="login"),
    path("admin/login/", throttle_login(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/", include("django_convites.api.urls")),
]

TOKEN_SHAPED = "cvp_" + "A" * 33


def parse_time(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- 4: the login takes strings only, and the username throttle counts the string it tries -----------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"username": 55501234, "password": "x"},
        {"username": 5.5, "password": "x"},
        {"username": True, "password": "x"},
        {"username": "55501234", "password": 1234},
        {"username": "55501234", "password": "x", "otp": 123456},
    ],
)
def test_a_login_field_that_is_no_string_is_400_and_not_tried(api_client, django_user_model, body):
    django_user_model.objects.create_user(username="55501234", password="x")
    error_of(api_client.post(LOGIN, body, format="json"), 400, "invalid")
    assert not SessionFamily.objects.exists()
    assert not AuditEvent.objects.filter(event__in=["login", "login_falhou"]).exists()


@pytest.mark.django_db
def test_the_username_throttle_counts_the_normalized_username(api_client, users, convites_settings):
    convites_settings(LOGIN_RATE=None, LOGIN_USERNAME_RATE="2/minute")
    for address in ("198.51.100.1", "198.51.100.2"):
        body = {"username": "usuario", "password": "errada"}
        assert api_client.post(LOGIN, body, format="json", REMOTE_ADDR=address).status_code == 401
    # Full-width letters are the same username once NFKC-normalized, as Django's login form sees it.
    body = {"username": "ｕｓｕａｒｉｏ", "password": "x"}
    error_of(api_client.post(LOGIN, body, format="json", REMOTE_ADDR="198.51.100.3"), 429, "throttled")
    assert not SessionFamily.objects.exists()


@pytest.mark.django_db
def test_the_login_hands_authenticate_the_normalized_username(api_client, users):
    assert post_login(api_client, "ｕｓｕａｒｉｏ").status_code == 200
    assert SessionFamily.objects.get().user == users["usuario"]
    assert (
        sessions.username_key("ｕｓｕａｒｉｏ")
        == sessions.username_key(" USUARIO ")
        == sessions.username_key("usuario")
    )
    assert sessions.username_key(55501234) is None


@pytest.mark.django_db
def test_the_otp_is_not_trimmed(api_client, users):
    code = totp_code(confirmed_totp(users["usuario"], name="app").device)
    error_of(post_login(api_client, otp=f" {code} "), 401, "otp_invalid")


# -- 8: a deactivated user cannot refresh -----------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_of_a_user_deactivated_by_update_is_401_and_ends_the_session(api_client, users):
    pair = login_pair(api_client)
    get_user_model().objects.filter(pk=users["usuario"].pk).update(is_active=False)
    error_of(post_refresh(api_client, pair["refresh"]), 401, "authentication_failed")
    family = SessionFamily.objects.get()
    assert family.revoked_at is not None and family.revoked_reason == "usuario_desativado"
    (event,) = events("sessao_revogada")
    assert event.details == {"motivo": "usuario_desativado"} and event.target_id == str(family.pk)
    assert RefreshToken.objects.filter(used_at__isnull=True).count() == 1  # nothing was spent
    assert not events("token_renovado")
    # Reactivated, the session stays ended.
    get_user_model().objects.filter(pk=users["usuario"].pk).update(is_active=True)
    error_of(post_refresh(api_client, pair["refresh"]), 401, "token_revoked")


@pytest.mark.django_db(transaction=True)
def test_the_deactivation_revocation_survives_a_rolled_back_transaction(users):
    pair = sessions.login(username="usuario", password="x")
    get_user_model().objects.filter(pk=users["usuario"].pk).update(is_active=False)
    with pytest.raises(InactiveUser), transaction.atomic():
        sessions.refresh(pair.refresh)
    deferred.flush()
    assert SessionFamily.objects.get().revoked_reason == "usuario_desativado"
    assert [event.details["motivo"] for event in events("sessao_revogada")] == ["usuario_desativado"]


# -- 9: a session has an absolute end ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_login_fixes_the_session_end_and_every_pair_and_the_list_carry_it(api_client, users):
    before = timezone.now()
    pair = login_pair(api_client)
    family = SessionFamily.objects.get()
    assert family.expires_at == family.created_at + datetime.timedelta(days=30)
    assert before + datetime.timedelta(days=30) <= family.expires_at
    assert parse_time(pair["sessao_expira_em"]) == family.expires_at
    second = post_refresh(api_client, pair["refresh"]).json()
    assert parse_time(second["sessao_expira_em"]) == family.expires_at  # a refresh never moves it
    SessionFamily.objects.update(expires_at=timezone.now() + datetime.timedelta(minutes=10))
    third = post_refresh(api_client, second["refresh"]).json()
    end = SessionFamily.objects.get().expires_at
    assert parse_time(third["sessao_expira_em"]) == end
    assert parse_time(third["refresh_expira_em"]) == end == RefreshToken.objects.get(used_at__isnull=True).expires_at
    (row,) = bearer(third["access"], client=api_client).get(SESSIONS).json()["results"]
    assert parse_time(row["sessao_expira_em"]) == end


@pytest.mark.django_db
def test_no_token_outlives_the_session(api_client, users, convites_settings):
    convites_settings(SESSION_MAX_LIFETIME=datetime.timedelta(hours=1), ACCESS_TOKEN_LIFETIME=7200)
    pair = login_pair(api_client)
    end = SessionFamily.objects.get().expires_at
    assert end - SessionFamily.objects.get().created_at == datetime.timedelta(hours=1)
    assert parse_time(pair["refresh_expira_em"]) == end == parse_time(pair["access_expira_em"])
    assert jwt.decode(pair["access"], options={"verify_signature": False})["exp"] == int(end.timestamp())
    assert RefreshToken.objects.get().expires_at == end


@pytest.mark.django_db
def test_a_refresh_after_the_session_end_is_401_token_expired(api_client, users):
    pair = login_pair(api_client)
    SessionFamily.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    error_of(post_refresh(api_client, pair["refresh"]), 401, "token_expired")
    assert RefreshToken.objects.get().used_at is None
    assert bearer(pair["access"], client=api_client).get(SESSIONS).json()["results"] == []  # no longer live


@pytest.mark.django_db
def test_a_session_from_before_the_field_ends_by_the_setting(api_client, users):
    pair = login_pair(api_client)
    SessionFamily.objects.update(expires_at=None, created_at=timezone.now() - datetime.timedelta(days=31))
    error_of(post_refresh(api_client, pair["refresh"]), 401, "token_expired")


@pytest.mark.parametrize(
    ("value", "ok"),
    [(3600, True), (datetime.timedelta(days=366), True), (3599, False), (367 * 86400, False), ("30d", False)],
)
def test_session_max_lifetime_is_checked(value, ok):
    with override_settings(DJANGO_CONVITES={"SESSION_MAX_LIFETIME": value}):
        assert [message.id for message in checks.check_settings()] == ([] if ok else ["django_convites.E041"])


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_sessions_thirty_days(users):
    executor = MigrationExecutor(connection)
    executor.migrate([("django_convites", "0008_totp_secrets")])
    old = MigrationExecutor(connection).loader.project_state([("django_convites", "0008_totp_secrets")]).apps
    created = timezone.now() - datetime.timedelta(days=2)
    family = old.get_model("django_convites", "SessionFamily").objects.create(
        user_id=users["usuario"].pk, created_at=created
    )
    executor = MigrationExecutor(connection)
    executor.migrate([("django_convites", "0009_session_absolute_end")])
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("django_convites"))
    assert SessionFamily.objects.get(pk=family.pk).expires_at == created + datetime.timedelta(days=30)


# -- 10: token-shaped client strings are redacted in the audit, and login secrets are sensitive -------------


@pytest.mark.django_db
def test_a_token_shaped_username_is_401_and_audited_redacted(api_client, users):
    error_of(post_login(api_client, TOKEN_SHAPED, "senha-secreta"), 401, "invalid_credentials")
    (failed,) = events("login_falhou")
    assert failed.details == {"motivo": "invalid_credentials", "usuario_informado": "cvp_[redacted]"}
    assert TOKEN_SHAPED not in str(failed.details) and "senha-secreta" not in str(failed.details)


@pytest.mark.django_db
def test_an_api_token_with_a_token_shaped_name_is_created_and_audited_redacted(api_client, users):
    api_client.force_authenticate(users["usuario"])
    response = api_client.post("/api/api-tokens/", {"nome": f"ci {TOKEN_SHAPED}", "scope": "read"}, format="json")
    assert response.status_code == 201, response.content
    (issued,) = events("api_token_gerado")
    assert TOKEN_SHAPED not in str(issued.details)
    assert issued.details["nome"] == "ci cvp_[redacted]"


class ExplodingBackend:
    """An authentication backend that fails: the error report must not show the password."""

    def authenticate(self, request, **credentials):
        raise RuntimeError("backend down")


@pytest.mark.django_db
@override_settings(AUTHENTICATION_BACKENDS=["tests.test_security_sessions.ExplodingBackend"])
def test_an_error_report_of_the_login_hides_the_password(users):
    secret = "senha-muito-secreta"
    request = RequestFactory().post(LOGIN, {"username": "usuario", "password": secret}, content_type="application/json")
    with pytest.raises(RuntimeError) as info:
        ApiLoginView.as_view()(request)
    reporter = ExceptionReporter(request, info.type, info.value, info.tb)
    frames = [frame for frame in reporter.get_traceback_frames() if "/tests/" not in frame["filename"]]
    assert {"post", "login"} <= {frame["function"] for frame in frames if "django_convites" in frame["filename"]}
    for frame in frames:
        assert secret not in str(frame["vars"]), frame["function"]


# -- 13: every login of the site is audited, and the login pages are throttled -----------------------------


@pytest.mark.django_db
def test_a_session_login_and_a_failed_one_are_audited(client, users):
    assert client.login(username="usuario", password="x")
    (event,) = events("login")
    assert (event.actor, event.target_type, event.details) == (users["usuario"], "", {"via": "django"})
    assert not client.login(username=TOKEN_SHAPED, password="senha-secreta")
    (failed,) = events("login_falhou")
    assert failed.details == {"motivo": "invalid_credentials", "usuario_informado": "cvp_[redacted]", "via": "django"}
    assert "senha-secreta" not in str(failed.details)


@pytest.mark.django_db
def test_a_jwt_login_writes_one_event(api_client, users):
    error_of(post_login(api_client, password="errada"), 401, "invalid_credentials")
    assert post_login(api_client).status_code == 200
    assert [(e.event, e.details) for e in AuditEvent.objects.order_by("id")] == [
        ("login_falhou", {"motivo": "invalid_credentials", "usuario_informado": "usuario"}),
        ("login", {}),
    ]


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_login_page_logs_in_and_is_audited(client, users):
    response = client.post(SITE_LOGIN, {"username": "usuario", "password": "x"}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    (event,) = events("login")
    assert (event.actor, event.ip) == (users["usuario"], "203.0.113.9")
    response = client.post(SITE_LOGIN, {"username": "usuario", "password": "errada"}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    (failed,) = events("login_falhou")
    assert (failed.ip, failed.details["usuario_informado"]) == ("203.0.113.9", "usuario")


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_login_page_is_throttled_per_username_with_the_jwt_login(client, api_client, users, convites_settings):
    convites_settings(LOGIN_RATE=None, LOGIN_USERNAME_RATE="2/minute")
    assert client.post(SITE_LOGIN, {"username": "usuario", "password": "errada"}).status_code == 200
    error_of(post_login(api_client, " USUARIO ", "errada"), 401, "invalid_credentials")  # the same budget
    response = client.post(SITE_LOGIN, {"username": "Usuario", "password": "x"}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.content.decode()
    assert len(events("login_falhou")) == 2  # the throttled attempt tried no password
    assert not events("login") and "_auth_user_id" not in client.session
    assert client.post(SITE_LOGIN, {"username": "gestor", "password": "x"}).status_code == 302


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_the_login_page_is_throttled_per_ip(client, users, convites_settings):
    convites_settings(LOGIN_RATE="2/minute", LOGIN_USERNAME_RATE=None)
    for username in ("usuario", "gestor"):
        assert client.post(SITE_LOGIN, {"username": username, "password": "errada"}).status_code == 200
    assert client.post(SITE_LOGIN, {"username": "admin", "password": "x"}).status_code == 429
    assert (
        client.post(SITE_LOGIN, {"username": "admin", "password": "x"}, REMOTE_ADDR="198.51.100.8").status_code == 302
    )


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_wrapped_admin_login_is_throttled(client, users, convites_settings):
    convites_settings(LOGIN_RATE=None, LOGIN_USERNAME_RATE="1/minute")
    users["root"].is_staff = True
    users["root"].save()
    assert client.get(ADMIN_LOGIN).status_code == 200
    assert client.post(ADMIN_LOGIN, {"username": "root", "password": "errada"}).status_code == 200
    response = client.post(ADMIN_LOGIN, {"username": "root", "password": "x"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    assert client.post(ADMIN_LOGIN, {"username": "admin", "password": "x"}).status_code in {200, 302}
