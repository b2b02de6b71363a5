from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_convites import checks


def ids(messages):
    return [message.id for message in messages]


def test_the_test_settings_pass_every_check():
    assert checks.check_settings() == []
    assert checks.check_installed_apps() == []
    assert checks.check_middleware() == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([], ["django_convites.E001"]),
        ({"MAX_BODY_SIZ": 10}, ["django_convites.E002"]),
        ({"ROLE_RESOLVER": 3}, ["django_convites.E003"]),
        ({"ROLE_RESOLVER": "django_convites.roles.nothing_here"}, ["django_convites.E003"]),
        ({"ROLE_RESOLVER": "django_convites.roles.POLICY"}, ["django_convites.E003"]),
        ({"ROLE_GROUPS": {"admin": "a"}}, ["django_convites.E004"]),
        ({"ROLE_GROUPS": {"admin": "a", "gestor": ""}}, ["django_convites.E004"]),
        ({"ORGANIZATION_RESOLVER": "os.path.nope"}, ["django_convites.E005"]),
        ({"TARGET_TYPES": {}}, ["django_convites.E006"]),
        ({"TARGET_TYPES": {"x": "root"}}, ["django_convites.E006"]),
        ({"TARGET_TYPES": {"x": "rei"}}, ["django_convites.E006"]),
        ({"TRUSTED_PROXIES": True}, ["django_convites.E007"]),
        ({"TRUSTED_PROXIES": 0}, ["django_convites.E007"]),
        ({"TRUSTED_PROXIES": ["10.0.0.0/33"]}, ["django_convites.E007"]),
        ({"TRUSTED_PROXIES": "10.0.0.0/8"}, ["django_convites.E007"]),
        ({"MAX_BODY_SIZE": 10}, ["django_convites.E008"]),
        ({"MAX_JSON_DEPTH": 1}, ["django_convites.E009"]),
        ({"MAX_JSON_DEPTH": 1, "MAX_BODY_SIZE": True}, ["django_convites.E008", "django_convites.E009"]),
    ],
)
def test_bad_settings_are_reported(value, expected):
    with override_settings(DJANGO_CONVITES=value):
        assert ids(checks.check_settings()) == expected


def test_unknown_key_gets_a_did_you_mean_hint():
    with override_settings(DJANGO_CONVITES={"TRUSTED_PROXY": 1}):
        (error,) = checks.check_settings()
    assert "TRUSTED_PROXIES" in error.hint


def test_good_non_default_settings_pass():
    value = {
        "TRUSTED_PROXIES": ["10.0.0.0/8"],
        "ORGANIZATION_RESOLVER": "tests.test_roles.organizations_by_username",
        "TARGET_TYPES": {"parceiro": "gestor"},
        "MAX_BODY_SIZE": 2048,
    }
    with override_settings(DJANGO_CONVITES=value):
        assert checks.check_settings() == []


def test_missing_required_app_is_an_error(settings):
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "django_otp.plugins.otp_totp"]
    assert ids(checks.check_installed_apps()) == ["django_convites.E010"]


def test_otp_middleware_missing_or_misplaced_warns(settings):
    middleware = list(settings.MIDDLEWARE)
    settings.MIDDLEWARE = [m for m in middleware if m != checks.OTP_MIDDLEWARE]
    # The app's two-factor middleware then has no django-otp middleware before it either.
    assert ids(checks.check_middleware()) == ["django_convites.W001", "django_convites.W002"]
    settings.MIDDLEWARE = [m for m in middleware if m not in (checks.OTP_MIDDLEWARE, checks.TWO_FACTOR_MIDDLEWARE)]
    assert ids(checks.check_middleware()) == ["django_convites.W001"]
    settings.MIDDLEWARE = [checks.OTP_MIDDLEWARE, *settings.MIDDLEWARE]
    assert ids(checks.check_middleware()) == ["django_convites.W001"]


def test_manage_py_check_fails_on_a_bad_setting():
    with override_settings(DJANGO_CONVITES={"MAX_JSON_DEPTH": "deep"}), pytest.raises(SystemCheckError) as info:
        call_command("check")
    assert "django_convites.E009" in str(info.value)


# -- W004: the throttles' cache ------------------------------------------------------------------------

LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DUMMY = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
DATABASE = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "convites_cache"}}
FILES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": "convites-cache"}}


def test_a_process_local_throttle_cache_with_debug_off_warns():
    with override_settings(DEBUG=False, CACHES=LOCMEM):
        (warning,) = checks.check_throttle_cache()
    assert warning.id == "django_convites.W004"
    assert "LocMemCache" in warning.msg and "N times each rate" in warning.msg
    assert "LOGIN_RATE" in warning.msg and "TWO_FACTOR_RATE" in warning.msg
    assert "CACHES['default']" in warning.hint


def test_a_dummy_throttle_cache_warns_that_nothing_is_throttled():
    with override_settings(DEBUG=False, CACHES=DUMMY):
        (warning,) = checks.check_throttle_cache()
    assert warning.id == "django_convites.W004"
    assert "DummyCache" in warning.msg and "nothing is throttled" in warning.msg


@pytest.mark.parametrize("caches", [DATABASE, FILES])
def test_a_shared_throttle_cache_passes(caches):
    with override_settings(DEBUG=False, CACHES=caches):
        assert checks.check_throttle_cache() == []


def test_a_development_site_with_debug_on_is_not_warned():
    with override_settings(DEBUG=True, CACHES=LOCMEM):
        assert checks.check_throttle_cache() == []


def test_the_warning_names_only_the_throttles_that_are_on(convites_settings):
    convites_settings(INVITE_VALIDATION_RATE=None, LOGIN_USERNAME_RATE=None)
    with override_settings(DEBUG=False, CACHES=LOCMEM):
        (warning,) = checks.check_throttle_cache()
    assert "(LOGIN_RATE, TWO_FACTOR_RATE)" in warning.msg
    convites_settings(LOGIN_RATE=None, TWO_FACTOR_RATE=None)
    with override_settings(DEBUG=False, CACHES=LOCMEM):
        assert checks.check_throttle_cache() == []  # no throttle, nothing to count


def test_manage_py_check_shows_the_throttle_cache_warning_and_it_can_be_silenced():
    with override_settings(DEBUG=False, CACHES=LOCMEM), pytest.raises(SystemCheckError) as info:
        call_command("check", "--tag", "security", "--fail-level", "WARNING")  # tagged security and caches
    assert "django_convites.W004" in str(info.value)
    with override_settings(DEBUG=False, CACHES=LOCMEM, SILENCED_SYSTEM_CHECKS=["django_convites.W004"]):
        call_command("check", "--fail-level", "WARNING")
