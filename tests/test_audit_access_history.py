"""``GET /api/auditoria/acessos/``: which of a user's credentials were used, when, and from where."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from django_convites.models import ApiToken, AuditEvent, SessionFamily
from django_convites.services import api_tokens
from tests.factories import api_as, bearer, browser_as, jwt_login, make_api_token, make_user, post_refresh

pytestmark = pytest.mark.django_db

URL = "/api/auditoria/acessos/"


def history(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def entry(page, kind, credential_id=None):
    found = [c for c in page["credenciais"] if c["tipo"] == kind and c["id"] == credential_id]
    assert len(found) == 1, page
    return found[0]


def test_anonymous_gets_401(api_client):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_an_api_tokens_uses_are_counted_with_when_and_from_where(users):
    user = users["usuario"]
    token, secret = make_api_token(user, "read", name="deploy")
    client = bearer(secret, HTTP_USER_AGENT="ci-runner/1.0", REMOTE_ADDR="203.0.113.9")
    assert client.get("/api/api-tokens/").status_code == 200
    # Uses are recorded at most once a minute: two more, a minute apart each.
    for minutes in (2, 1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=minutes))
        assert client.get("/api/api-tokens/").status_code == 200

    row = entry(history(api_as(user)), "api_token", str(token.pk))
    assert row["nome"] == "deploy"
    assert row["ativa"] is True
    assert row["usos"] == 3
    assert len(row["ultimos_usos"]) == 3
    assert {(use["ip"], use["user_agent"]) for use in row["ultimos_usos"]} == {("203.0.113.9", "ci-runner/1.0")}
    times = [datetime.fromisoformat(use["em"]) for use in row["ultimos_usos"]]
    assert times == sorted(times, reverse=True)
    # The token's own last-used time, written with the newest recorded use.
    assert abs(datetime.fromisoformat(row["ultimo_uso_em"]) - times[0]) < timedelta(seconds=1)


def test_a_jwt_session_counts_its_login_and_its_refreshes(users, api_client):
    user = users["gestor"]
    pair = jwt_login(user)
    refreshed = post_refresh(api_client, pair.refresh)
    assert refreshed.status_code == 200
    post_refresh(api_client, refreshed.json()["refresh"])

    row = entry(history(api_as(user)), "sessao", str(pair.family.pk))
    assert row["usos"] == 3  # the login and two refreshes
    assert row["ativa"] is True
    assert [use["em"] is not None for use in row["ultimos_usos"]] == [True] * 3


def test_logins_to_django_sessions_are_one_entry(users):
    user = make_user("maria", role="usuario")
    for _ in range(2):
        browser_as(user)  # each is a real login through django.contrib.auth
    client = api_as(user)
    page = history(client)
    row = entry(page, "login")
    assert row["usos"] == 2
    assert row["ativa"] is None and row["nome"] == ""


def test_only_the_last_five_uses_are_listed_but_all_are_counted(users):
    user = users["usuario"]
    token, _ = make_api_token(user, "read", direct=True)
    now = timezone.now()
    for minutes in range(8):
        AuditEvent.objects.create(
            event="api_token_usado",
            actor=user,
            target_type="api_token",
            target_id=str(token.pk),
            ip="198.51.100.1",
            created_at=now - timedelta(minutes=minutes),
        )
    row = entry(history(api_as(user)), "api_token", str(token.pk))
    assert row["usos"] == 8
    assert len(row["ultimos_usos"]) == 5


def test_desde_bounds_the_period_and_old_revoked_credentials_drop_out(users):
    user = users["usuario"]
    old = timezone.now() - timedelta(days=60)
    live, _ = make_api_token(user, "read", direct=True, created_at=old)
    gone, _ = make_api_token(user, "read", direct=True, created_at=old, revoked_at=old)
    AuditEvent.objects.create(
        event="api_token_usado", actor=user, target_type="api_token", target_id=str(live.pk), created_at=old
    )
    page = history(api_as(user))
    ids = {c["id"] for c in page["credenciais"]}
    assert str(live.pk) in ids, "a live token is listed even when unused in the period"
    assert str(gone.pk) not in ids, "a token revoked before the period is not"
    assert entry(page, "api_token", str(live.pk))["usos"] == 0
    longer = history(api_as(user), desde=(old - timedelta(days=1)).isoformat())
    assert entry(longer, "api_token", str(live.pk))["usos"] == 1
    assert str(gone.pk) in {c["id"] for c in longer["credenciais"]}


def test_credentials_come_most_recently_used_first_and_limite_caps_them(users):
    user = users["usuario"]
    now = timezone.now()
    made = [make_api_token(user, "read", direct=True, last_used_at=now - timedelta(hours=h))[0] for h in (3, 1, 2)]
    page = history(api_as(user), limite=2)
    assert [c["id"] for c in page["credenciais"]] == [str(made[1].pk), str(made[2].pk)]


def test_revoking_shows_as_inactive(users):
    user = users["usuario"]
    token, _ = make_api_token(user, "read")
    api_tokens.revoke_api_token(token.pk, actor=user)
    assert entry(history(api_as(user)), "api_token", str(token.pk))["ativa"] is False


def test_someone_elses_history_is_for_root_and_admin(users):
    target = users["usuario"]
    family = jwt_login(target).family
    for role in ("root", "admin"):
        page = history(api_as(users[role]), usuario=target.pk)
        assert page["usuario"] == target.pk
        assert entry(page, "sessao", str(family.pk))["usos"] == 1
    response = api_as(users["gestor"]).get(URL, {"usuario": target.pk})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_nothing_of_another_user_leaks_into_ones_own(users):
    jwt_login(users["gestor"])
    make_api_token(users["gestor"], "read")
    page = history(api_as(users["usuario"]))
    assert page["usuario"] == users["usuario"].pk
    assert page["credenciais"] == []


@pytest.mark.parametrize(
    "params",
    [{"usuario": "abc"}, {"usuario": "-1"}, {"desde": "ontem"}, {"limite": "0"}, {"limite": "201"}, {"limite": "x"}],
)
def test_bad_query_is_400(users, params):
    response = api_as(users["root"]).get(URL, params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_reading_the_history_writes_nothing(users, django_assert_max_num_queries):
    user = users["usuario"]
    make_api_token(user, "read")
    jwt_login(user)
    client = api_as(user)
    before = (AuditEvent.objects.count(), SessionFamily.objects.count())
    with django_assert_max_num_queries(8):
        history(client)
    assert (AuditEvent.objects.count(), SessionFamily.objects.count()) == before
