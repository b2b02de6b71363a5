"""The one query of an authenticated request, under each user model of ``tests/user_models/models.py``.

Run with one of the ``tests.user_models.settings_*`` modules (the tox ``usermodels`` environments do, on
SQLite, PostgreSQL and MySQL); under any other settings this folder is not collected.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from django_convites import jwt_codec
from django_convites.models import ApiToken, SessionFamily
from django_convites.services import api_tokens, sessions
from tests.invites import error_of

pytestmark = pytest.mark.django_db

WHOAMI = "/api/t/whoami/"
LOGIN = "/api/auth/token/"
REVOKE = "/api/auth/token/revoke/"
#: Values for the fields only some of the models have, so that their columns and converters are exercised.
EXTRA: dict[str, dict[str, Any]] = {
    "ColumnsUser": {"preferences": {"tema": "escuro", "itens": [1, 2]}},
    "EmailUser": {"full_name": "Ana Souza"},
    "Member": {"nickname": "aninha", "since": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)},
}


def make_user(name: str = "ana") -> Any:
    model = get_user_model()
    login = f"{name}@example.com" if model.USERNAME_FIELD == "email" else name
    fields = {model.USERNAME_FIELD: login, **EXTRA.get(model.__name__, {})}
    return model._default_manager.create_user(password="x", **fields)


def bearer(credential: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {credential}")
    return client


def as_json(pk: Any) -> Any:
    return str(pk) if isinstance(pk, uuid.UUID) else pk


def assert_loaded_like_the_orm(found: Any, user: Any) -> None:
    """``found`` is what the ORM would load for ``user``: same class, every field, nothing deferred."""
    expected = get_user_model()._default_manager.get(pk=user.pk)
    assert type(found) is type(expected)
    assert found.get_deferred_fields() == set()
    assert (found._state.db, found._state.adding) == ("default", False)
    for field in type(expected)._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name


def login(user: Any) -> dict[str, Any]:
    response = APIClient().post(LOGIN, {"username": user.get_username(), "password": "x"}, format="json")
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def test_the_settings_name_one_of_the_models():
    assert get_user_model()._meta.app_label == "user_models"


def test_an_api_token_authenticates_with_one_query(assert_queries):
    user, other = make_user(), make_user("bia")
    api_tokens.create_api_token(user=other, scope="write")
    client = bearer(api_tokens.create_api_token(user=user, scope="read").secret)
    client.get(WHOAMI)  # the first use of the minute writes the last-used time
    with assert_queries(1):
        response = client.get(WHOAMI)
    assert response.status_code == 200, response.content
    assert response.json() == {"usuario": as_json(user.pk), "scope": "read"}


def test_the_api_tokens_user_is_the_one_the_orm_loads(assert_queries):
    user = make_user()
    created = api_tokens.create_api_token(user=user, scope="write")
    api_tokens.authenticate(created.secret)
    with assert_queries(1):
        found, auth = api_tokens.authenticate(created.secret)
    assert auth == api_tokens.AuthenticatedToken(id=created.token.pk, scope="write")
    assert_loaded_like_the_orm(found, user)


def test_a_jwt_authenticates_with_one_query(assert_queries):
    user = make_user()
    make_user("bia")
    access = login(user)["access"]
    with assert_queries(1):
        response = bearer(access).get(WHOAMI)
    assert response.status_code == 200, response.content
    assert response.json() == {"usuario": as_json(user.pk), "scope": None}


def test_the_jwts_user_is_the_one_the_orm_loads(assert_queries):
    user = make_user()
    access = login(user)["access"]
    with assert_queries(1):
        found, claims = sessions.authenticate_access_token(access)
    assert claims.user_id == str(user.pk)
    assert_loaded_like_the_orm(found, user)


def test_a_jwt_of_the_session_for_another_user_is_refused():
    user, other = make_user(), make_user("bia")
    family = SessionFamily.objects.create(user=user)
    access, _ = jwt_codec.encode(other.pk, family.pk, timezone.now())
    error_of(bearer(access).get(WHOAMI), 401, "token_revoked")


def test_a_revoked_api_token_is_refused():
    user = make_user()
    created = api_tokens.create_api_token(user=user, scope="read")
    assert bearer(created.secret).get(WHOAMI).status_code == 200
    api_tokens.revoke_api_token(created.token.pk, actor=user)
    error_of(bearer(created.secret).get(WHOAMI), 401, "token_revoked")


def test_an_expired_api_token_is_refused():
    created = api_tokens.create_api_token(
        user=make_user(), scope="read", expires_at=timezone.now() + datetime.timedelta(hours=1)
    )
    ApiToken.objects.update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1),
        created_at=timezone.now() - datetime.timedelta(days=1),
    )
    error_of(bearer(created.secret).get(WHOAMI), 401, "token_expired")


def test_an_inactive_users_api_token_is_refused():
    user = make_user()
    created = api_tokens.create_api_token(user=user, scope="read")
    user.is_active = False
    user.save()
    error_of(bearer(created.secret).get(WHOAMI), 401, "authentication_failed")


def test_a_jwt_of_an_ended_session_is_refused():
    pair = login(make_user())
    assert APIClient().post(REVOKE, {"refresh": pair["refresh"]}, format="json").status_code == 204
    error_of(bearer(pair["access"]).get(WHOAMI), 401, "token_revoked")


def test_an_expired_jwt_is_refused():
    user = make_user()
    family = SessionFamily.objects.create(user=user)
    access, _ = jwt_codec.encode(user.pk, family.pk, timezone.now() - datetime.timedelta(days=1))
    error_of(bearer(access).get(WHOAMI), 401, "token_expired")
