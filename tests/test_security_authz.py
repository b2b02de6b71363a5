"""Issue "Security", the authorization findings: each test failed before the policy module existed."""

from __future__ import annotations

import datetime
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from django_convites import policy
from django_convites.models import ApiToken, AuditEvent, Invite
from django_convites.roles import Action, forget_role
from django_convites.services import api_tokens
from tests.factories import bearer, issue, make_api_token, make_org, make_user
from tests.invites import error_of

pytestmark = pytest.mark.django_db

TOKENS = "/api/api-tokens/"


# -- 1. rotating someone else's token -------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["admin", "root"])
def test_nobody_rotates_another_users_token_and_receives_its_secret(api_client, users, actor):
    victim = "root" if actor == "admin" else "admin"
    token, _ = make_api_token(users[victim], "admin", direct=True)
    api_client.force_authenticate(users[actor])
    response = api_client.post(f"{TOKENS}{token.pk}/rotacionar/")
    body = error_of(response, 403, "not_owner")
    assert "token" not in body
    token.refresh_from_db()
    assert token.revoked_at is None
    assert ApiToken.objects.count() == 1
    (denied,) = AuditEvent.objects.filter(event="api_token_negado")
    assert denied.details["motivo"] == "not_owner" and denied.actor == users[actor]
    # Revoking it is still in their reach.
    assert api_client.delete(f"{TOKENS}{token.pk}/").status_code == 204


def test_the_owner_rotates_their_token(api_client, users):
    token, _ = make_api_token(users["admin"], "admin", direct=True)
    api_client.force_authenticate(users["admin"])
    response = api_client.post(f"{TOKENS}{token.pk}/rotacionar/")
    assert response.status_code == 201, response.content
    assert response.json()["scope"] == "admin"


# -- 2. a narrower token rotating a wider one -----------------------------------------------------------


def test_a_write_token_cannot_rotate_its_owners_admin_token(users):
    admin_token, _ = make_api_token(users["admin"], "admin", direct=True)
    _, write_secret = make_api_token(users["admin"], "write", direct=True)
    error_of(bearer(write_secret).post(f"{TOKENS}{admin_token.pk}/rotacionar/"), 403, "scope_not_allowed")
    admin_token.refresh_from_db()
    assert admin_token.revoked_at is None
    assert ApiToken.objects.filter(user=users["admin"]).count() == 2


def test_a_token_rotates_a_token_of_its_own_scope(users):
    target, _ = make_api_token(users["gestor"], "write", direct=True)
    _, write_secret = make_api_token(users["gestor"], "write", direct=True)
    assert bearer(write_secret).post(f"{TOKENS}{target.pk}/rotacionar/").status_code == 201


# -- a rotation: one event, and its expiry --------------------------------------------------------------


def test_a_rotation_writes_one_event_naming_both_tokens(api_client, users):
    token, _ = make_api_token(users["usuario"], "write", direct=True)
    api_client.force_authenticate(users["usuario"])
    new_id = api_client.post(f"{TOKENS}{token.pk}/rotacionar/").json()["id"]
    events = list(AuditEvent.objects.exclude(event="api_token_usado").order_by("id"))
    assert [event.event for event in events] == ["api_token_rotacionado"]
    assert events[0].target_id == str(token.pk) and events[0].details["novo"] == new_id


def test_rotating_a_token_that_expires_near_year_9999_is_no_500(api_client, users, convites_settings):
    far = datetime.datetime(9999, 12, 1, tzinfo=datetime.timezone.utc)
    token, _ = make_api_token(
        users["usuario"], "write", direct=True, expires_at=far, created_at=timezone.now() - timedelta(days=1)
    )
    api_client.force_authenticate(users["usuario"])
    response = api_client.post(f"{TOKENS}{token.pk}/rotacionar/")
    assert response.status_code == 201, response.content
    # The lifetime is capped by API_TOKEN_MAX_LIFETIME (a year by default).
    new = ApiToken.objects.get(pk=response.json()["id"])
    assert new.expires_at <= timezone.now() + timedelta(days=365)
    convites_settings(API_TOKEN_MAX_LIFETIME=None)
    second = api_client.post(f"{TOKENS}{new.pk}/rotacionar/")
    assert second.status_code == 201, second.content
    old, _ = make_api_token(
        users["usuario"], "write", direct=True, expires_at=far, created_at=timezone.now() - timedelta(days=1)
    )
    third = api_client.post(f"{TOKENS}{old.pk}/rotacionar/")
    assert third.status_code == 201, third.content


@pytest.mark.parametrize("expiry", ["9999-12-31T23:59:59Z", "2100-01-01T00:00:00Z"])
def test_a_token_may_not_outlive_the_maximum_lifetime(api_client, users, expiry):
    api_client.force_authenticate(users["usuario"])
    response = api_client.post(TOKENS, {"scope": "read", "expira_em": expiry}, format="json")
    assert response.status_code == 400, response.content
    assert "expira_em" in response.json()
    assert not ApiToken.objects.exists()


def test_never_expiring_tokens_only_when_the_site_allows_them(api_client, users, convites_settings):
    api_client.force_authenticate(users["usuario"])
    assert api_client.post(TOKENS, {"scope": "read"}, format="json").json()["expira_em"] is not None
    convites_settings(API_TOKEN_MAX_LIFETIME=None)
    assert api_client.post(TOKENS, {"scope": "read"}, format="json").json()["expira_em"] is None


def test_authenticate_works_with_its_documented_defaults(users):
    _, secret = make_api_token(users["usuario"], "read", direct=True)
    user, auth = api_tokens.authenticate(secret)
    assert user == users["usuario"] and auth.scope == "read"
    assert policy.credential_of(user).kind is policy.CredentialKind.API_TOKEN


# -- 3. an invite outlives its issuer's right -------------------------------------------------------------


def _admin_invite(users):
    return issue(users["admin"], "admin")


def test_a_demoted_issuers_admin_invite_is_revoked_at_once(api_client, users):
    issued = _admin_invite(users)
    users["admin"].groups.remove(Group.objects.get(name="admin"))
    invite = Invite.objects.get(pk=issued.invite.pk)
    assert invite.revoked_at is not None
    (revoked,) = AuditEvent.objects.filter(event="convite_revogado")
    assert revoked.details == {"motivo": "emissor_sem_permissao"} and revoked.actor is None
    api_client.force_authenticate(users["usuario"])
    error_of(api_client.post(f"/api/tokens/{issued.code}/use/", {}, format="json"), 410, "invite_revoked")
    forget_role(users["usuario"])
    assert not users["usuario"].groups.filter(name="admin").exists()


def test_a_deactivated_issuers_invites_are_revoked(users):
    issued = issue(users["gestor"], "associado")
    users["gestor"].is_active = False
    users["gestor"].save()
    assert Invite.objects.get(pk=issued.invite.pk).revoked_at is not None
    assert AuditEvent.objects.get(event="convite_revogado").details == {"motivo": "emissor_inativo"}


def test_an_issuer_changed_behind_the_signals_back_is_caught_at_use(api_client, users, django_user_model):
    """``QuerySet.update()`` and a directory sync send no signal: the use itself checks the issuer."""
    issued = _admin_invite(users)
    django_user_model.objects.filter(pk=users["admin"].pk).update(is_active=False)
    api_client.force_authenticate(users["usuario"])
    error_of(api_client.post(f"/api/tokens/{issued.code}/use/", {}, format="json"), 410, "invite_revoked")
    invite = Invite.objects.get(pk=issued.invite.pk)
    assert invite.used_at is None and invite.revoked_at is not None
    failed = AuditEvent.objects.get(event="convite_uso_falhou")
    assert failed.details == {"motivo": "invite_revoked", "causa": "emissor_inativo"}


def test_a_demoted_issuer_keeps_the_invites_they_could_still_issue(users):
    kept = issue(users["admin"], "coordenador")
    gone = issue(users["admin"], "admin")
    gestor_group, _ = Group.objects.get_or_create(name="gestor")
    users["admin"].groups.add(gestor_group)
    users["admin"].groups.remove(Group.objects.get(name="admin"))
    assert Invite.objects.get(pk=kept.invite.pk).revoked_at is None
    assert Invite.objects.get(pk=gone.invite.pk).revoked_at is not None


def test_an_issuers_valid_invite_still_works(api_client, users):
    issued = _admin_invite(users)
    users["admin"].last_login = timezone.now()
    users["admin"].save(update_fields=["last_login"])
    api_client.force_authenticate(users["usuario"])
    assert api_client.post(f"/api/tokens/{issued.code}/use/", {}, format="json").status_code == 200


# -- 6. factors need an interactive login --------------------------------------------------------------


@pytest.mark.parametrize("scope", ["write", "admin"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/2fa/totp/", {}),
        ("/api/2fa/totp/confirmar/", {"codigo": "123456"}),
        ("/api/2fa/desativar/", {"codigo": "123456"}),
        ("/api/2fa/codigos-backup/", {"codigo": "123456"}),
        ("/api/codigos/", {}),
        ("/api/codigos/validar/", {"codigo": "123456"}),
    ],
)
def test_an_api_token_never_changes_factors(users, scope, path, body):
    _, secret = make_api_token(users["admin"], scope, direct=True)
    error_of(bearer(secret).post(path, body, format="json"), 403, "interactive_login_required")
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from django_convites.models import AuthCode

    assert not TOTPDevice.objects.exists() and not AuthCode.objects.exists()


# -- 16. confinement covers every object with an owner -------------------------------------------------

MEMBERS: dict[str, str] = {}


def confined(user):
    return {MEMBERS[user.username]} if user.username in {"admin", "gestor"} else None


def members(organizations):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username__in=[n for n, o in MEMBERS.items() if o in organizations])


@pytest.fixture
def two_organizations(users, convites_settings):
    org_a, _ = make_org("A")
    org_b, _ = make_org("B")
    outsider = make_user("outsider")
    MEMBERS.clear()
    MEMBERS.update({"admin": org_a.pk, "gestor": org_a.pk, "usuario": org_a.pk, "outsider": org_b.pk})
    convites_settings(
        ORGANIZATION_RESOLVER="tests.test_security_authz.confined",
        ORGANIZATION_MEMBERS_RESOLVER="tests.test_security_authz.members",
    )
    return outsider


def test_a_confined_admin_does_not_reach_another_organizations_tokens(api_client, users, two_organizations):
    outsider = two_organizations
    theirs, _ = make_api_token(outsider, "write", direct=True)
    member, _ = make_api_token(users["usuario"], "write", direct=True)
    api_client.force_authenticate(users["admin"])
    error_of(api_client.get(TOKENS, {"usuario": outsider.pk}), 403, "permission_denied")
    error_of(api_client.delete(f"{TOKENS}{theirs.pk}/"), 404, "not_found")
    error_of(api_client.get(f"{TOKENS}{theirs.pk}/logs/"), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert [row["id"] for row in api_client.get(TOKENS, {"usuario": users["usuario"].pk}).json()["results"]] == [
        str(member.pk)
    ]
    assert api_client.delete(f"{TOKENS}{member.pk}/").status_code == 204


def test_a_confined_admin_reads_only_their_organizations_audit(api_client, users, two_organizations):
    outsider = two_organizations
    make_api_token(outsider, "write", direct=True)
    AuditEvent.objects.create(event="login", actor=outsider)
    AuditEvent.objects.create(event="login", actor=users["usuario"])
    api_client.force_authenticate(users["admin"])
    error_of(api_client.get("/api/auditoria/", {"usuario": outsider.pk}), 403, "permission_denied")
    actors = {row["usuario"] for row in api_client.get("/api/auditoria/").json()["results"]}
    assert users["usuario"].pk in actors and outsider.pk not in actors
    api_client.force_authenticate(users["root"])
    assert outsider.pk in {row["usuario"] for row in api_client.get("/api/auditoria/").json()["results"]}


def test_without_a_members_resolver_a_confined_admin_reaches_only_their_own(
    api_client, users, two_organizations, convites_settings
):
    convites_settings(ORGANIZATION_MEMBERS_RESOLVER=None)
    make_api_token(users["usuario"], "write", direct=True)
    api_client.force_authenticate(users["admin"])
    error_of(api_client.get(TOKENS, {"usuario": users["usuario"].pk}), 403, "permission_denied")
    assert policy.owned_by_reachable_users(users["admin"]) is not None


def test_the_admin_action_asks_the_policy(users, two_organizations, rf):
    """The admin's revoke action goes through the service: a confined admin leaves others' tokens alone."""
    outsider = two_organizations
    theirs, _ = make_api_token(outsider, "write", direct=True)
    ours, _ = make_api_token(users["usuario"], "write", direct=True)
    assert api_tokens.bulk_revoke(ApiToken.objects.all(), actor=users["admin"]) == 1
    theirs.refresh_from_db()
    ours.refresh_from_db()
    assert theirs.revoked_at is None and ours.revoked_at is not None
    assert not policy.decide(users["admin"], Action.MANAGE_API_TOKENS, policy.Subject(owner_id=outsider.pk))
