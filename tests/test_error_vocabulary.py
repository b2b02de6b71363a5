"""One error vocabulary (issue 12): one function turns a domain error into its status, body and headers,
whoever answers it; a variant that only changes the status is an argument; refusals are audited by the
services, never by a permission or authentication class."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from django_convites import exceptions
from django_convites.api import authentication, handlers, permissions
from django_convites.api.exceptions import as_drf_error, exception_handler
from django_convites.exceptions import (
    ConvitesError,
    DatabaseBusy,
    InsufficientScope,
    InvalidField,
    InviteQuotaExceeded,
    InviteRevoked,
    InviteUsed,
    OtpInvalid,
    OtpLocked,
    TokenRevoked,
    TwoFactorRequired,
    error_answer,
)
from django_convites.middleware import TwoFactorMiddleware
from django_convites.models import AuditEvent, Scope
from django_convites.services import api_tokens

PACKAGE = Path(exceptions.__file__).resolve().parent


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def _plain_errors() -> list[type[ConvitesError]]:
    """Every error class of the package that is made without arguments."""
    found = []
    for cls in {ConvitesError} | _subclasses(ConvitesError):
        required = [
            parameter
            for parameter in inspect.signature(cls).parameters.values()
            if parameter.default is inspect.Parameter.empty
        ]
        if cls.__module__ == exceptions.__name__ and not required:
            found.append(cls)
    return sorted(found, key=lambda cls: cls.__name__)


def _examples() -> list[ConvitesError]:
    return [
        DatabaseBusy(),
        InviteQuotaExceeded(retry_after=3600),
        OtpLocked(retry_after=42),
        InvalidField("expira_em", "Must be in the future."),
        TwoFactorRequired(),
        InviteUsed(status=410),
        TokenRevoked(status=409),
    ]


# -- the one function -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", _plain_errors(), ids=lambda cls: cls.__name__)
def test_the_answer_of_every_error_is_its_status_and_detail_and_code(cls: type[ConvitesError]) -> None:
    error = cls()
    answer = error_answer(error)
    assert answer.status == cls.status_code
    assert answer.body == {"detail": str(cls.default_detail), "code": cls.code}
    assert list(answer.body) == ["detail", "code"]
    assert answer.headers == ({} if cls.retry_after is None else {"Retry-After": str(cls.retry_after)})


def test_retry_after_and_the_field_map_are_in_the_answer() -> None:
    assert error_answer(OtpLocked(retry_after=42)).headers == {"Retry-After": "42"}
    assert error_answer(DatabaseBusy()).headers == {"Retry-After": "1"}
    assert error_answer(exceptions.CodeCooldown(retry_after=7)).headers == {"Retry-After": "7"}
    field = error_answer(InvalidField("expira_em", "Must be in the future."))
    assert (field.status, field.body) == (
        400,
        {"expira_em": ["Must be in the future."], "detail": "Invalid input.", "code": "invalid"},
    )


@pytest.mark.parametrize("error", _examples(), ids=lambda error: type(error).__name__)
def test_drf_and_django_answer_an_error_alike(error: ConvitesError) -> None:
    """The API's exception handler and the JSON handlers (the middleware's answer) send the same thing."""
    drf = exception_handler(error, {})
    django = handlers.json_error(error)
    answer = error_answer(error)
    assert drf is not None
    assert drf.status_code == django.status_code == answer.status
    assert json.loads(json.dumps(drf.data)) == json.loads(django.content) == answer.body
    for name in ("Retry-After",):
        assert drf.get(name) == django.get(name) == answer.headers.get(name)


def test_a_401_raised_while_authenticating_is_a_challenge_and_a_views_own_is_not() -> None:
    from rest_framework.exceptions import AuthenticationFailed

    assert isinstance(as_drf_error(exceptions.InvalidToken(), challenge=True), AuthenticationFailed)
    assert not isinstance(as_drf_error(exceptions.InvalidCredentials()), AuthenticationFailed)
    # A 403 met while authenticating keeps its status and code.
    refused = as_drf_error(exceptions.IPNotAllowed(), challenge=True)
    assert (refused.status_code, refused.detail.code) == (403, "ip_not_allowed")


@pytest.mark.django_db
def test_a_wrong_password_is_401_without_a_challenge(users) -> None:
    response = APIClient().post("/api/auth/token/", {"username": "usuario", "password": "errada"}, format="json")
    assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")
    assert "WWW-Authenticate" not in response


@pytest.mark.django_db
def test_a_bad_bearer_token_is_401_with_the_challenge() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer cvp_nada")
    response = client.get("/api/t/whoami/")
    assert (response.status_code, response.json()["code"]) == (401, "authentication_failed")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


# -- a status is an argument, not a class -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["InviteUsedGone", "InviteAlreadyRevoked", "TokenAlreadyRevoked", "OtpRejected"])
def test_the_status_only_variants_are_gone(name: str) -> None:
    assert not hasattr(exceptions, name)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InviteUsed(), 409, "invite_used"),
        (InviteUsed(status=410), 410, "invite_used"),
        (InviteRevoked(), 410, "invite_revoked"),
        (InviteRevoked(status=409), 409, "invite_revoked"),
        (TokenRevoked(), 401, "token_revoked"),
        (TokenRevoked(status=409), 409, "token_revoked"),
        (OtpInvalid(), 401, "otp_invalid"),
        (OtpInvalid(status=400), 400, "otp_invalid"),
    ],
)
def test_status_picks_one_of_the_statuses_the_class_names(error: ConvitesError, status: int, code: str) -> None:
    assert (error.status_code, error.code) == (status, code)
    assert error_answer(error).status == status


def test_a_status_the_class_does_not_name_is_a_bug() -> None:
    with pytest.raises(ValueError, match="InviteUsed is never answered with status 404"):
        InviteUsed(status=404)
    with pytest.raises(ValueError):
        InsufficientScope(status=401)
    assert InviteUsed(status=409).status_code == 409  # its own status is always allowed


def test_no_class_is_a_subclass_that_only_changes_the_status() -> None:
    for cls in _subclasses(ConvitesError):
        if cls.__module__ != exceptions.__name__:
            continue
        own = {name for name in vars(cls) if not name.startswith("__")}
        assert own - {"status_code", "other_statuses"}, cls.__name__


# -- one builder, and no audit from the API layer ---------------------------------------------------------


def _source_files() -> dict[str, str]:
    return {
        str(path.relative_to(PACKAGE)): path.read_text(encoding="utf-8")
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
    }


def test_only_json_error_builds_a_json_error_response() -> None:
    builders = {name for name, source in _source_files().items() if "JsonResponse(" in source}
    assert builders == {"api/handlers.py"}
    assert inspect.getsource(handlers).count("JsonResponse(") == 1


def test_only_error_answer_writes_a_domain_errors_body() -> None:
    writes = {name for name, source in _source_files().items() if re.search(r'"detail":[^\n]*"code"', source)}
    # error_answer's home, and error_body for DRF's own exceptions (a ValidationError without a field map)
    assert writes <= {"exceptions.py", "api/exceptions.py"}


@pytest.mark.parametrize("module", [authentication, permissions], ids=lambda module: module.__name__)
def test_the_api_layer_sends_no_signal(module: Any) -> None:
    source = inspect.getsource(module)
    assert ".send(" not in source
    assert "import signals" not in source and "from django_convites.signals" not in source


# -- the scope refusal, audited by the service ------------------------------------------------------------


@pytest.mark.django_db
def test_require_scope_audits_a_refusal_once_and_a_pass_not_at_all(users) -> None:
    user = users["usuario"]
    created = api_tokens.create_api_token(user=user, scope="read")
    token = api_tokens.AuthenticatedToken(id=created.token.id, scope=Scope.READ)
    before = AuditEvent.objects.filter(event="api_token_negado").count()
    api_tokens.require_scope(token, Scope.READ, actor=user)
    assert AuditEvent.objects.filter(event="api_token_negado").count() == before
    asked: list[bool] = []

    def meta() -> None:
        asked.append(True)

    with pytest.raises(InsufficientScope):
        api_tokens.require_scope(token, Scope.ADMIN, actor=user, meta=meta)
    (event,) = AuditEvent.objects.filter(event="api_token_negado")[before:]
    assert event.details == {"motivo": "insufficient_scope", "necessario": "admin", "tentativas": 1}
    assert (event.target_type, event.target_id, event.actor_id) == ("api_token", str(created.token.id), user.pk)
    assert asked == [True]


@pytest.mark.django_db
def test_the_middleware_answers_two_factor_required_with_the_one_body(users) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from rest_framework.views import APIView

    user = users["usuario"]
    TOTPDevice.objects.create(user=user, confirmed=True)
    request = RequestFactory().get("/api/t/qualquer/")
    request.user = user
    request.resolver_match = None

    class HostView(APIView):
        pass

    response = TwoFactorMiddleware(lambda request: None).process_view(request, HostView.as_view(), (), {})
    expected = error_answer(TwoFactorRequired())
    assert response is not None
    assert (response.status_code, json.loads(response.content)) == (expected.status, expected.body)
