from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from django_convites.models import AuditEvent

pytestmark = pytest.mark.django_db

URL = "/api/auditoria/"


@pytest.fixture
def events(users):
    """Two events per role's user, one of them old."""
    old = timezone.now() - timedelta(days=10)
    for name, user in users.items():
        AuditEvent.objects.create(event="teste_feito", actor=user, ip="198.51.100.7", details={"quem": name})
        AuditEvent.objects.create(event="teste_velho", actor=user, created_at=old)
    return AuditEvent.objects.count()


def listed(api_client, user, **params):
    api_client.force_authenticate(user)
    response = api_client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_anonymous_gets_401_with_code(api_client):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("role", ["root", "admin"])
def test_root_and_admin_read_everyone(api_client, users, events, role):
    page = listed(api_client, users[role])
    assert len(page["results"]) == events
    order = [(datetime.fromisoformat(row["criado_em"]), row["id"]) for row in page["results"]]
    assert order == sorted(order, reverse=True), "newest first: by time, then by id"


@pytest.mark.parametrize("role", ["gestor", "usuario"])
def test_others_read_only_their_own(api_client, users, events, role):
    page = listed(api_client, users[role])
    assert {row["usuario"] for row in page["results"]} == {users[role].pk}
    assert len(page["results"]) == 2
    own = listed(api_client, users[role], usuario=users[role].pk)
    assert len(own["results"]) == 2
    response = api_client.get(URL, {"usuario": users["root"].pk})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_wire_fields(api_client, users, events):
    row = listed(api_client, users["usuario"], evento="teste_feito")["results"][0]
    assert set(row) == {"id", "evento", "usuario", "alvo_tipo", "alvo_id", "ip", "user_agent", "criado_em", "detalhes"}
    assert row["evento"] == "teste_feito"
    assert row["detalhes"] == {"quem": "usuario"}
    assert row["ip"] == "198.51.100.7"


def test_filters(api_client, users, events):
    root = users["root"]
    assert len(listed(api_client, root, usuario=users["gestor"].pk)["results"]) == 2
    assert len(listed(api_client, root, evento="teste_velho")["results"]) == 4
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert {r["evento"] for r in listed(api_client, root, desde=since)["results"]} == {"teste_feito"}
    assert {r["evento"] for r in listed(api_client, root, ate=since)["results"]} == {"teste_velho"}


@pytest.mark.parametrize(
    "params",
    [
        {"usuario": "abc"},
        {"usuario": "1.5"},
        {"desde": "ontem"},
        {"desde": "2026-02-01T00:00", "ate": "2026-01-01T00:00"},
    ],
)
def test_bad_filters_are_400_with_code(api_client, users, params):
    api_client.force_authenticate(users["root"])
    response = api_client.get(URL, params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_cursor_pages_walk_every_event_once(api_client, users, events):
    api_client.force_authenticate(users["root"])
    seen = []
    url = f"{URL}?limite=3"
    while url:
        page = api_client.get(url).json()
        seen += [(datetime.fromisoformat(row["criado_em"]), row["id"]) for row in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == events
    assert seen == sorted(seen, reverse=True)


def test_a_page_costs_the_same_queries_deep_or_shallow(api_client, users, events, django_assert_num_queries):
    user = users["usuario"]
    api_client.force_authenticate(user)
    first = api_client.get(URL, {"limite": 1}).json()
    # The role is cached on the (force-authenticated) user object: the page is one indexed query.
    with django_assert_num_queries(1):
        api_client.get(first["next"])


# -- filters of every audit list --------------------------------------------------------------------------


@pytest.fixture
def targeted(users):
    """Events about two targets, from two addresses."""
    root = users["root"]
    rows = [
        ("convite", "a1", "192.0.2.1"),
        ("convite", "a2", "192.0.2.1"),
        ("api_token", "a1", "192.0.2.2"),
        ("sessao", "s1", "2001:db8::5"),
    ]
    for target_type, target_id, ip in rows:
        AuditEvent.objects.create(event="teste_alvo", actor=root, target_type=target_type, target_id=target_id, ip=ip)
    return rows


def ids_of(page):
    return {(row["alvo_tipo"], row["alvo_id"]) for row in page["results"]}


def test_alvo_tipo_alvo_id_and_ip_filters(api_client, users, targeted):
    root = users["root"]
    assert ids_of(listed(api_client, root, alvo_tipo="convite")) == {("convite", "a1"), ("convite", "a2")}
    assert ids_of(listed(api_client, root, alvo_id="a1")) == {("convite", "a1"), ("api_token", "a1")}
    assert ids_of(listed(api_client, root, alvo_tipo="api_token", alvo_id="a1")) == {("api_token", "a1")}
    assert ids_of(listed(api_client, root, ip="192.0.2.1")) == {("convite", "a1"), ("convite", "a2")}
    assert ids_of(listed(api_client, root, ip="2001:db8::5")) == {("sessao", "s1")}
    assert listed(api_client, root, ip="192.0.2.99")["results"] == []


def test_filters_combine_with_the_time_bounds(api_client, users, events):
    root = users["root"]
    since = (timezone.now() - timedelta(days=20)).isoformat()
    until = (timezone.now() - timedelta(days=1)).isoformat()
    page = listed(api_client, root, desde=since, ate=until, evento="teste_velho", usuario=users["gestor"].pk)
    assert [(row["evento"], row["usuario"]) for row in page["results"]] == [("teste_velho", users["gestor"].pk)]


@pytest.mark.parametrize(
    "params",
    [
        {"ip": "not-an-ip"},
        {"ip": "999.1.1.1"},
        {"alvo_tipo": "x" * 33},
        {"alvo_id": "x" * 65},
        {"alvo_id": "a\x00b"},
        {"evento": "e" * 65},
    ],
)
def test_bad_target_and_ip_filters_are_400(api_client, users, params):
    api_client.force_authenticate(users["root"])
    response = api_client.get(URL, params)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"


def test_the_logs_of_an_invite_and_a_token_take_the_same_filters(api_client, users):
    from tests.factories import issue, make_api_token

    root = users["root"]
    invite = issue(root).invite
    token, _ = make_api_token(root, "read")
    for target_type, target_id in (("convite", str(invite.pk)), ("api_token", str(token.pk))):
        AuditEvent.objects.create(
            event="teste_log", actor=root, target_type=target_type, target_id=target_id, ip="192.0.2.7"
        )
    api_client.force_authenticate(root)
    for url in (f"/api/tokens/{invite.pk}/logs/", f"/api/api-tokens/{token.pk}/logs/"):
        everything = api_client.get(url).json()["results"]
        assert len(everything) == 2, everything  # the creation and the test's event
        narrowed = api_client.get(url, {"evento": "teste_log", "ip": "192.0.2.7"}).json()["results"]
        assert [row["evento"] for row in narrowed] == ["teste_log"]
        assert api_client.get(url, {"ip": "192.0.2.8"}).json()["results"] == []
        bad = api_client.get(url, {"ip": "nope"})
        assert bad.status_code == 400
        assert bad.json()["code"] == "invalid"


def test_a_filtered_page_is_still_one_query(api_client, users, targeted, django_assert_num_queries):
    root = users["root"]
    api_client.force_authenticate(root)
    listed(api_client, root)  # the role is read once and kept on the user object
    with django_assert_num_queries(1):
        api_client.get(URL, {"alvo_tipo": "convite", "ip": "192.0.2.1", "ate": timezone.now().isoformat()})
