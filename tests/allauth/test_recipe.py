"""The recipe of docs/allauth.rst: a site's own, plain Django sign-up view that spends the invite
(tests/allauth/recipe.py, which the page shows)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from django_convites import signals
from django_convites.exceptions import InviteEmailMismatch, NotAllowed
from django_convites.models import Invite
from django_convites.services import invites
from django_convites.views import ACCEPT_SESSION_KEY
from tests.allauth.test_allauth_adapter import ACCEPT_PAGE, PASSWORD, html_of, new_users, opened
from tests.factories import issue

pytestmark = pytest.mark.django_db

SIGN_UP = "/site/cadastro/"


def fields(username: str = "ana", email: str = "ana@example.com") -> dict[str, str]:
    return {"username": username, "email": email, "password1": PASSWORD, "password2": PASSWORD}


@pytest.fixture(autouse=True)
def _signup_url(convites_settings: Any) -> None:
    convites_settings(SIGNUP_URL="site-sign-up")


@pytest.fixture
def bound(users: dict[str, Any]) -> invites.IssuedInvite:
    return issue(users["admin"], email="Ana@Example.com", link_base="http://testserver")


@pytest.fixture
def member_group() -> Iterator[None]:
    def attach(sender: Any, invite: Invite, user: Any, **kwargs: Any) -> None:
        user.groups.add(Group.objects.get_or_create(name="membros")[0])

    signals.invite_used.connect(attach, weak=False)
    yield
    signals.invite_used.disconnect(attach)


def test_the_accept_page_links_to_the_sites_sign_up_which_spends_the_invite(bound, member_group):
    client = opened(bound.code)
    assert f'href="{SIGN_UP}"' in html_of(client.get(ACCEPT_PAGE))
    response = client.post(SIGN_UP, fields(email="ana@EXAMPLE.com"))
    assert response.status_code == 302 and response["Location"] == "/site/page/"
    user = get_user_model()._default_manager.get(username="ana")
    assert Invite.objects.get().used_by == user
    assert [group.name for group in user.groups.all()] == ["membros"]
    assert client.session[SESSION_KEY] == str(user.pk) and ACCEPT_SESSION_KEY not in client.session


def test_a_bound_invite_refuses_another_address_and_makes_no_user(bound):
    client = opened(bound.code)
    response = client.post(SIGN_UP, fields(email="bia@example.com"))
    assert response.status_code == 200 and str(InviteEmailMismatch().detail) in html_of(response)
    assert not new_users().exists() and Invite.objects.get().used_at is None


def test_an_invite_used_meanwhile_makes_no_user_and_says_so(bound, users):
    client = opened(bound.code)
    users["usuario"].email = bound.invite.email  # someone else with the bound address
    users["usuario"].save()
    invites.use_invite(bound.code, user=users["usuario"])
    response = client.post(SIGN_UP, fields())
    assert "This invite has already been used." in html_of(response)
    assert not new_users().exists() and client.session[ACCEPT_SESSION_KEY] == bound.code


def test_a_receiver_refusing_rolls_the_user_back(bound):
    def refuse(sender: Any, **kwargs: Any) -> None:
        raise NotAllowed()

    signals.invite_used.connect(refuse, weak=False)
    try:
        response = opened(bound.code).post(SIGN_UP, fields())
    finally:
        signals.invite_used.disconnect(refuse)
    assert str(NotAllowed().detail) in html_of(response)
    assert not new_users().exists() and Invite.objects.get().used_at is None


def test_without_an_invite_it_is_the_sites_sign_up_as_before(bound):
    assert Client().post(SIGN_UP, fields("bia", "bia@example.com")).status_code == 302
    assert new_users().get().username == "bia" and Invite.objects.get().used_at is None
