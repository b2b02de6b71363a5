from __future__ import annotations

import ipaddress

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_convites.conf import DEFAULTS, VALIDATORS, app_settings


def test_every_default_is_valid_and_readable():
    assert set(VALIDATORS) == set(DEFAULTS)
    for key, (_check_id, validate) in VALIDATORS.items():
        assert validate(DEFAULTS[key]) is None, key
        getattr(app_settings, key)


def test_defaults_without_the_setting():
    assert app_settings.TRUSTED_PROXIES is None
    assert app_settings.MAX_BODY_SIZE == 64 * 1024
    assert app_settings.TARGET_TYPES["coordenador"] == "gestor"
    assert app_settings.ORGANIZATION_RESOLVER is None
    assert callable(app_settings.ROLE_RESOLVER)


def test_override_settings_is_seen_at_once_and_undone():
    assert app_settings.MAX_JSON_DEPTH == 32
    with override_settings(DJANGO_CONVITES={"MAX_JSON_DEPTH": 5}):
        assert app_settings.MAX_JSON_DEPTH == 5
    assert app_settings.MAX_JSON_DEPTH == 32


def test_a_key_replaces_its_default_whole():
    with override_settings(DJANGO_CONVITES={"TARGET_TYPES": {"parceiro": "usuario"}}):
        assert dict(app_settings.TARGET_TYPES) == {"parceiro": "usuario"}


def test_trusted_proxy_cidrs_are_parsed():
    with override_settings(DJANGO_CONVITES={"TRUSTED_PROXIES": ["10.0.0.0/8", "2001:db8::/32"]}):
        proxies = app_settings.TRUSTED_PROXIES
    assert proxies == [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")]


@pytest.mark.parametrize(
    ("key", "value", "check_id"),
    [
        ("MAX_BODY_SIZE", "big", "django_convites.E008"),
        ("MAX_JSON_DEPTH", 10_000, "django_convites.E009"),
        ("TRUSTED_PROXIES", ["nope"], "django_convites.E007"),
        ("ROLE_RESOLVER", "no.such.module.func", "django_convites.E003"),
    ],
)
def test_a_bad_value_read_at_run_time_raises_with_the_check_id(key, value, check_id):
    with override_settings(DJANGO_CONVITES={key: value}), pytest.raises(ImproperlyConfigured) as info:
        getattr(app_settings, key)
    assert check_id in str(info.value)
    assert key in str(info.value)
