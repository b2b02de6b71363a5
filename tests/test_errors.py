from __future__ import annotations

import json

import pytest
from django.test import Client, RequestFactory
from rest_framework import exceptions

from django_convites.api import handlers
from django_convites.api.exceptions import error_body
from django_convites.api.parsers import json_depth
from django_convites.models import AuditEvent

pytestmark = pytest.mark.django_db

ECHO = "/api/t/echo/"


def post_raw(client, body, content_type="application/json", url=ECHO):
    return client.generic("POST", url, body, content_type=content_type)


def assert_error(response, status, code):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def test_valid_json_is_parsed(api_client):
    response = api_client.post(ECHO, {"a": [1, {"b": None}]}, format="json")
    assert response.status_code == 200
    assert response.json() == {"recebido": {"a": [1, {"b": None}]}}


def test_deeply_nested_json_is_400_not_500(client):
    # Within the size limit, deep enough to exhaust Python's recursion.
    assert_error(post_raw(client, "[" * 30_000 + "]" * 30_000), 400, "parse_error")
    assert_error(post_raw(client, '{"a":' * 10_000 + "1" + "}" * 10_000), 400, "parse_error")


def test_depth_limit_is_the_setting(client, convites_settings):
    assert post_raw(client, "[" * 32 + "]" * 32).status_code == 200
    assert_error(post_raw(client, "[" * 33 + "]" * 33), 400, "parse_error")
    convites_settings(MAX_JSON_DEPTH=3)
    assert post_raw(client, '{"a": [[1]]}').status_code == 200
    assert_error(post_raw(client, '{"a": [[[1]]]}'), 400, "parse_error")


@pytest.mark.parametrize("body", ["NaN", '{"a": Infinity}', '{"a": -Infinity}', '{"a": 1e999}', "[1e400]"])
def test_non_finite_numbers_are_rejected(client, body):
    assert_error(post_raw(client, body), 400, "parse_error")


@pytest.mark.parametrize(
    "body",
    [b'{"a": "\xff\xfe"}', b"\x80", b'{"a": 1', b"", b"{'a': 1}", b'{"a": ' + b"9" * 5000 + b"}"],
)
def test_bad_bodies_are_400(client, body):
    response = post_raw(client, body)
    if body == b"":
        assert response.status_code == 200  # no body is an empty object
    else:
        assert_error(response, 400, "parse_error")


def test_null_bytes_in_strings_do_not_break_parsing(client):
    response = post_raw(client, '{"a": "x\\u0000y"}')
    assert response.status_code == 200


def test_oversized_body_is_413_json(client, convites_settings):
    convites_settings(MAX_BODY_SIZE=2048)
    assert post_raw(client, json.dumps({"a": "x" * 1000})).status_code == 200
    assert_error(post_raw(client, json.dumps({"a": "x" * 5000})), 413, "request_too_large")


def test_django_upload_cap_is_413_json_too(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert_error(post_raw(client, json.dumps({"a": "x" * 5000})), 413, "request_too_large")


def test_wrong_content_type_is_415_with_code(client):
    assert_error(post_raw(client, "a=1", content_type="text/plain"), 415, "unsupported_media_type")
    assert_error(
        post_raw(client, "a=1", content_type="application/x-www-form-urlencoded"), 415, "unsupported_media_type"
    )


def test_wrong_method_is_405_with_code(client):
    assert_error(client.get(ECHO), 405, "method_not_allowed")
    assert_error(client.delete(ECHO), 405, "method_not_allowed")


def test_permission_denied_has_code(client):
    assert_error(client.post("/api/t/fail/"), 403, "permission_denied")


def test_host_view_keeps_drf_shape_unless_it_opts_in(client, settings):
    settings.REST_FRAMEWORK = {
        key: value for key, value in settings.REST_FRAMEWORK.items() if key != "EXCEPTION_HANDLER"
    }
    response = client.post("/api/t/host-fail/")
    assert response.status_code == 401
    assert "code" not in response.json()
    settings.REST_FRAMEWORK = {"EXCEPTION_HANDLER": "django_convites.api.exceptions.exception_handler"}
    assert_error(client.post("/api/t/host-fail/"), response.status_code, "authentication_failed")
    assert AuditEvent.objects.filter(event="teste_falhou").count() == 2


def test_validation_errors_keep_the_field_map_and_add_detail_and_code(client, settings):
    settings.REST_FRAMEWORK = {"EXCEPTION_HANDLER": "django_convites.api.exceptions.exception_handler"}
    body = assert_error(client.post("/api/t/done-then-fail/"), 400, "invalid")
    assert body["campo"] == ["ruim"]


def test_error_body_of_other_drf_exceptions():
    assert error_body(exceptions.Throttled(wait=3))["code"] == "throttled"
    assert error_body(exceptions.NotAuthenticated())["code"] == "not_authenticated"
    assert error_body(exceptions.ValidationError("só isto"))["detail"] == "só isto"
    assert error_body(exceptions.ValidationError(["a", "b"]))["code"] == "invalid"


def test_unknown_api_path_is_json_404(client):
    assert_error(client.get("/api/nao-existe/"), 404, "not_found")


def test_unknown_site_path_stays_html(client):
    response = client.get("/nao-existe/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_a_crash_under_the_api_is_json_500_without_internals():
    client = Client(raise_request_exception=False)
    body = assert_error(client.get("/api/t/boom/"), 500, "server_error")
    assert "boom" not in json.dumps(body)
    site = client.get("/site/boom/")
    assert site.status_code == 500
    assert not site["Content-Type"].startswith("application/json")


def test_a_client_asking_for_json_gets_json_errors_anywhere(client):
    assert_error(client.get("/nao-existe/", HTTP_ACCEPT="application/json"), 404, "not_found")


@pytest.mark.parametrize(
    ("handler", "status", "code"),
    [
        (handlers.bad_request, 400, "bad_request"),
        (handlers.permission_denied, 403, "permission_denied"),
        (handlers.page_not_found, 404, "not_found"),
    ],
)
def test_handlers_answer_json_under_the_api(handler, status, code):
    request = RequestFactory().get("/api/qualquer/")
    assert_error(handler(request, Exception("x")), status, code)


def test_handlers_fall_back_to_django_for_html_paths():
    request = RequestFactory().get("/pagina/")
    response = handlers.bad_request(request, Exception("x"))
    assert response.status_code == 400
    assert not response["Content-Type"].startswith("application/json")


def test_json_depth():
    assert json_depth(1) == 0
    assert json_depth([]) == 1
    assert json_depth({"a": [1, {"b": []}]}) == 4


def test_errors_are_translated(client):
    response = client.get(ECHO, HTTP_ACCEPT_LANGUAGE="pt-br")
    body = assert_error(response, 405, "method_not_allowed")
    assert "não é permitido" in body["detail"]
