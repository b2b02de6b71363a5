"""Contract section 4 row by row, and the invite cells of the role table (section 3)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from django_convites import signals, tokens
from django_convites.models import AuditEvent, Invite, InviteQuota
from tests.factories import events, expire, issue, make_org, make_user
from tests.invites import INVITE_FIELDS, URL, VALIDATE, error_of

pytestmark = pytest.mark.django_db

CLIENT = {"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "curl/8.5"}


def create(api_client, user, body, **headers):
    api_client.force_authenticate(user)
    return api_client.post(URL, body, format="json", **{**CLIENT, **headers})


# -- POST /api/tokens/ -------------------------------------------------------------------------------------


def test_admin_creates_an_invite_with_organization_and_two_nuclei(api_client, users):
    organization, nuclei = make_org()
    body = {"tipo_destino": "associado", "organizacao": str(organization.pk), "nucleos": [n.pk for n in nuclei]}
    response = create(api_client, users["admin"], body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == {*INVITE_FIELDS, "codigo"}
    assert data["estado"] == "novo"
    assert data["tipo_destino"] == "associado"
    assert data["organizacao"] == str(organization.pk)
    assert data["nucleos"] == [n.pk for n in nuclei]
    assert data["gerado_por"] == users["admin"].pk
    assert data["usado_em"] is data["usado_por"] is data["revogado_em"] is data["revogado_por"] is None
    tokens.parse(data["codigo"], tokens.Kind.INVITE)
    invite = Invite.objects.get(pk=data["id"])
    assert invite.nucleus_refs == [n.pk for n in nuclei]
    assert response["X-Convites-Restantes"] == "4"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"


def test_the_seed_request_with_only_a_target_type_gets_201(api_client, users):
    response = create(api_client, users["gestor"], {"tipo_destino": "associado"})
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["organizacao"] is None and data["nucleos"] == []


def test_only_the_digest_of_the_code_is_stored(api_client, users):
    data = create(api_client, users["admin"], {"tipo_destino": "associado"}).json()
    invite = Invite.objects.get(pk=data["id"])
    assert invite.code_digest == tokens.digest(data["codigo"])
    assert data["codigo"] not in {str(getattr(invite, f.attname)) for f in Invite._meta.concrete_fields}
    assert "codigo" not in {f.name for f in Invite._meta.fields}


def test_default_expiry_is_the_lifetime_setting(api_client, users, convites_settings):
    before = timezone.now()
    data = create(api_client, users["admin"], {"tipo_destino": "associado"}).json()
    expiry = parse_datetime(data["data_expiracao"])
    assert before + timedelta(days=7) <= expiry <= timezone.now() + timedelta(days=7)
    convites_settings(INVITE_LIFETIME=3600)
    data = create(api_client, users["admin"], {"tipo_destino": "associado"}).json()
    assert parse_datetime(data["data_expiracao"]) <= timezone.now() + timedelta(hours=1)


def test_a_shorter_expiry_may_be_asked_for(api_client, users):
    wanted = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    data = create(
        api_client, users["admin"], {"tipo_destino": "associado", "data_expiracao": wanted.isoformat()}
    ).json()
    assert parse_datetime(data["data_expiracao"]) == wanted


def test_anonymous_gets_401(api_client):
    response = api_client.post(URL, {"tipo_destino": "associado"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert not Invite.objects.exists()


def test_end_user_gets_403_with_an_audited_refusal_and_no_quota_used(api_client, users):
    error_of(create(api_client, users["usuario"], {"tipo_destino": "associado"}), 403, "permission_denied")
    assert not Invite.objects.exists()
    assert not InviteQuota.objects.exists()
    (denied,) = events("convite_negado")
    assert denied.actor == users["usuario"]
    assert denied.details == {"acao": "gerar", "motivo": "role"}
    assert denied.ip == "203.0.113.9"


@pytest.mark.parametrize(
    ("role", "target_type", "status"),
    [
        ("gestor", "associado", 201),
        ("gestor", "coordenador", 201),
        ("gestor", "admin", 403),
        ("admin", "coordenador", 201),
        ("admin", "admin", 201),
        ("root", "admin", 201),
        ("root", "associado", 201),
    ],
)
def test_a_target_type_above_ones_own_role_is_403(api_client, users, role, target_type, status):
    response = create(api_client, users[role], {"tipo_destino": target_type})
    assert response.status_code == status, response.content
    assert Invite.objects.count() == (status == 201)


def test_a_higher_target_type_is_audited_as_refused(api_client, users):
    create(api_client, users["gestor"], {"tipo_destino": "admin"})
    assert events("convite_negado", newest_first=True)[0].details == {"acao": "gerar", "motivo": "target_type"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"tipo_destino": "xyz"},
        {"tipo_destino": ""},
        {"tipo_destino": None},
        {"tipo_destino": 7},
        {"tipo_destino": ["associado"]},
        {"tipo_destino": "associado", "organizacao": True},
        {"tipo_destino": "associado", "organizacao": 1.5},
        {"tipo_destino": "associado", "organizacao": {"id": 1}},
        {"tipo_destino": "associado", "organizacao": "nao-e-uuid"},
        {"tipo_destino": "associado", "organizacao": str(uuid.uuid4())},
        {"tipo_destino": "associado", "nucleos": "1"},
        {"tipo_destino": "associado", "nucleos": [1]},
        {"tipo_destino": "associado", "nucleos": None},
        {"tipo_destino": "associado", "data_expiracao": "amanha"},
        {"tipo_destino": "associado", "data_expiracao": "2020-01-01T00:00:00Z"},
        {"tipo_destino": "associado", "nucleo": [1]},
    ],
)
def test_bad_fields_are_400_and_write_nothing(api_client, users, body):
    response = create(api_client, users["admin"], body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert isinstance(response.json()["detail"], str)
    assert not Invite.objects.exists()
    assert not InviteQuota.objects.exists()
    assert not AuditEvent.objects.exists()


def test_an_unknown_target_type_names_the_choices(api_client, users):
    body = create(api_client, users["admin"], {"tipo_destino": "xyz"}).json()
    assert "associado" in body["tipo_destino"][0]


def test_a_nucleus_of_another_organization_is_400(api_client, users):
    organization, _ = make_org("A")
    _, other_nuclei = make_org("B")
    body = {"tipo_destino": "associado", "organizacao": str(organization.pk), "nucleos": [other_nuclei[0].pk]}
    response = create(api_client, users["admin"], body)
    assert response.status_code == 400
    assert "nucleos" in response.json()
    assert not Invite.objects.exists()


def test_nuclei_without_their_organization_are_400(api_client, users):
    _, nuclei = make_org()
    response = create(api_client, users["admin"], {"tipo_destino": "associado", "nucleos": [nuclei[0].pk]})
    assert response.status_code == 400
    assert "nucleos" in response.json()


def test_repeated_nuclei_are_kept_once(api_client, users):
    organization, nuclei = make_org()
    body = {"tipo_destino": "associado", "organizacao": str(organization.pk), "nucleos": [nuclei[0].pk] * 3}
    assert create(api_client, users["admin"], body).json()["nucleos"] == [nuclei[0].pk]


def test_an_expiry_beyond_the_maximum_is_400(api_client, users, convites_settings):
    too_far = timezone.now() + timedelta(days=31)
    response = create(api_client, users["admin"], {"tipo_destino": "associado", "data_expiracao": too_far.isoformat()})
    assert response.status_code == 400
    assert "data_expiracao" in response.json()
    convites_settings(INVITE_MAX_LIFETIME=40 * 86400)
    response = create(api_client, users["admin"], {"tipo_destino": "associado", "data_expiracao": too_far.isoformat()})
    assert response.status_code == 201


def test_organizations_are_400_when_the_site_has_none(api_client, users, convites_settings):
    convites_settings(ORGANIZATION_MODEL=None, NUCLEUS_MODEL=None)
    organization, _ = make_org()
    response = create(api_client, users["admin"], {"tipo_destino": "associado", "organizacao": str(organization.pk)})
    assert response.status_code == 400
    assert "organizacao" in response.json()
    assert create(api_client, users["admin"], {"tipo_destino": "associado"}).status_code == 201


@pytest.mark.parametrize("body", [b"[1, 2]", b'"associado"', b"tipo_destino=associado", b"{"])
def test_non_object_bodies_are_400(api_client, users, body):
    api_client.force_authenticate(users["admin"])
    response = api_client.generic("POST", URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid", "parse_error"}
    assert not Invite.objects.exists()


def test_a_form_encoded_body_is_415(api_client, users):
    api_client.force_authenticate(users["admin"])
    response = api_client.post(URL, {"tipo_destino": "associado"})
    error_of(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_wrong_methods_are_405(api_client, users, method):
    api_client.force_authenticate(users["admin"])
    error_of(getattr(api_client, method)(URL), 405, "method_not_allowed")


# -- the daily quota --------------------------------------------------------------------------------------


def test_the_sixth_invite_of_the_day_is_429_and_creates_nothing(api_client, users):
    remaining = [
        create(api_client, users["admin"], {"tipo_destino": "associado"})["X-Convites-Restantes"] for _ in range(5)
    ]
    assert remaining == ["4", "3", "2", "1", "0"]
    response = create(api_client, users["admin"], {"tipo_destino": "associado"})
    error_of(response, 429, "invite_quota_exceeded")
    assert response["X-Convites-Restantes"] == "0"
    assert 0 < int(response["Retry-After"]) <= 86400 + 3600
    assert Invite.objects.count() == 5
    (exceeded,) = events("convite_cota_excedida")
    assert exceeded.actor == users["admin"]
    assert exceeded.details == {"limite": 5}


def test_the_quota_is_per_issuer(api_client, users):
    for _ in range(5):
        issue(users["admin"])
    assert create(api_client, users["gestor"], {"tipo_destino": "associado"}).status_code == 201


def test_root_is_exempt_and_has_no_remaining_header(api_client, users):
    for _ in range(6):
        response = create(api_client, users["root"], {"tipo_destino": "associado"})
        assert response.status_code == 201
    assert "X-Convites-Restantes" not in response


def test_the_quota_setting(api_client, users, convites_settings):
    convites_settings(INVITES_PER_DAY=1)
    assert create(api_client, users["gestor"], {"tipo_destino": "associado"})["X-Convites-Restantes"] == "0"
    assert create(api_client, users["gestor"], {"tipo_destino": "associado"}).status_code == 429
    convites_settings(INVITES_PER_DAY=None)
    response = create(api_client, users["gestor"], {"tipo_destino": "associado"})
    assert response.status_code == 201
    assert "X-Convites-Restantes" not in response


def test_a_bad_request_uses_no_quota(api_client, users):
    for _ in range(5):
        create(api_client, users["admin"], {"tipo_destino": "xyz"})
    assert create(api_client, users["admin"], {"tipo_destino": "associado"})["X-Convites-Restantes"] == "4"


# -- validate ---------------------------------------------------------------------------------------------


def test_validate_by_get_and_post_returns_what_an_invitee_needs(api_client, users):
    organization, nuclei = make_org()
    issued = issue(users["admin"], organization=organization.pk, nuclei=[nuclei[1].pk])
    for response in (
        api_client.get(VALIDATE, {"codigo": issued.code}, **CLIENT),
        api_client.post(VALIDATE, {"codigo": issued.code}, format="json", **CLIENT),
    ):
        assert response.status_code == 200, response.content
        assert response.json() == {
            "valido": True,
            "id": str(issued.invite.pk),
            "tipo_destino": "associado",
            "organizacao": str(organization.pk),
            "nucleos": [nuclei[1].pk],
            "data_expiracao": response.json()["data_expiracao"],
        }
        assert parse_datetime(response.json()["data_expiracao"]) == issued.invite.expires_at
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] == "no-referrer"
    validated = events("convite_validado")
    assert len(validated) == 2
    assert {(e.ip, e.user_agent, e.actor_id, e.target_id) for e in validated} == {
        ("203.0.113.9", "curl/8.5", None, str(issued.invite.pk))
    }
    invite = Invite.objects.get(pk=issued.invite.pk)
    assert invite.used_at is None and invite.state().value == "novo"


@pytest.mark.parametrize("query", [{}, {"codigo": ""}, {"codigo": "abc"}, {"codigo": "cvi_" + "A" * 33}])
def test_a_missing_or_malformed_code_is_400_with_zero_queries(api_client, django_assert_num_queries, query):
    with django_assert_num_queries(0):
        response = api_client.get(VALIDATE, query)
    error_of(response, 400, "invalid_code_format")


def test_a_malformed_code_in_a_post_body_is_400(api_client):
    error_of(api_client.post(VALIDATE, {"codigo": 12345}, format="json"), 400, "invalid_code_format")
    error_of(api_client.post(VALIDATE, {}, format="json"), 400, "invalid_code_format")
    error_of(api_client.generic("POST", VALIDATE, b"[1]", content_type="application/json"), 400, "parse_error")


def test_a_valid_code_costs_one_query_plus_its_audit_row(api_client, users, django_assert_num_queries):
    issued = issue(users["admin"])
    with django_assert_num_queries(2) as captured:
        response = api_client.get(VALIDATE, {"codigo": issued.code})
    assert response.status_code == 200
    assert captured.captured_queries[0]["sql"].lstrip().upper().startswith("SELECT")
    assert "INSERT" in captured.captured_queries[1]["sql"].upper()


def test_an_unknown_code_is_404_and_audited_without_an_invite(api_client):
    error_of(
        api_client.get(VALIDATE, {"codigo": tokens.generate(tokens.Kind.INVITE)}, **CLIENT), 404, "invite_not_found"
    )
    (failed,) = events("convite_validacao_falhou")
    assert (failed.target_type, failed.target_id, failed.ip) == ("", "", "203.0.113.9")
    assert failed.details == {"motivo": "invite_not_found"}


def test_used_revoked_and_expired_codes_are_410(api_client, users):
    used, revoked, expired = issue(users["admin"]), issue(users["admin"]), issue(users["admin"])
    from django_convites.services import invites

    invites.use_invite(used.code, user=users["usuario"])
    invites.revoke_invite(str(revoked.invite.pk), actor=users["admin"])
    expire(expired.invite)
    error_of(api_client.get(VALIDATE, {"codigo": used.code}), 410, "invite_used")
    error_of(api_client.get(VALIDATE, {"codigo": revoked.code}), 410, "invite_revoked")
    error_of(api_client.get(VALIDATE, {"codigo": expired.code}), 410, "invite_expired")
    assert [e.details["motivo"] for e in events("convite_validacao_falhou", newest_first=True)] == [
        "invite_expired",
        "invite_revoked",
        "invite_used",
    ]
    # Validation never writes the expired state: it is derived from the clock.
    expired_row = Invite.objects.get(pk=expired.invite.pk)
    assert expired_row.used_at is None and expired_row.revoked_at is None


def test_validation_is_throttled_per_client_ip(api_client, convites_settings):
    convites_settings(INVITE_VALIDATION_RATE="3/minute")
    code = tokens.generate(tokens.Kind.INVITE)
    for _ in range(3):
        assert api_client.get(VALIDATE, {"codigo": code}, REMOTE_ADDR="198.51.100.1").status_code == 404
    response = api_client.get(VALIDATE, {"codigo": code}, REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="10.9.9.9")
    error_of(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert api_client.get(VALIDATE, {"codigo": code}, REMOTE_ADDR="198.51.100.2").status_code == 404


def test_validation_throttle_can_be_disabled(api_client, convites_settings):
    convites_settings(INVITE_VALIDATION_RATE=None)
    for _ in range(70):
        assert api_client.get(VALIDATE, {"codigo": "x"}).status_code == 400


# -- use --------------------------------------------------------------------------------------------------


def test_use_by_code_marks_it_used_and_sends_the_signal(api_client, users):
    issued = issue(users["admin"])
    received = []

    def receiver(**kwargs):
        received.append((kwargs["invite"].pk, kwargs["user"].pk))

    signals.invite_used.connect(receiver)
    try:
        api_client.force_authenticate(users["usuario"])
        response = api_client.post(f"{URL}{issued.code}/use/", format="json", **CLIENT)
    finally:
        signals.invite_used.disconnect(receiver)
    assert response.status_code == 200, response.content
    data = response.json()
    assert set(data) == {"id", "estado", "usado_em", "usado_por"}
    assert data["estado"] == "usado" and data["usado_por"] == users["usuario"].pk
    assert received == [(issued.invite.pk, users["usuario"].pk)]
    (used,) = events("convite_usado")
    assert (used.actor, used.ip, used.user_agent) == (users["usuario"], "203.0.113.9", "curl/8.5")


def test_use_by_id_needs_the_code(api_client, users):
    issued, other = issue(users["admin"]), issue(users["admin"])
    api_client.force_authenticate(users["usuario"])
    path = f"{URL}{issued.invite.pk}/use/"
    error_of(api_client.post(path, format="json"), 400, "invalid_code_format")
    error_of(api_client.post(path, {"codigo": "cvi_nope"}, format="json"), 400, "invalid_code_format")
    error_of(api_client.post(path, {"codigo": other.code}, format="json"), 404, "invite_not_found")
    assert not Invite.objects.filter(used_at__isnull=False).exists()
    response = api_client.post(path, {"codigo": issued.code}, format="json")
    assert response.status_code == 200
    assert response.json()["id"] == str(issued.invite.pk)


@pytest.mark.parametrize("ref", ["123", "nao-e-id", str(uuid.uuid4())])
def test_use_of_an_unknown_or_malformed_id_is_404(api_client, users, ref):
    issued = issue(users["admin"])
    api_client.force_authenticate(users["usuario"])
    error_of(api_client.post(f"{URL}{ref}/use/", {"codigo": issued.code}, format="json"), 404, "invite_not_found")


def test_second_use_of_invite_gets_409(api_client, users):
    issued = issue(users["admin"])
    api_client.force_authenticate(users["usuario"])
    assert api_client.post(f"{URL}{issued.code}/use/").status_code == 200
    api_client.force_authenticate(users["gestor"])
    error_of(api_client.post(f"{URL}{issued.code}/use/"), 409, "invite_used")
    assert Invite.objects.get().used_by == users["usuario"]
    assert [e.details for e in events("convite_uso_falhou")] == [{"motivo": "invite_used"}]


def test_revoked_and_expired_invites_cannot_be_used(api_client, users):
    from django_convites.services import invites

    revoked, expired = issue(users["admin"]), issue(users["admin"])
    invites.revoke_invite(revoked.code, actor=users["admin"])
    expire(expired.invite)
    api_client.force_authenticate(users["usuario"])
    error_of(api_client.post(f"{URL}{revoked.code}/use/"), 410, "invite_revoked")
    error_of(api_client.post(f"{URL}{expired.code}/use/"), 410, "invite_expired")
    assert not Invite.objects.filter(used_at__isnull=False).exists()


def test_use_needs_a_login(api_client, users):
    issued = issue(users["admin"])
    response = api_client.post(f"{URL}{issued.code}/use/")
    assert response.status_code == 401
    assert Invite.objects.get().used_at is None


def test_use_by_get_is_405(api_client, users):
    issued = issue(users["admin"])
    api_client.force_authenticate(users["usuario"])
    error_of(api_client.get(f"{URL}{issued.code}/use/"), 405, "method_not_allowed")
    assert Invite.objects.get().used_at is None


# -- revoke -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["id", "code"])
def test_admin_revokes_by_id_or_code(api_client, users, by):
    issued = issue(users["gestor"])
    ref = issued.invite.pk if by == "id" else issued.code
    api_client.force_authenticate(users["admin"])
    response = api_client.post(f"{URL}{ref}/revogar/", **CLIENT)
    assert response.status_code == 200, response.content
    data = response.json()
    assert set(data) == {"id", "estado", "revogado_em", "revogado_por"}
    assert data["estado"] == "revogado" and data["revogado_por"] == users["admin"].pk
    assert response["Cache-Control"] == "no-store"
    (revoked,) = events("convite_revogado")
    assert (revoked.actor, revoked.ip, revoked.target_id) == (users["admin"], "203.0.113.9", str(issued.invite.pk))


def test_revoking_twice_is_409_without_a_second_event(api_client, users):
    issued = issue(users["admin"])
    api_client.force_authenticate(users["admin"])
    assert api_client.post(f"{URL}{issued.invite.pk}/revogar/").status_code == 200
    error_of(api_client.post(f"{URL}{issued.invite.pk}/revogar/"), 409, "invite_revoked")
    assert len(events("convite_revogado")) == 1


def test_a_used_invite_cannot_be_revoked(api_client, users):
    from django_convites.services import invites

    issued = issue(users["admin"])
    invites.use_invite(issued.code, user=users["usuario"])
    api_client.force_authenticate(users["admin"])
    error_of(api_client.post(f"{URL}{issued.invite.pk}/revogar/"), 409, "invite_used")
    invite = Invite.objects.get()
    assert invite.revoked_at is None and invite.used_by == users["usuario"]


def test_an_expired_invite_can_be_revoked(api_client, users):
    issued = issue(users["admin"])
    expire(issued.invite)
    api_client.force_authenticate(users["admin"])
    assert api_client.post(f"{URL}{issued.invite.pk}/revogar/").json()["estado"] == "revogado"


def test_a_gestor_revokes_only_their_own(api_client, users):
    own, others = issue(users["gestor"]), issue(users["admin"])
    other_gestor = make_user("gestor2", role="gestor")
    theirs = issue(other_gestor)
    api_client.force_authenticate(users["gestor"])
    assert api_client.post(f"{URL}{own.invite.pk}/revogar/").status_code == 200
    error_of(api_client.post(f"{URL}{others.invite.pk}/revogar/"), 403, "permission_denied")
    error_of(api_client.post(f"{URL}{theirs.code}/revogar/"), 403, "permission_denied")
    assert Invite.objects.filter(revoked_at__isnull=False).count() == 1
    assert [e.details["motivo"] for e in events("convite_negado")] == ["not_owner", "not_owner"]


def test_an_end_user_gets_403_before_any_lookup(api_client, users):
    issued = issue(users["admin"])
    api_client.force_authenticate(users["usuario"])
    for ref in (issued.invite.pk, uuid.uuid4()):
        with CaptureQueriesContext(connection) as captured:
            error_of(api_client.post(f"{URL}{ref}/revogar/"), 403, "permission_denied")
        assert not [q for q in captured.captured_queries if Invite._meta.db_table in q["sql"]]
    assert Invite.objects.get().revoked_at is None


@pytest.mark.parametrize("ref", [str(uuid.uuid4()), "nada", "cvi_" + "0" * 33])
def test_revoking_an_unknown_ref_is_404_or_400(api_client, users, ref):
    api_client.force_authenticate(users["admin"])
    response = api_client.post(f"{URL}{ref}/revogar/")
    if ref.startswith("cvi_"):
        error_of(response, 400, "invalid_code_format")
    else:
        error_of(response, 404, "invite_not_found")


def test_revoke_by_get_is_405(api_client, users):
    issued = issue(users["admin"])
    api_client.force_authenticate(users["admin"])
    error_of(api_client.get(f"{URL}{issued.invite.pk}/revogar/"), 405, "method_not_allowed")
    assert Invite.objects.get().revoked_at is None


# -- logs -------------------------------------------------------------------------------------------------


def test_admin_reads_the_whole_history_newest_first(api_client, users):
    from django_convites.net import RequestMeta
    from django_convites.services import invites

    meta = RequestMeta(ip="198.51.100.4", user_agent="Navegador/1")
    issued = issue(users["gestor"], meta=meta)
    invites.validate_invite(issued.code, meta=meta)
    invites.use_invite(issued.code, user=users["usuario"], meta=meta)
    api_client.force_authenticate(users["admin"])
    response = api_client.get(f"{URL}{issued.invite.pk}/logs/")
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [row["evento"] for row in rows] == ["convite_usado", "convite_validado", "convite_gerado"]
    assert {(row["ip"], row["user_agent"]) for row in rows} == {("198.51.100.4", "Navegador/1")}
    assert rows[2]["detalhes"]["tipo_destino"] == "associado"
    assert api_client.get(f"{URL}{issued.code}/logs/").json()["results"] == rows


def test_log_access_follows_the_role_table(api_client, users):
    own, others = issue(users["gestor"]), issue(users["admin"])
    api_client.force_authenticate(users["gestor"])
    assert api_client.get(f"{URL}{own.invite.pk}/logs/").status_code == 200
    error_of(api_client.get(f"{URL}{others.invite.pk}/logs/"), 403, "permission_denied")
    api_client.force_authenticate(users["usuario"])
    error_of(api_client.get(f"{URL}{own.invite.pk}/logs/"), 403, "permission_denied")
    api_client.force_authenticate(users["root"])
    assert api_client.get(f"{URL}{others.invite.pk}/logs/").status_code == 200
    error_of(api_client.get(f"{URL}{uuid.uuid4()}/logs/"), 404, "invite_not_found")


# -- list and detail --------------------------------------------------------------------------------------


@pytest.fixture
def three_invites(users):
    return {"gestor": issue(users["gestor"]), "admin": issue(users["admin"]), "root": issue(users["root"])}


@pytest.mark.parametrize(("role", "count"), [("root", 3), ("admin", 3), ("gestor", 1)])
def test_listing_follows_the_role_table(api_client, users, three_invites, role, count):
    api_client.force_authenticate(users[role])
    response = api_client.get(URL)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == count
    assert all(set(row) == set(INVITE_FIELDS) for row in results)
    if role == "gestor":
        assert results[0]["id"] == str(three_invites["gestor"].invite.pk)


def test_an_end_user_may_not_list(api_client, users):
    api_client.force_authenticate(users["usuario"])
    error_of(api_client.get(URL), 403, "permission_denied")


def test_listing_filters_by_state(api_client, users):
    from django_convites.services import invites

    new, used, revoked, expired = (issue(users["root"]) for _ in range(4))
    invites.use_invite(used.code, user=users["usuario"])
    invites.revoke_invite(revoked.code, actor=users["root"])
    expire(expired.invite)
    api_client.force_authenticate(users["root"])
    for state, issued in {"novo": new, "usado": used, "revogado": revoked, "expirado": expired}.items():
        results = api_client.get(URL, {"estado": state}).json()["results"]
        assert [(row["id"], row["estado"]) for row in results] == [(str(issued.invite.pk), state)]
    assert api_client.get(URL, {"estado": "perdido"}).status_code == 400


def test_listing_pages_by_cursor_newest_first(api_client, users):
    created = [issue(users["root"]).invite.pk for _ in range(5)]
    api_client.force_authenticate(users["root"])
    page = api_client.get(URL, {"limite": 2}).json()
    seen = [row["id"] for row in page["results"]]
    while page["next"]:
        page = api_client.get(page["next"]).json()
        seen += [row["id"] for row in page["results"]]
    assert seen == [str(pk) for pk in reversed(created)]


def test_detail_shows_one_invite_without_its_code(api_client, users):
    issued = issue(users["gestor"])
    api_client.force_authenticate(users["gestor"])
    response = api_client.get(f"{URL}{issued.invite.pk}/")
    assert response.status_code == 200
    assert set(response.json()) == set(INVITE_FIELDS)
    assert issued.code not in response.content.decode()
    api_client.force_authenticate(users["usuario"])
    error_of(api_client.get(f"{URL}{issued.invite.pk}/"), 403, "permission_denied")


def test_the_code_is_never_shown_again(api_client, users):
    issued = issue(users["admin"])
    api_client.force_authenticate(users["root"])
    for path in (URL, f"{URL}{issued.invite.pk}/", f"{URL}{issued.invite.pk}/logs/", "/api/auditoria/"):
        body = api_client.get(path).content.decode()
        assert issued.code not in body
        assert issued.invite.code_digest not in body
