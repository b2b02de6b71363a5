from __future__ import annotations

import datetime
import functools
import ipaddress
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

from django_convites import checks, conf, jwt_codec
from django_convites.conf import DECLARATIONS, DEFAULTS, VALIDATORS, Duration, app_settings


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


# -- one declaration per key ------------------------------------------------------------------------------


def test_defaults_and_validators_are_views_of_the_declarations():
    assert list(DEFAULTS) == list(VALIDATORS) == list(DECLARATIONS)
    for key, setting in DECLARATIONS.items():
        assert setting.key == key
        assert DEFAULTS[key] is setting.default
        assert VALIDATORS[key] == (setting.check_id, setting.validate)
        assert getattr(conf.ConvitesSettings, key) is setting  # the class shows the declaration


def test_each_key_owns_one_check_id_and_no_id_has_two_keys():
    owners: dict[str, str] = {}
    for key, check_id in checks.SETTING_CHECKS.items():
        assert check_id == DECLARATIONS[key].check_id
        assert owners.setdefault(check_id, key) == key, f"{check_id} belongs to {owners[check_id]} and {key}"
    assert len(owners) == len(DECLARATIONS)


# -- durations: seconds or a timedelta -------------------------------------------------------------------

DURATIONS = sorted(key for key, setting in DECLARATIONS.items() if isinstance(setting, Duration))


def test_the_durations_are_the_keys_that_are_a_length_of_time():
    lengths_of_time = {
        "API_TOKEN_MAX_LIFETIME",
        "INVITE_LIFETIME",
        "INVITE_MAX_LIFETIME",
        "JWT_LEEWAY",
        "ACCESS_TOKEN_LIFETIME",
        "REFRESH_TOKEN_LIFETIME",
        "SESSION_MAX_LIFETIME",
        "REFRESH_GRACE_PERIOD",
        "TOTP_LOCKOUT",
        "AUTH_CODE_LIFETIME",
        "AUTH_CODE_COOLDOWN",
        "AUTH_CODE_LOCKOUT",
        "WEBHOOK_TIMEOUT",
        "WEBHOOK_RETRY_DELAY",
    }
    assert set(DURATIONS) == lengths_of_time


@pytest.mark.parametrize("key", DURATIONS)
def test_every_duration_reads_the_same_from_seconds_and_from_a_timedelta(key):
    setting = DECLARATIONS[key]
    assert isinstance(setting, Duration)
    for seconds in (setting.low, (setting.low + setting.high) // 2, setting.high):
        with override_settings(DJANGO_CONVITES={key: seconds}):
            assert checks.check_settings() == []
            from_seconds = getattr(app_settings, key)
        with override_settings(DJANGO_CONVITES={key: datetime.timedelta(seconds=seconds)}):
            assert checks.check_settings() == []
            assert getattr(app_settings, key) == from_seconds
    for outside in (setting.low - 1, setting.high + 1):
        with override_settings(DJANGO_CONVITES={key: datetime.timedelta(seconds=outside)}):
            assert [message.id for message in checks.check_settings()] == [setting.check_id]


@pytest.mark.parametrize(
    ("key", "seconds", "read"),
    [
        ("JWT_LEEWAY", 30, 30),
        ("REFRESH_GRACE_PERIOD", 30, datetime.timedelta(seconds=30)),
        ("AUTH_CODE_COOLDOWN", 300, datetime.timedelta(seconds=300)),
    ],
)
def test_the_durations_that_took_only_seconds_take_a_timedelta_too(key, seconds, read):
    with override_settings(DJANGO_CONVITES={key: datetime.timedelta(seconds=seconds)}):
        assert checks.check_settings() == []
        assert getattr(app_settings, key) == read


def test_a_leeway_given_as_a_timedelta_tolerates_clock_skew():
    issued = timezone.now() - app_settings.ACCESS_TOKEN_LIFETIME - datetime.timedelta(seconds=5)
    token, _ = jwt_codec.encode(1, uuid.uuid4(), issued)  # expired five seconds ago
    with pytest.raises(jwt_codec.TokenExpired):
        jwt_codec.decode(token)
    with override_settings(DJANGO_CONVITES={"JWT_LEEWAY": datetime.timedelta(seconds=30)}):
        assert app_settings.JWT_LEEWAY == 30
        assert jwt_codec.decode(token).user_id == "1"


@pytest.mark.parametrize("value", [1.5, datetime.timedelta(milliseconds=500), -1, 301, "30", True])
def test_the_leeway_is_whole_seconds_like_the_claims_it_is_added_to(value):
    with override_settings(DJANGO_CONVITES={"JWT_LEEWAY": value}):
        (error,) = checks.check_settings()
    assert error.id == "django_convites.E025"
    assert "whole number of seconds (or a timedelta) from 0 to 300" in error.msg


# -- the settings object ----------------------------------------------------------------------------------


def test_the_object_keeps_what_it_read_and_forgets_it_on_setting_changed():
    settings_object = app_settings
    assert app_settings.MAX_JSON_DEPTH == 32
    assert vars(app_settings)["MAX_JSON_DEPTH"] == 32  # the next read is a plain attribute lookup
    with override_settings(DJANGO_CONVITES={"MAX_JSON_DEPTH": 5}):
        assert "MAX_JSON_DEPTH" not in vars(app_settings)
        assert app_settings.MAX_JSON_DEPTH == 5
    assert app_settings.MAX_JSON_DEPTH == 32
    assert conf.app_settings is settings_object  # never rebound


def test_a_converted_value_is_kept_as_converted():
    with override_settings(DJANGO_CONVITES={"ACCESS_TOKEN_LIFETIME": 60}):
        first = app_settings.ACCESS_TOKEN_LIFETIME
        assert first == datetime.timedelta(seconds=60)
        assert app_settings.ACCESS_TOKEN_LIFETIME is first


def test_a_bad_value_is_refused_on_every_read_and_never_kept():
    with override_settings(DJANGO_CONVITES={"MAX_JSON_DEPTH": 1}):
        for _ in range(2):
            with pytest.raises(ImproperlyConfigured, match="E009"):
                app_settings.MAX_JSON_DEPTH  # noqa: B018
        assert "MAX_JSON_DEPTH" not in vars(app_settings)


def test_the_object_is_read_only():
    with pytest.raises(AttributeError, match="read-only"):
        app_settings.MAX_JSON_DEPTH = 5
    with pytest.raises(AttributeError, match="read-only"):
        del app_settings.MAX_JSON_DEPTH
    assert app_settings.MAX_JSON_DEPTH == 32


calls: list[int] = []


@conf.register_cache
@functools.cache
def _derived() -> int:
    calls.append(1)
    return app_settings.MAX_JSON_DEPTH * 2


@pytest.mark.parametrize(
    "change",
    [{"DJANGO_CONVITES": {"MAX_JSON_DEPTH": 5}}, {"SECRET_KEY": "another-secret"}],
)
def test_a_registered_cache_is_cleared_with_the_values(change):
    _derived()
    before = len(calls)
    with override_settings(**change):
        _derived()
        assert len(calls) == before + 1
