"""Invites below the API: services, the host-model settings and their checks, the admin and the HTML pages."""

from __future__ import annotations

import datetime
import logging
import re
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone

from django_convites import checks, tokens
from django_convites.exceptions import (
    InvalidField,
    InviteNotFound,
    InviteQuotaExceeded,
    NotAllowed,
)
from django_convites.models import AuditEvent, Invite, InviteQuota
from django_convites.services import invites
from tests.factories import browser_as, expire, issue, make_org, make_user
from tests.hostapp.models import Organization

pytestmark = pytest.mark.django_db

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def managed_by_name(user):
    """A test ORGANIZATION_RESOLVER: a user manages the organizations named after them."""
    return list(Organization.objects.filter(name__startswith=user.get_username()).values_list("pk", flat=True))


# -- lookups and the query budget -------------------------------------------------------------------------


def test_finding_by_code_is_one_query_and_a_malformed_code_none(users, django_assert_num_queries):
    issued = issue(users["admin"])
    with django_assert_num_queries(1):
        assert invites.find_by_code(issued.code).pk == issued.invite.pk
    with django_assert_num_queries(0), pytest.raises(invites.InvalidCodeFormat):
        invites.find_by_code(issued.code[:-1] + ("A" if issued.code[-1] != "A" else "B"))


def test_a_malformed_ref_costs_no_query(django_assert_num_queries):
    for ref in ("123", "x" * 10_000, "cvi_", str(uuid.uuid4())[:-1]):
        with django_assert_num_queries(0), pytest.raises((InviteNotFound, invites.InvalidCodeFormat)):
            invites.find_invite(ref)


def test_validation_writes_no_state(users):
    issued = issue(users["admin"])
    before = Invite.objects.values().get()
    invites.validate_invite(issued.code)
    assert Invite.objects.values().get() == before


# -- the quota day ----------------------------------------------------------------------------------------


def test_the_quota_day_is_the_calendar_day_in_time_zone():
    # 01:30 UTC on 2 January is still 1 January in São Paulo (UTC-3).
    moment = datetime.datetime(2026, 1, 2, 1, 30, tzinfo=datetime.timezone.utc)
    assert invites.quota_day(moment) == datetime.date(2026, 1, 1)
    with timezone.override(ZoneInfo("Asia/Tokyo")):  # the active time zone does not matter
        assert invites.quota_day(moment) == datetime.date(2026, 1, 1)
    with override_settings(TIME_ZONE="Asia/Tokyo"):
        assert invites.quota_day(moment) == datetime.date(2026, 1, 2)


def test_yesterdays_invites_do_not_count_today(users):
    yesterday = invites.quota_day(timezone.now()) - datetime.timedelta(days=1)
    InviteQuota.objects.create(issuer=users["gestor"], day=yesterday, count=5)
    assert invites.remaining_today(users["gestor"]) == 5
    assert issue(users["gestor"]).remaining == 4


def test_retry_after_counts_to_local_midnight(users, convites_settings):
    convites_settings(INVITES_PER_DAY=1)
    issue(users["gestor"])
    with pytest.raises(InviteQuotaExceeded) as caught:
        issue(users["gestor"])
    local = timezone.localtime(timezone.now(), SAO_PAULO)
    midnight = datetime.datetime.combine(local.date() + datetime.timedelta(days=1), datetime.time(), SAO_PAULO)
    assert abs(caught.value.retry_after - (midnight - local).total_seconds()) <= 2


def test_remaining_is_none_for_root_and_without_quota(users, convites_settings):
    assert invites.remaining_today(users["root"]) is None
    assert invites.remaining_today(users["admin"]) == 5
    convites_settings(INVITES_PER_DAY=None)
    assert invites.remaining_today(users["admin"]) is None


# -- the model's own guarantees ---------------------------------------------------------------------------


def test_the_database_refuses_an_invite_both_used_and_revoked(users):
    invite = issue(users["admin"]).invite
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Invite.objects.filter(pk=invite.pk).update(used_at=now, revoked_at=now)


def test_the_database_refuses_a_second_invite_with_the_same_digest(users):
    invite = issue(users["admin"]).invite
    with pytest.raises(IntegrityError), transaction.atomic():
        Invite.objects.create(code_digest=invite.code_digest, target_type="x", expires_at=invite.expires_at)


def test_state_is_derived_from_the_clock(users):
    issued = issue(users["admin"])
    assert issued.invite.state().value == "novo"
    assert issued.invite.state(issued.invite.expires_at).value == "expirado"
    expire(issued.invite)
    assert Invite.objects.in_state("expirado").count() == 1
    assert Invite.objects.in_state("novo").count() == 0


# -- organizations ----------------------------------------------------------------------------------------


def test_an_organization_instance_or_key_is_accepted_by_the_service(users):
    organization, nuclei = make_org()
    invite = issue(users["admin"], organization=organization, nuclei=nuclei).invite
    assert invite.organization_ref == str(organization.pk)
    assert invite.nucleus_refs == [n.pk for n in nuclei]


def test_too_many_nuclei_are_refused(users):
    organization, _ = make_org(nuclei=0)
    with pytest.raises(InvalidField) as caught:
        issue(users["admin"], organization=organization.pk, nuclei=list(range(1, 102)))
    assert caught.value.field == "nucleos"


def test_confined_issuers_act_only_on_their_organizations(api_client, users, convites_settings):
    convites_settings(ORGANIZATION_RESOLVER="tests.test_invites.managed_by_name")
    own, _ = make_org("admin-norte")
    other, _ = make_org("outra")
    assert issue(users["admin"], organization=own.pk).invite.organization_ref == str(own.pk)
    with pytest.raises(NotAllowed):
        issue(users["admin"], organization=other.pk)
    with pytest.raises(NotAllowed):
        issue(users["admin"])  # a confined issuer names one of their organizations
    theirs = issue(users["root"], organization=other.pk)
    with pytest.raises(NotAllowed):
        invites.revoke_invite(str(theirs.invite.pk), actor=users["admin"])
    listed = {invite.organization_ref for invite in invites.invites_visible_to(users["admin"])}
    assert listed == {str(own.pk)}
    assert [e.details["motivo"] for e in AuditEvent.objects.filter(event="convite_negado").order_by("id")] == [
        "organization",
        "organization",
        "organization",
    ]
    assert invites.invites_visible_to(users["root"]).count() == 2


@pytest.mark.parametrize(
    ("keys", "check_id"),
    [
        ({"ORGANIZATION_MODEL": "hostapp"}, "django_convites.E011"),
        ({"ORGANIZATION_MODEL": "hostapp.Nada"}, "django_convites.E011"),
        ({"NUCLEUS_MODEL": 3}, "django_convites.E012"),
        ({"NUCLEUS_ORGANIZATION_FIELD": "no-field"}, "django_convites.E013"),
        ({"INVITE_LIFETIME": 10}, "django_convites.E014"),
        ({"INVITE_LIFETIME": True}, "django_convites.E014"),
        ({"INVITE_MAX_LIFETIME": 400 * 86400}, "django_convites.E015"),
        ({"INVITES_PER_DAY": 0}, "django_convites.E016"),
        ({"INVITES_PER_DAY": "5"}, "django_convites.E016"),
        ({"INVITE_VALIDATION_RATE": "60/fortnight"}, "django_convites.E017"),
        ({"INVITE_VALIDATION_RATE": "0/minute"}, "django_convites.E017"),
        ({"JWT_ALGORITHM": "none"}, "django_convites.E020"),
        ({"JWT_ALGORITHM": "hs256"}, "django_convites.E020"),
        ({"JWT_SIGNING_KEY": "short"}, "django_convites.E021"),
        ({"JWT_VERIFYING_KEY": 5}, "django_convites.E022"),
        ({"JWT_ISSUER": ""}, "django_convites.E023"),
        ({"JWT_AUDIENCE": None}, "django_convites.E024"),
        ({"JWT_LEEWAY": 301}, "django_convites.E025"),
        ({"ACCESS_TOKEN_LIFETIME": 10}, "django_convites.E026"),
        ({"REFRESH_TOKEN_LIFETIME": 0}, "django_convites.E027"),
        ({"REFRESH_GRACE_PERIOD": -1}, "django_convites.E028"),
        ({"LOGIN_RATE": "many"}, "django_convites.E029"),
        ({"LOGIN_USERNAME_RATE": "5/eon"}, "django_convites.E030"),
    ],
)
def test_each_invite_setting_has_its_check(convites_settings, keys, check_id):
    convites_settings(**keys)
    assert [m.id for m in checks.check_settings()] == [check_id]
    assert checks.check_invite_settings() == []


@pytest.mark.parametrize(
    "keys",
    [
        {"ORGANIZATION_MODEL": None},
        {"NUCLEUS_ORGANIZATION_FIELD": "name"},
        {"NUCLEUS_ORGANIZATION_FIELD": "missing"},
        {"ORGANIZATION_MODEL": "auth.Group"},
    ],
)
def test_host_models_that_do_not_fit_are_e018_and_fail_at_run_time(users, convites_settings, keys):
    convites_settings(**keys)
    assert [m.id for m in checks.check_invite_settings()] == ["django_convites.E018"]
    _, nuclei = make_org()
    with pytest.raises(ImproperlyConfigured, match="E018"):
        issue(users["admin"], organization=uuid.uuid4(), nuclei=[nuclei[0].pk])


@pytest.mark.parametrize(
    "keys",
    [
        {"JWT_ALGORITHM": "RS256"},
        {"JWT_ALGORITHM": "RS256", "JWT_SIGNING_KEY": "x" * 40, "JWT_VERIFYING_KEY": "y" * 40},
        {"JWT_ALGORITHM": "HS256", "JWT_VERIFYING_KEY": "y" * 40},
    ],
)
def test_jwt_keys_that_do_not_suit_the_algorithm_are_e031(convites_settings, keys):
    convites_settings(**keys)
    assert [m.id for m in checks.check_invite_settings()] == ["django_convites.E031"]
    from django_convites import jwt_codec

    with pytest.raises(ImproperlyConfigured, match="E031"):
        jwt_codec.encode(1, uuid.uuid4(), timezone.now())


def test_a_default_lifetime_above_the_maximum_is_e019(convites_settings):
    convites_settings(INVITE_LIFETIME=10 * 86400, INVITE_MAX_LIFETIME=5 * 86400)
    assert [m.id for m in checks.check_invite_settings()] == ["django_convites.E019"]


def test_lifetimes_may_be_timedeltas(users, convites_settings):
    convites_settings(INVITE_LIFETIME=datetime.timedelta(hours=2))
    invite = issue(users["admin"]).invite
    assert invite.expires_at - invite.created_at == datetime.timedelta(hours=2)


# -- no secret leaves the response that created it ---------------------------------------------------------


def test_no_code_or_digest_in_audit_rows_or_logs(api_client, users, caplog):
    caplog.set_level(logging.DEBUG)
    issued = issue(users["gestor"])
    api_client.get("/api/tokens/validate/", {"codigo": issued.code})
    api_client.force_authenticate(users["usuario"])
    api_client.post(f"/api/tokens/{issued.code}/use/")
    api_client.post(f"/api/tokens/{issued.code}/use/")
    api_client.force_authenticate(users["admin"])
    api_client.post(f"/api/tokens/{issued.code}/revogar/")
    rows = [str(list(row.values())) for row in AuditEvent.objects.values()]
    assert len(rows) >= 4
    for secret in (issued.code, issued.invite.code_digest, issued.code[4:]):
        assert not any(secret in row for row in rows)
        assert secret not in caplog.text
    # The 409s are still logged, with the code cut out of the path.
    assert "Conflict: /api/tokens/cvi_[redacted]/use/" in caplog.text


# -- admin ------------------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(client, users):
    users["admin"].is_staff = True
    users["admin"].save()
    return browser_as(users["admin"], client=client)


def test_admin_lists_and_filters_invites_without_codes(staff_client, users):
    organization, _ = make_org()
    new, used = issue(users["gestor"], organization=organization.pk), issue(users["gestor"])
    invites.use_invite(used.code, user=users["usuario"])
    users["admin"].user_permissions.add(*Permission.objects.filter(codename="view_invite"))
    pages = [
        staff_client.get("/admin/django_convites/invite/"),
        staff_client.get("/admin/django_convites/invite/", {"estado": "usado"}),
        staff_client.get("/admin/django_convites/invite/", {"q": "gestor"}),
        staff_client.get(f"/admin/django_convites/invite/{new.invite.pk}/change/"),
    ]
    assert [page.status_code for page in pages] == [200] * 4
    assert str(new.invite.pk) in pages[0].content.decode()
    used_page = pages[1].content.decode()
    assert str(used.invite.pk) in used_page and str(new.invite.pk) not in used_page
    for page in pages:
        html = page.content.decode()
        for secret in (new.code, new.invite.code_digest, used.code, used.invite.code_digest):
            assert secret not in html
    assert 'name="target_type"' not in pages[3].content.decode()
    assert staff_client.get("/admin/django_convites/invite/add/").status_code == 403


def test_admin_revokes_through_the_service(staff_client, users):
    users["admin"].user_permissions.add(*Permission.objects.filter(codename="view_invite"))
    new, used = issue(users["gestor"]), issue(users["gestor"])
    invites.use_invite(used.code, user=users["usuario"])
    response = staff_client.post(
        "/admin/django_convites/invite/",
        {"action": "revoke_selected", "_selected_action": [new.invite.pk, used.invite.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 revoked, 1 left as they were." in response.content.decode()
    assert Invite.objects.get(pk=new.invite.pk).revoked_by == users["admin"]
    assert Invite.objects.get(pk=used.invite.pk).revoked_at is None
    assert AuditEvent.objects.filter(event="convite_revogado", actor=users["admin"]).count() == 1


# -- HTML pages -------------------------------------------------------------------------------------------

ISSUE_PAGE = "/tokens/convites/gerar/"
VALIDATE_PAGE = "/tokens/convites/validar/"


def test_the_issue_page_needs_a_login_and_a_role(client, users):
    response = client.get(ISSUE_PAGE)
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(users["usuario"])
    assert client.get(ISSUE_PAGE).status_code == 403


def test_the_issue_page_offers_only_grantable_types_and_shows_the_code_once(client, users):
    organization, nuclei = make_org()
    client.force_login(users["gestor"])
    page = client.get(ISSUE_PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="associado"' in html and 'value="coordenador"' in html and 'value="admin"' not in html
    assert page["Cache-Control"] == "no-store"
    response = client.post(
        ISSUE_PAGE, {"tipo_destino": "associado", "organizacao": organization.pk, "nucleos": [nuclei[0].pk]}
    )
    assert response.status_code == 201
    code = re.search(r"cvi_[0-9A-Za-z]{33}", response.content.decode()).group(0)
    invite = Invite.objects.get()
    assert invite.code_digest == tokens.digest(code)
    assert invite.nucleus_refs == [nuclei[0].pk]
    assert code not in client.get(ISSUE_PAGE).content.decode()


def test_the_issue_page_reports_service_errors_on_the_form(client, users, convites_settings):
    organization, _ = make_org()
    _, other_nuclei = make_org("B")
    client.force_login(users["gestor"])
    response = client.post(
        ISSUE_PAGE, {"tipo_destino": "associado", "organizacao": organization.pk, "nucleos": [other_nuclei[0].pk]}
    )
    assert response.status_code == 400
    assert not Invite.objects.exists()
    assert client.post(ISSUE_PAGE, {"tipo_destino": "admin"}).status_code == 400  # not a choice for a gestor
    convites_settings(INVITES_PER_DAY=1)
    assert client.post(ISSUE_PAGE, {"tipo_destino": "associado"}).status_code == 201
    response = client.post(ISSUE_PAGE, {"tipo_destino": "associado"})
    assert response.status_code == 429
    assert Invite.objects.count() == 1


def test_the_issue_page_needs_csrf(users):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(users["admin"])
    assert csrf_client.post(ISSUE_PAGE, {"tipo_destino": "associado"}).status_code == 403
    assert not Invite.objects.exists()


def test_the_validate_page_checks_without_using(client, users, convites_settings):
    issued = issue(users["admin"])
    page = client.get(VALIDATE_PAGE)
    assert page.status_code == 200 and page["Referrer-Policy"] == "same-origin"
    response = client.post(VALIDATE_PAGE, {"codigo": issued.code})
    assert response.status_code == 200
    assert "associado" in response.content.decode()
    assert Invite.objects.get().used_at is None
    assert client.post(VALIDATE_PAGE, {"codigo": "cvi_bad"}).status_code == 400
    assert client.post(VALIDATE_PAGE, {"codigo": tokens.generate(tokens.Kind.INVITE)}).status_code == 404
    invites.revoke_invite(issued.code, actor=users["admin"])
    assert client.post(VALIDATE_PAGE, {"codigo": issued.code}).status_code == 410
    convites_settings(INVITE_VALIDATION_RATE="1/minute")
    client.post(VALIDATE_PAGE, {"codigo": issued.code})
    assert client.post(VALIDATE_PAGE, {"codigo": issued.code}).status_code == 429


def test_the_validate_page_refuses_a_get_with_a_code_in_the_url(client, users):
    issued = issue(users["admin"])
    response = client.get(VALIDATE_PAGE, {"codigo": issued.code})
    assert response.status_code == 200
    assert "associado" not in response.content.decode()
    assert not AuditEvent.objects.filter(event="convite_validado").exists()


def test_a_second_gestor_is_not_the_first():
    gestor = make_user("g1", role="gestor")
    other = make_user("g2", role="gestor")
    theirs = issue(other)
    with pytest.raises(NotAllowed):
        invites.visible_invite(gestor, str(theirs.invite.pk))
