"""Sign-up with an invite under each user model of ``tests/user_models/models.py``: the API's
``POST /api/tokens/<ref>/registrar/`` and the accept page's form make a user of the model, spend the invite
for it and open a session (a JWT pair; a Django session) that loads that user again.

Run with one of the ``tests.user_models.settings_*`` modules (the tox ``usermodels`` environments do, on
SQLite, PostgreSQL and MySQL); under any other settings this folder is not collected.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client
from rest_framework.test import APIClient

from django_convites.models import Invite, SessionFamily
from django_convites.views import ACCEPT_SESSION_KEY
from tests.factories import issue
from tests.invites import error_of
from tests.user_models.test_auth_query import as_json, bearer, make_user

pytestmark = pytest.mark.django_db

PAGE = "/tokens/convites/aceitar/"
PASSWORD = "uma senha longa e boa 42"


def fields(name: str) -> dict[str, str]:
    """The default SIGNUP_FORM's fields for this model: no ``username`` when the username is the address."""
    data = {"email": f"{name}@example.com", "password": PASSWORD}
    if get_user_model().USERNAME_FIELD != "email":
        data["username"] = name
    return data


def made(name: str) -> Any:
    model = get_user_model()
    login = f"{name}@example.com" if model.USERNAME_FIELD == "email" else name
    return model._default_manager.get(**{model.USERNAME_FIELD: login})


@pytest.fixture
def invite_code() -> str:
    issuer = make_user("emissor")
    issuer.is_superuser = True  # root: may issue any invite, so none is withdrawn from under the test
    issuer.save()
    return issue(issuer, direct=True).code


def test_the_api_sign_up_makes_a_user_of_the_model_and_a_session_for_it(invite_code):
    response = APIClient().post(f"/api/tokens/{invite_code}/registrar/", fields("nova"), format="json")
    assert response.status_code == 201, response.content
    user = made("nova")
    assert type(user) is get_user_model()
    assert user.check_password(PASSWORD)
    assert Invite.objects.get().used_by_id == user.pk
    (family,) = SessionFamily.objects.all()
    assert family.user_id == user.pk
    answer = response.json()
    assert answer["usuario"] == as_json(user.pk)
    whoami = bearer(answer["access"]).get("/api/t/whoami/")
    assert whoami.status_code == 200, whoami.content
    assert whoami.json()["usuario"] == as_json(user.pk)  # the access token loads the same user


def test_the_accept_page_signs_up_a_user_of_the_model_and_logs_it_in(invite_code):
    client = Client()
    assert client.get(f"/tokens/convites/aceitar/{invite_code}/").status_code == 302
    page = client.get(PAGE)
    assert page.status_code == 200
    assert ('name="username"' in page.content.decode()) is (get_user_model().USERNAME_FIELD != "email")
    response = client.post(PAGE, {"registrar": "1", **fields("nova")})
    # The page that says the invite is accepted and where to go next (docs/templates.rst).
    assert response.status_code == 200, response.content.decode()
    assert "convites-accepted" in response.content.decode()
    user = made("nova")
    assert Invite.objects.get().used_by_id == user.pk
    assert client.session[SESSION_KEY] == str(user.pk)
    assert ACCEPT_SESSION_KEY not in client.session
    # The session loads the same user on the next request.
    again = client.get(PAGE)
    assert again.wsgi_request.user.pk == user.pk


def test_a_taken_login_is_refused_and_writes_nothing(invite_code):
    make_user("ana")
    before = get_user_model()._default_manager.count()
    error_of(APIClient().post(f"/api/tokens/{invite_code}/registrar/", fields("ana"), format="json"), 400, "invalid")
    client = Client()
    client.get(f"/tokens/convites/aceitar/{invite_code}/")
    assert client.post(PAGE, {"registrar": "1", **fields("ana")}).status_code == 400
    assert get_user_model()._default_manager.count() == before
    assert Invite.objects.get().used_at is None
