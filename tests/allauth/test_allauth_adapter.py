"""The allauth adapter (docs/allauth.rst): allauth's own sign-up view, driven with the test client, after
the invite's accept link. Run with ``pytest tests/allauth --ds tests.allauth.settings``."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

from django_convites import signals
from django_convites.exceptions import ConvitesError, InviteEmailMismatch, NotAllowed
from django_convites.models import AuditEvent, Invite
from django_convites.services import invites
from django_convites.views import ACCEPT_SESSION_KEY
from tests.factories import browser_as, expire, issue, make_user
from tests.parallel import race

pytestmark = pytest.mark.django_db

SIGNUP = "/accounts/signup/"
ACCEPT_PAGE = "/tokens/convites/aceitar/"
PASSWORD = "uma senha longa e boa 42"
ADAPTERS = "django_convites.contrib.allauth.adapter"


def link(code: str) -> str:
    return f"/tokens/convites/aceitar/{code}/"


def opened(code: str, client: Client | None = None) -> Client:
    """A browser that followed the accept link of ``code``: the code is in its session."""
    client = client or Client()
    assert client.get(link(code)).status_code == 302
    assert client.session[ACCEPT_SESSION_KEY] == code
    return client


def fields(username: str = "ana", email: str = "ana@example.com", password: str = PASSWORD) -> dict[str, str]:
    return {"username": username, "email": email, "password1": password, "password2": password}


def html_of(response: Any) -> str:
    return response.content.decode()


def new_users() -> Any:
    return get_user_model()._default_manager.exclude(username__in=["root", "admin", "gestor", "usuario"])


def email_value(html: str) -> str | None:
    """The value of the sign-up form's ``email`` input, None when it has none."""
    tag = re.search(r'<input[^>]*name="email"[^>]*>', html)
    assert tag, html
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return None if value is None else value.group(1)


def assert_no_account(invite: Invite) -> None:
    invite.refresh_from_db()
    assert invite.used_at is None and invite.used_by_id is None
    assert not new_users().exists()
    assert not EmailAddress.objects.exists()


@pytest.fixture
def bound(users: dict[str, Any]) -> invites.IssuedInvite:
    issued = issue(users["admin"], email="Ana@Example.com", link_base="http://testserver")
    mail.outbox.clear()  # the invite's own mail
    return issued


@pytest.fixture
def open_invite(users: dict[str, Any]) -> invites.IssuedInvite:
    return issue(users["admin"])


@pytest.fixture
def member_group() -> Iterator[None]:
    """A site's ``invite_used`` receiver: it attaches the new member to the group ``membros``."""

    def attach(sender: Any, invite: Invite, user: Any, **kwargs: Any) -> None:
        user.groups.add(Group.objects.get_or_create(name="membros")[0])

    signals.invite_used.connect(attach, weak=False)
    yield
    signals.invite_used.disconnect(attach)


@pytest.fixture
def invite_only() -> Iterator[None]:
    with override_settings(ACCOUNT_ADAPTER=f"{ADAPTERS}.InviteOnlyAccountAdapter"):
        yield


# -- the way there ------------------------------------------------------------------------------------------


def test_the_accept_page_links_to_allauths_sign_up_which_opens_with_the_address(bound):
    client = opened(bound.code)
    accept = client.get(ACCEPT_PAGE)
    assert accept.status_code == 200
    assert f'href="{SIGNUP}"' in html_of(accept) and 'name="registrar"' not in html_of(accept)
    page = client.get(SIGNUP)
    assert page.status_code == 200
    html = html_of(page)
    assert email_value(html) == "Ana@example.com"  # as the invite stores it
    assert bound.code not in html


def test_an_unbound_invite_opens_the_sign_up_with_the_address_empty(open_invite):
    page = opened(open_invite.code).get(SIGNUP)
    assert page.status_code == 200
    assert not email_value(html_of(page))


# -- signing up ---------------------------------------------------------------------------------------------


def test_a_sign_up_creates_the_user_spends_the_invite_runs_the_receiver_and_logs_in(bound, member_group):
    client = opened(bound.code)
    client.get(SIGNUP)
    response = client.post(SIGNUP, fields(email="ANA@example.COM"))  # the bound address in another case
    assert response.status_code == 302, html_of(response)
    assert response["Location"] == "/site/page/"  # LOGIN_REDIRECT_URL: logged in, no confirmation step
    user = get_user_model()._default_manager.get(username="ana")
    assert user.email == "ana@example.com" and user.check_password(PASSWORD)
    invite = Invite.objects.get(pk=bound.invite.pk)
    assert invite.used_by == user and invite.state().value == "usado"
    assert [group.name for group in user.groups.all()] == ["membros"]
    assert client.session[SESSION_KEY] == str(user.pk)
    assert ACCEPT_SESSION_KEY not in client.session
    assert AuditEvent.objects.filter(event="convite_usado", actor=user).count() == 1


def test_a_bound_invites_address_counts_as_verified_so_no_confirmation_mail_is_sent(bound):
    client = opened(bound.code)
    client.get(SIGNUP)
    assert client.post(SIGNUP, fields()).status_code == 302
    (address,) = EmailAddress.objects.all()
    assert (address.email, address.verified, address.primary) == ("ana@example.com", True, True)
    assert mail.outbox == []
    assert not client.session.get("account_verified_email")  # allauth took it


def test_an_unbound_invites_address_is_confirmed_by_mail_as_allauth_does(open_invite, member_group):
    client = opened(open_invite.code)
    response = client.post(SIGNUP, fields(email="qualquer@example.com"))
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")  # mandatory verification
    user = get_user_model()._default_manager.get(username="ana")
    assert Invite.objects.get().used_by == user and [group.name for group in user.groups.all()] == ["membros"]
    assert EmailAddress.objects.get().verified is False
    assert [message.to for message in mail.outbox] == [["qualquer@example.com"]]
    assert SESSION_KEY not in client.session and ACCEPT_SESSION_KEY not in client.session


def test_a_bound_invite_refuses_another_address_as_an_error_of_the_field(bound):
    client = opened(bound.code)
    response = client.post(SIGNUP, fields(email="bia@example.com"))
    assert response.status_code == 200
    html = html_of(response)
    assert str(InviteEmailMismatch().detail) in html
    assert email_value(html) == "bia@example.com"  # what the person typed stays
    assert_no_account(bound.invite)
    assert client.session[ACCEPT_SESSION_KEY] == bound.code
    (refused,) = AuditEvent.objects.filter(event="convite_uso_falhou")
    assert refused.details == {"motivo": "invite_email_mismatch"} and refused.target_id == str(bound.invite.pk)
    assert client.post(SIGNUP, fields()).status_code == 302  # the invite's own address still works


def test_without_an_email_field_a_bound_invite_is_refused_before_any_user_is_made(bound, settings):
    settings.ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
    settings.ACCOUNT_LOGIN_METHODS = {"username"}
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    client = opened(bound.code)
    data = fields()
    del data["email"]
    response = client.post(SIGNUP, data)
    assert response.status_code == 302 and response["Location"] == SIGNUP
    assert_no_account(bound.invite)
    again = client.get(SIGNUP)
    assert str(InviteEmailMismatch().detail) in html_of(again)
    assert client.session[ACCEPT_SESSION_KEY] == bound.code


# -- an invite that can no longer be used ------------------------------------------------------------------


def _spend(invite: invites.IssuedInvite, users: dict[str, Any]) -> str:
    invites.use_invite(invite.code, user=users["usuario"])
    return "This invite has already been used."


def _revoke(invite: invites.IssuedInvite, users: dict[str, Any]) -> str:
    invites.revoke_invite(invite.code, actor=users["admin"])
    return "This invite has been revoked."


def _expire(invite: invites.IssuedInvite, users: dict[str, Any]) -> str:
    expire(invite.invite)
    return "This invite has expired."


@pytest.mark.parametrize("close", [_spend, _revoke, _expire])
def test_an_invite_closed_between_the_form_and_the_post_makes_no_user_and_says_why(open_invite, users, close):
    client = opened(open_invite.code)
    assert client.get(SIGNUP).status_code == 200
    reason = close(open_invite, users)
    response = client.post(SIGNUP, fields())
    assert response.status_code == 302 and response["Location"] == SIGNUP
    assert not new_users().exists() and not EmailAddress.objects.exists()
    assert ACCEPT_SESSION_KEY not in client.session
    again = client.get(SIGNUP)
    assert reason in html_of(again)
    # Without its invite, this adapter (invite_required = False) offers allauth's plain sign-up.
    assert again.status_code == 200 and 'name="password1"' in html_of(again)


def test_an_invite_used_after_the_check_rolls_the_user_back_and_says_so(open_invite, users, settings):
    settings.ACCOUNT_ADAPTER = "tests.allauth.adapters.SpentMeanwhileAdapter"
    client = opened(open_invite.code)
    response = client.post(SIGNUP, fields())
    assert response.status_code == 302 and response["Location"] == SIGNUP
    assert not new_users().exists() and not EmailAddress.objects.exists()
    assert Invite.objects.get().used_by == users["usuario"]  # the other use won
    assert ACCEPT_SESSION_KEY not in client.session
    assert "This invite has already been used." in html_of(client.get(SIGNUP))


def test_an_unknown_or_malformed_code_in_the_session_is_forgotten_with_a_message(users, invite_only):
    for code in ("cvi_nope", invites.tokens.generate(invites.tokens.Kind.INVITE)):
        client = opened(code)
        page = client.get(SIGNUP)
        assert ACCEPT_SESSION_KEY not in client.session
        assert "Sign Up Closed" in html_of(page)
        assert ("This is not an invite code." in html_of(page)) or ("No invite matches." in html_of(page))


# -- the site's receiver -----------------------------------------------------------------------------------


def test_a_receiver_refusing_rolls_the_user_back_and_the_form_says_why(open_invite):
    def refuse(sender: Any, **kwargs: Any) -> None:
        raise NotAllowed()

    client = opened(open_invite.code)
    signals.invite_used.connect(refuse, weak=False)
    try:
        response = client.post(SIGNUP, fields())
    finally:
        signals.invite_used.disconnect(refuse)
    assert response.status_code == 302 and response["Location"] == SIGNUP
    assert_no_account(open_invite.invite)
    assert client.session[ACCEPT_SESSION_KEY] == open_invite.code  # the invite is still good
    again = client.get(SIGNUP)
    assert str(NotAllowed().detail) in html_of(again) and 'name="password1"' in html_of(again)
    assert client.post(SIGNUP, fields()).status_code == 302  # once the site lets it through


class HostError(RuntimeError):
    pass


def test_a_receiver_that_raises_rolls_the_user_back_and_is_logged_never_a_500(open_invite, caplog):
    def attach(sender: Any, user: Any, **kwargs: Any) -> None:
        assert get_user_model()._default_manager.filter(pk=user.pk).exists()  # the user exists in there
        raise HostError("the host could not attach the member")

    client = opened(open_invite.code)
    signals.invite_used.connect(attach, weak=False)
    try:
        response = client.post(SIGNUP, fields())
    finally:
        signals.invite_used.disconnect(attach)
    assert response.status_code == 302 and response["Location"] == SIGNUP
    assert_no_account(open_invite.invite)
    assert Invite.objects.get().state().value == "novo"
    assert "Your account could not be created." in html_of(client.get(SIGNUP))
    (record,) = [record for record in caplog.records if record.exc_info and record.exc_info[0] is HostError]
    assert record.name == "django_convites.contrib.allauth.adapter"
    assert open_invite.code not in record.getMessage()


# -- who may sign up ---------------------------------------------------------------------------------------


def test_without_an_invite_the_default_adapter_leaves_allauths_sign_up_open(users):
    response = Client().post(SIGNUP, fields())
    assert response.status_code == 302
    assert new_users().get().username == "ana"
    assert not Invite.objects.filter(used_at__isnull=False).exists()


def test_with_invite_required_there_is_no_sign_up_without_an_invite(users, invite_only):
    client = Client()
    assert "Sign Up Closed" in html_of(client.get(SIGNUP))
    response = client.post(SIGNUP, fields())
    assert "Sign Up Closed" in html_of(response)
    assert not new_users().exists()


def test_with_invite_required_an_invite_opens_the_sign_up(open_invite, invite_only):
    client = opened(open_invite.code)
    assert 'name="password1"' in html_of(client.get(SIGNUP))
    assert client.post(SIGNUP, fields()).status_code == 302
    assert Invite.objects.get().used_by == new_users().get()


def test_with_invite_required_an_invite_closed_meanwhile_closes_the_sign_up_and_says_why(
    open_invite, users, invite_only
):
    client = opened(open_invite.code)
    _spend(open_invite, users)
    response = client.post(SIGNUP, fields())
    assert response.status_code == 302 and response["Location"] == SIGNUP
    page = client.get(SIGNUP)
    assert "Sign Up Closed" in html_of(page) and "This invite has already been used." in html_of(page)
    assert not new_users().exists()


def test_a_sign_up_the_sites_adapter_closes_is_opened_by_an_invite_only(open_invite, settings):
    settings.ACCOUNT_ADAPTER = "tests.allauth.adapters.ClosedSiteAdapter"
    assert "Sign Up Closed" in html_of(Client().get(SIGNUP))
    client = opened(open_invite.code)
    assert client.post(SIGNUP, fields()).status_code == 302
    assert Invite.objects.get().used_by == new_users().get()


def test_a_sites_own_adapter_with_the_mixin(bound, settings, member_group):
    settings.ACCOUNT_ADAPTER = "tests.allauth.adapters.SiteAdapter"
    assert "Sign Up Closed" in html_of(Client().get(SIGNUP))  # its invite_required
    client = opened(bound.code)
    assert email_value(html_of(client.get(SIGNUP))) == "Ana@example.com"
    assert str(InviteEmailMismatch().detail) in html_of(client.post(SIGNUP, fields(email="bia@example.com")))
    assert client.post(SIGNUP, fields()).status_code == 302
    user = new_users().get()
    assert user.first_name == "Do site" and Invite.objects.get().used_by == user  # its own save_user too
    assert [group.name for group in user.groups.all()] == ["membros"] and EmailAddress.objects.get().verified


def test_a_logged_in_user_adding_an_address_is_not_held_to_the_invites(bound, users):
    client = opened(bound.code, browser_as(users["usuario"]))
    response = client.post(reverse("account_email"), {"action_add": "", "email": "outro@example.com"})
    assert response.status_code == 302
    assert EmailAddress.objects.filter(user=users["usuario"], email="outro@example.com").exists()
    assert client.session[ACCEPT_SESSION_KEY] == bound.code


# -- secrets ------------------------------------------------------------------------------------------------


def test_no_code_or_password_reaches_a_page_the_audit_log_or_the_logs(bound, open_invite, users, caplog):
    caplog.set_level(logging.DEBUG)
    pages = []
    client = opened(bound.code)
    pages.append(client.get(SIGNUP))
    pages.append(client.post(SIGNUP, fields(email="bia@example.com")))  # refused: another address
    pages.append(client.post(SIGNUP, fields()))
    other = opened(open_invite.code)
    _spend(open_invite, users)
    pages.append(other.post(SIGNUP, fields("bia", "bia@example.com")))  # refused: used
    pages.append(other.get(SIGNUP))
    rows = " ".join(f"{row.event} {row.details} {row.ip} {row.user_agent}" for row in AuditEvent.objects.all())
    logged = " ".join(f"{record.getMessage()} {record.args}" for record in caplog.records)
    shown = " ".join(f"{page.content.decode()} {page.headers}" for page in pages)
    for secret in (bound.code, open_invite.code, PASSWORD):
        assert secret not in rows
        assert secret not in logged
        assert secret not in shown
    assert "convite_usado" in rows and "convite_uso_falhou" in rows


# -- concurrency (PostgreSQL and MySQL) ---------------------------------------------------------------------

RACERS = 20


@pytest.mark.parallel_db
def test_parallel_allauth_sign_ups_with_one_code_make_exactly_one_account(convites_settings):
    convites_settings(INVITE_VALIDATION_RATE=None)
    issued = issue(make_user("emissor", role="admin"))
    browsers = [opened(issued.code) for _ in range(RACERS)]

    def work(index: int) -> None:
        response = browsers[index].post(SIGNUP, fields(f"novo{index}", f"novo{index}@example.com"))
        if response.status_code != 302:
            raise ConvitesError(code=f"status {response.status_code}")
        if response["Location"] == SIGNUP:
            raise ConvitesError(code="refused")

    outcomes = race(work, threads=RACERS)
    assert outcomes == Counter({"ok": 1, "refused": RACERS - 1}), outcomes
    (user,) = get_user_model()._default_manager.filter(username__startswith="novo")
    assert Invite.objects.get().used_by == user
    assert EmailAddress.objects.get().user == user
    assert AuditEvent.objects.filter(event="convite_usado").count() == 1
