"""No invite code in Django's request logs (``django_convites.logfilters``; docs/security.rst, "Why an
invite's code never stays in a URL")."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client, RequestFactory

from django_convites import logfilters
from tests.factories import issue

pytestmark = pytest.mark.django_db


def link(code: str) -> str:
    return f"/tokens/convites/aceitar/{code}/"


def leaks(caplog: Any, code: str) -> list[str]:
    """What the captured records would show of ``code``'s secret part: messages and attached requests."""
    secret = code[4:]
    shown = []
    for record in caplog.records:
        if secret in record.getMessage():
            shown.append(record.getMessage())
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "get_full_path") and secret in request.get_full_path():
            shown.append(f"request {request.get_full_path()}")
    return shown


def test_a_throttled_accept_link_logs_its_path_redacted(users, convites_settings, caplog):
    convites_settings(INVITE_VALIDATION_RATE="1/minute")
    code = issue(users["admin"]).code
    client = Client()
    assert client.get(link(code)).status_code == 302
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert client.get(link(code)).status_code == 429
    assert any("cvi_[redacted]" in record.getMessage() for record in caplog.records), caplog.records
    assert leaks(caplog, code) == []


def test_a_mangled_link_that_is_404_logs_its_path_redacted(users, caplog):
    code = issue(users["admin"]).code
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert Client().get(link(code) + "lixo/").status_code == 404
    assert caplog.records, "Django logs every 404"
    assert leaks(caplog, code) == []


def test_the_filter_redacts_arguments_and_the_message_and_drops_a_request_whose_path_holds_a_code(users):
    code = issue(users["admin"]).code
    request = RequestFactory().get(link(code))
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s", (request.path,), None)
    record.request = request
    assert logfilters.RedactTokens().filter(record) is True
    assert record.getMessage() == "Not Found: /tokens/convites/aceitar/cvi_[redacted]/"
    assert record.request is None
    plain = logging.LogRecord("django.request", logging.WARNING, __file__, 1, f"seen {code}", None, None)
    plain.request = RequestFactory().get("/tokens/convites/aceitar/")
    logfilters.RedactTokens().filter(plain)
    assert plain.getMessage() == "seen cvi_[redacted]"
    assert plain.request is not None  # a path without a code keeps its request for the handlers


def test_the_app_filters_djangos_request_loggers_once():
    logfilters.install()  # ready() did already
    for name in logfilters.REQUEST_LOGGERS:
        filters = [f for f in logging.getLogger(name).filters if isinstance(f, logfilters.RedactTokens)]
        assert len(filters) == 1, name
