"""Invites bound to an e-mail address: ``email`` in ``POST /api/tokens/``, on the wire, in the admin and
on the issue page; only the sign-up with that address may use such an invite (docs/invites.rst)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from django_convites.exceptions import InviteRevoked
from django_convites.models import AuditEvent, Invite, InviteQuota
from django_convites.services import invites
from tests.factories import browser_as, events, issue, mail_server_down
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
    invite = issue(users["admin"], "associado", email="Ana@Example.com", link_base="http://testserver").invite
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
    bound = issue(users["admin"], "associado", email="carla@example.com", link_base="http://testserver").invite
    unbound = issue(users["admin"], "associado").invite
    users["admin"].user_permissions.add(*Permission.objects.filter(codename="view_invite"))
    page = staff_client.get("/admin/django_convites/invite/", {"q": "carla"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "carla@example.com" in html and str(bound.pk) in html and str(unbound.pk) not in html


# -- sending: INVITE_SENDER -------------------------------------------------------------------------------


def sent_to(address):
    return [message for message in mail.outbox if message.to == [address]]


def link_in(message):
    found = re.search(r"https?://\S+/tokens/convites/aceitar/(\S+)/", message.body)
    assert found, message.body
    return found.group(0), found.group(1)


def test_a_bound_invite_is_mailed_with_its_accept_link(api_client, users):
    response = create(api_client, users["admin"], {"tipo_destino": "associado", "email": "ana@example.com"})
    assert response.status_code == 201, response.content
    code = response.json()["codigo"]
    (message,) = sent_to("ana@example.com")
    link, linked_code = link_in(message)
    assert link == f"http://testserver/tokens/convites/aceitar/{code}/"
    assert linked_code == code
    assert code not in message.subject
    (event,) = events("convite_enviado")
    assert (event.actor, event.target_id, event.details) == (users["admin"], response.json()["id"], {"canal": "email"})
    assert not AuditEvent.objects.filter(details__icontains=code[4:]).exists()


def test_an_invite_without_an_address_sends_nothing(api_client, users):
    assert create(api_client, users["admin"], {"tipo_destino": "associado"}).status_code == 201
    assert mail.outbox == []
    assert events("convite_enviado") == []


def test_the_link_starts_with_the_configured_base_url(api_client, users, convites_settings):
    convites_settings(INVITE_LINK_BASE_URL="https://convites.example.org")
    answer = create(api_client, users["admin"], {"tipo_destino": "associado", "email": "ana@example.com"})
    code = answer.json()["codigo"]
    assert link_in(mail.outbox[0])[0] == f"https://convites.example.org/tokens/convites/aceitar/{code}/"


@mail_server_down()
def test_a_mail_server_that_is_down_refuses_the_invite_and_stores_nothing(api_client, users):
    response = create(api_client, users["gestor"], {"tipo_destino": "associado", "email": "ana@example.com"})
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "invite_undeliverable"
    assert not Invite.objects.exists()
    assert not InviteQuota.objects.filter(count__gt=0).exists()
    assert not AuditEvent.objects.filter(event__in=["convite_gerado", "convite_enviado"]).exists()


def failing_sender(invite, code, link):
    raise RuntimeError("the site's sender broke")


def other_channel(invite, code, link):
    return "whatsapp"


def test_any_error_of_the_sender_rolls_the_invite_back(users, convites_settings):
    convites_settings(INVITE_SENDER="tests.test_invite_email.failing_sender")
    with pytest.raises(RuntimeError):
        invites.issue_invite(
            actor=users["gestor"], target_type="associado", email="a@example.com", link_base="http://x"
        )
    assert not Invite.objects.exists()
    assert not InviteQuota.objects.filter(count__gt=0).exists()


def test_the_sender_names_the_channel(users, convites_settings):
    convites_settings(INVITE_SENDER="tests.test_invite_email.other_channel")
    invites.issue_invite(actor=users["admin"], target_type="associado", email="a@example.com", link_base="http://x")
    assert events("convite_enviado")[0].details == {"canal": "whatsapp"}


def test_outside_a_request_the_base_url_setting_is_needed(users):
    with pytest.raises(ImproperlyConfigured):
        invites.issue_invite(actor=users["admin"], target_type="associado", email="a@example.com")
    assert not Invite.objects.exists()


# -- the accept link and page -----------------------------------------------------------------------------


def mailed_invite(api_client, users, email="ana@example.com"):
    response = create(api_client, users["admin"], {"tipo_destino": "associado", "email": email})
    return response.json(), link_in(mail.outbox[-1])[0]


def test_the_link_keeps_the_code_in_the_session_and_redirects_without_it(api_client, users, client):
    invite, link = mailed_invite(api_client, users)
    response = client.get(link)
    assert response.status_code == 302
    assert response["Location"] == "/tokens/convites/aceitar/"
    assert invite["codigo"] not in response["Location"]
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert invite["codigo"] not in html
    assert "associado" in html and "/accounts/login/?next=%2Ftokens%2Fconvites%2Faceitar%2F" in html
    assert page["Cache-Control"] == "no-store"


def test_a_logged_in_user_accepts_with_one_button(api_client, users, client):
    invite, link = mailed_invite(api_client, users)
    users["usuario"].email = "ANA@example.com"  # the bound address, in another case
    users["usuario"].save()
    client.force_login(users["usuario"])
    client.get(link)
    response = client.post("/tokens/convites/aceitar/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "You accepted the invite." in html and "associado" in html
    assert 'class="convites-button" href="/"' in html  # on to the site
    assert invite["codigo"] not in html
    row = Invite.objects.get(pk=invite["id"])
    assert row.used_by == users["usuario"]
    # Accepted once: the page now says why it cannot be used again.
    client.get(link)
    again = client.get("/tokens/convites/aceitar/")
    assert again.status_code == 410  # the validation's answer for a used invite, as on the API
    assert invite["codigo"] not in again.content.decode()


def test_a_logged_in_user_with_another_address_cannot_accept_a_bound_invite(api_client, users, client):
    invite, link = mailed_invite(api_client, users)
    users["usuario"].email = "outra@example.com"
    users["usuario"].save()
    client.force_login(users["usuario"])
    client.get(link)
    response = client.post("/tokens/convites/aceitar/")
    assert response.status_code == 400
    assert "This invite is for another e-mail address." in response.content.decode()
    row = Invite.objects.get(pk=invite["id"])
    assert row.used_at is None and row.used_by is None
    (failed,) = events("convite_uso_falhou")
    assert (failed.actor, failed.details) == (users["usuario"], {"motivo": "invite_email_mismatch"})


def test_an_unusable_invite_redirects_too_and_the_page_says_why(api_client, users, client):
    invite, link = mailed_invite(api_client, users)
    invites.revoke_invite(invite["id"], actor=users["admin"])
    response = client.get(link)
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 410
    assert str(InviteRevoked().detail) in page.content.decode()
    garbage = client.get("/tokens/convites/aceitar/nonsense/")
    assert garbage.status_code == 302
    assert client.get("/tokens/convites/aceitar/").status_code == 400


def test_the_page_without_a_link_asks_for_one(client):
    response = client.get("/tokens/convites/aceitar/")
    assert response.status_code == 400
    assert "link" in response.content.decode()


def test_the_link_spends_the_validation_budget(api_client, users, client, convites_settings):
    convites_settings(INVITE_VALIDATION_RATE="2/minute")
    _, link = mailed_invite(api_client, users)
    assert [client.get(link).status_code for _ in range(3)] == [302, 302, 429]
