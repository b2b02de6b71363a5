"""The admin of the audit log and the webhook outbox: read-only, searchable, linked, policy-bound."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from django_convites.models import AuditEvent, DeliveryState, WebhookDelivery
from tests.factories import browser_as, issue, jwt_login, make_api_token, make_user

pytestmark = pytest.mark.django_db

EVENTS = "/admin/django_convites/auditevent/"
OUTBOX = "/admin/django_convites/webhookdelivery/"


def staff(user):
    user.is_staff = True
    user.save()
    return browser_as(user)


def listed_events(client, **params):
    response = client.get(EVENTS, params)
    assert response.status_code == 200
    return {row.pk for row in response.context["cl"].result_list}


def test_events_are_searchable_by_username_and_ip(users):
    ana = make_user("ana_silva")
    mine = AuditEvent.objects.create(event="teste", actor=ana, ip="203.0.113.40")
    other = AuditEvent.objects.create(event="teste", actor=users["gestor"], ip="198.51.100.3")
    client = staff(users["root"])
    assert mine.pk in listed_events(client, q="ana_silva")
    assert other.pk not in listed_events(client, q="ana_silva")
    assert listed_events(client, q="203.0.113.40") & {mine.pk, other.pk} == {mine.pk}
    for hostile in ("abc", "1.2.3", "::", "'; --", "%"):
        assert client.get(EVENTS, {"q": hostile}).status_code == 200


def test_an_invite_a_token_and_a_session_link_to_their_events(users):
    root = users["root"]
    invite = issue(root).invite
    token, _ = make_api_token(root, "read")
    family = jwt_login(root).family
    client = staff(root)
    for path, target_type, pk in (
        (f"/admin/django_convites/invite/{invite.pk}/change/", "convite", invite.pk),
        (f"/admin/django_convites/apitoken/{token.pk}/change/", "api_token", token.pk),
        (f"/admin/django_convites/sessionfamily/{family.pk}/change/", "sessao", family.pk),
    ):
        page = client.get(path)
        assert page.status_code == 200
        link = f"{EVENTS}?target_type={target_type}&amp;target_id={pk}"
        assert link in page.content.decode(), path
        events = listed_events(client, target_type=target_type, target_id=str(pk))
        expected = set(
            AuditEvent.objects.filter(target_type=target_type, target_id=str(pk)).values_list("pk", flat=True)
        )
        assert events == expected and events


def test_a_staff_gestor_sees_only_their_own_events_in_the_admin(users):
    gestor = users["gestor"]
    gestor.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client = staff(gestor)
    theirs = AuditEvent.objects.create(event="teste", actor=users["usuario"])
    own = AuditEvent.objects.create(event="teste", actor=gestor)
    seen = listed_events(client)
    assert own.pk in seen and theirs.pk not in seen


def test_events_cannot_be_deleted_from_the_admin(users):
    event = AuditEvent.objects.create(event="teste")
    client = staff(users["root"])
    response = client.post(EVENTS, {"action": "delete_selected", "_selected_action": [event.pk]})
    assert response.status_code in (200, 302)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def dead_delivery(actor=None) -> WebhookDelivery:
    event = AuditEvent.objects.create(event="teste", actor=actor)
    return WebhookDelivery.objects.create(
        event_id=event.pk,
        event=event.event,
        actor_pk="" if actor is None else str(actor.pk),
        url="https://hooks.example.com/convites",
        payload="{}",
        state=DeliveryState.DEAD,
        attempts=10,
        last_error="the receiver answered 500, an error",
    )


def test_the_outbox_lists_dead_letters_with_their_error_and_sends_them_again(users):
    row = dead_delivery(users["usuario"])
    client = staff(users["root"])
    page = client.get(OUTBOX, {"state__exact": DeliveryState.DEAD})
    assert page.status_code == 200
    assert "the receiver answered 500" in page.content.decode()
    assert client.get(f"{OUTBOX}{row.pk}/change/").status_code == 200
    client.post(OUTBOX, {"action": "send_again", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DeliveryState.PENDING, 0)
    assert row.next_attempt_at <= timezone.now()


def test_sending_again_is_for_root_and_admin_only(users):
    row = dead_delivery(users["usuario"])
    gestor = users["gestor"]
    client = staff(gestor)
    gestor.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    page = client.get(OUTBOX)
    assert page.status_code == 200
    assert "send_again" not in page.content.decode(), "the action is not offered"
    client.post(OUTBOX, {"action": "send_again", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.state == DeliveryState.DEAD


def test_the_outbox_cannot_be_edited_or_deleted(users):
    row = dead_delivery()
    client = staff(users["root"])
    assert client.get(f"{OUTBOX}add/").status_code == 403
    assert client.post(f"{OUTBOX}{row.pk}/delete/").status_code == 403
    assert WebhookDelivery.objects.filter(pk=row.pk).exists()
