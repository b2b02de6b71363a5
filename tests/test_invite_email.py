"""Invites bound to an e-mail address: ``email`` in ``POST /api/tokens/``, on the wire, in the admin and
on the issue page; only the sign-up with that address may use such an invite (docs/invites.rst)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from django_convites.models import AuditEvent, Invite, InviteQuota
from django_convites.services import invites
from tests.factories import browser_as, events, issue
from tests.invites import URL

pytestmark = pytest.mark.django_db


def create(api_client, user, body):
    api_client.force_authenticate(user)
    return api_client.post(URL, body, format="json")


def test_an_invite_bound_to_an_address_shows_it_everywhere(api_client, users):
    response = create(api_client, users["admin"], {"tipo_destino": "associado", "email": " Ana.Souza@Example.COM "})
    assert response.status_code == 201, response.content
    created = response.json()
    # Stripped, the domain lowercased; the local part is the person's own and stays as typed.
    assert created["email"] == "Ana.Souza@example.com"
    assert Invite.objects.get(pk=created["id"]).email == "Ana.Souza@example.com"
    assert api_client.get(f"{URL}{created['id']}/").json()["email"] == "Ana.Souza@example.com"
    assert [row["email"] for row in api_client.get(URL).json()["results"]] == ["Ana.Souza@example.com"]
    # The event says an address is bound, and keeps the address itself out of the log.
    (event,) = events("convite_gerado")
    assert event.details["email_vinculado"] is True
    assert "Ana" not in str(event.details)


@pytest.mark.parametrize("body", [{}, {"email": None}, {"email": ""}])
def test_an_invite_without_an_address_is_open_to_anyone_with_the_code(api_client, users, body):
    response = create(api_client, users["admin"], {"tipo_destino": "associado", **body})
    assert response.status_code == 201, response.content
    assert response.json()["email"] is None
    assert Invite.objects.get().email == ""
    assert events("convite_gerado")[0].details["email_vinculado"] is False


@pytest.mark.parametrize(
    "email",
    ["ana", "ana@", "@example.com", "ana@example..com", "ana @example.com", "a" * 250 + "@example.com", 7, ["a@b.co"]],
)
def test_a_bad_address_is_400_and_writes_nothing(api_client, users, email):
    response = create(api_client, users["gestor"], {"tipo_destino": "associado", "email": email})
    assert response.status_code == 400, response.content
    body = response.json()
    assert isinstance(body["detail"], str) and body["code"]
    assert not Invite.objects.exists()
    assert not InviteQuota.objects.filter(count__gt=0).exists()
    assert not AuditEvent.objects.filter(event="convite_gerado").exists()


def test_the_address_matches_in_any_case(users):
    invite = issue(users["admin"], "associado", email="Ana@Example.com").invite
    assert invites.email_matches(invite, "ana@example.com")
    assert invites.email_matches(invite, "  ANA@EXAMPLE.COM ")
    assert not invites.email_matches(invite, "ana@example.org")
    assert not invites.email_matches(invite, None)
    unbound = issue(users["admin"], "associado").invite
    assert invites.email_matches(unbound, "anyone@example.org")


def test_the_issue_page_binds_an_address(users):
    browser = browser_as(users["admin"])
    response = browser.post("/tokens/convites/gerar/", {"tipo_destino": "associado", "email": "bia@example.com"})
    assert response.status_code == 201, response.content
    assert Invite.objects.get().email == "bia@example.com"
    response = browser.post("/tokens/convites/gerar/", {"tipo_destino": "associado", "email": "not an address"})
    assert response.status_code == 400 and Invite.objects.count() == 1


def test_the_admin_lists_and_searches_the_address(client, users):
    users["admin"].is_staff = True
    users["admin"].save()
    staff_client = browser_as(users["admin"], client=client)
    bound = issue(users["admin"], "associado", email="carla@example.com").invite
    unbound = issue(users["admin"], "associado").invite
    users["admin"].user_permissions.add(*Permission.objects.filter(codename="view_invite"))
    page = staff_client.get("/admin/django_convites/invite/", {"q": "carla"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "carla@example.com" in html and str(bound.pk) in html and str(unbound.pk) not in html
