from __future__ import annotations

import datetime

import pytest
from django.core.checks.registry import registry
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_convites import checks
from django_convites.conf import DECLARATIONS, app_settings


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


@pytest.mark.django_db  # Django 6.1's check asks the database what it supports (JSONField)
def test_manage_py_check_fails_on_a_bad_setting():
    with override_settings(DJANGO_CONVITES={"MAX_JSON_DEPTH": "deep"}), pytest.raises(SystemCheckError) as info:
        call_command("check")
    assert "django_convites.E009" in str(info.value)


# -- one failing value per settings check id ---------------------------------------------------------------

#: Values each key's own check refuses, by check id; every id of checks.SETTING_CHECKS has its row.
FAILING_VALUES: dict[str, tuple[str, list[object]]] = {
    "django_convites.E003": ("ROLE_RESOLVER", ["django_convites.roles.nothing_here", 3]),
    "django_convites.E004": ("ROLE_GROUPS", [{"admin": "a"}, {"admin": "a", "gestor": ""}]),
    "django_convites.E005": ("ORGANIZATION_RESOLVER", ["os.path.nope", 3]),
    "django_convites.E006": ("TARGET_TYPES", [{}, {"x": "root"}]),
    "django_convites.E007": ("TRUSTED_PROXIES", [0, ["nope"]]),
    "django_convites.E008": ("MAX_BODY_SIZE", [10, "big"]),
    "django_convites.E009": ("MAX_JSON_DEPTH", [1, 513]),
    "django_convites.E011": ("ORGANIZATION_MODEL", ["hostapp.Nada", "no-dot"]),
    "django_convites.E012": ("NUCLEUS_MODEL", [3, "hostapp.Nada"]),
    "django_convites.E013": ("NUCLEUS_ORGANIZATION_FIELD", ["no-field", None]),
    "django_convites.E014": ("INVITE_LIFETIME", [10, True]),
    "django_convites.E015": ("INVITE_MAX_LIFETIME", [400 * 86400, "30d"]),
    "django_convites.E016": ("INVITES_PER_DAY", [0, "5"]),
    "django_convites.E017": ("INVITE_VALIDATION_RATE", ["60/fortnight", "0/minute"]),
    "django_convites.E020": ("JWT_ALGORITHM", ["none", "hs256"]),
    "django_convites.E021": ("JWT_SIGNING_KEY", ["short", 5]),
    "django_convites.E022": ("JWT_VERIFYING_KEY", [5, "short"]),
    "django_convites.E023": ("JWT_ISSUER", ["", "x" * 201]),
    "django_convites.E024": ("JWT_AUDIENCE", [None, ""]),
    "django_convites.E025": ("JWT_LEEWAY", [301, 0.5]),
    "django_convites.E026": ("ACCESS_TOKEN_LIFETIME", [10, datetime.timedelta(days=2)]),
    "django_convites.E027": ("REFRESH_TOKEN_LIFETIME", [0, None]),
    "django_convites.E028": ("REFRESH_GRACE_PERIOD", [-1, datetime.timedelta(minutes=6)]),
    "django_convites.E029": ("LOGIN_RATE", ["many", "20/minutes"]),
    "django_convites.E030": ("LOGIN_USERNAME_RATE", ["5/eon", 10]),
    "django_convites.E032": ("TWO_FACTOR_RATE", ["10/fortnight", "0/minute", 10, ""]),
    "django_convites.E033": ("TWO_FACTOR_REQUIRED_ROLES", ["admin", ["chefe"]]),
    "django_convites.E034": ("TOTP_ENCRYPTION_KEYS", ["one-key", ["not base64 at all!"]]),
    "django_convites.E035": ("AUTH_CODE_LENGTH", [5, 11, "6", True, None]),
    "django_convites.E036": ("AUTH_CODE_LIFETIME", [59, 3601, datetime.timedelta(hours=2), "600", None]),
    "django_convites.E037": ("AUTH_CODE_COOLDOWN", [-1, 3601, datetime.timedelta(hours=2), "60", None]),
    "django_convites.E038": ("AUTH_CODE_FAILURE_LIMIT", [0, 101, True, "20", None]),
    "django_convites.E039": ("AUTH_CODE_LOCKOUT", [59, 86401, datetime.timedelta(seconds=30), "900", None]),
    "django_convites.E040": (
        "AUTH_CODE_SENDER",
        ["django_convites.senders.nothing_here", "django_convites.conf.SETTING_NAME", None, 3],
    ),
    "django_convites.E041": ("SESSION_MAX_LIFETIME", [3599, "30d"]),
    "django_convites.E042": ("TOTP_FAILURE_LIMIT", [0, 101]),
    "django_convites.E043": ("TOTP_LOCKOUT", [59, 86401]),
    "django_convites.E044": ("API_TOKEN_MAX_LIFETIME", [59, 10 * 366 * 86400 + 1, datetime.timedelta(0), "1y"]),
    "django_convites.E045": ("ORGANIZATION_MEMBERS_RESOLVER", ["os.path.nope", "django_convites.conf.SETTING_NAME", 3]),
    "django_convites.E046": ("SIGNUP_FORM", ["os.path.nope", "django_convites.conf.SETTING_NAME", 3, None]),
    "django_convites.E047": ("INVITE_SENDER", ["os.path.nope", 3]),
    "django_convites.E048": (
        "INVITE_LINK_BASE_URL",
        ["example.com", "https://example.com/tokens/", "ftp://example.com", "https://a b", 3, ""],
    ),
    "django_convites.E050": (
        "SIGNUP_REDIRECT_URL",
        ["", "//evil.example.com/", "bem vindo", "ftp://example.com/", "javascript:alert(1)", "/a b/", 3],
    ),
    "django_convites.E051": ("SIGNUP_URL", ["", "//evil.example.com/signup/", "accounts signup", ["signup"], 7]),
    "django_convites.E049": ("INVITE_RESEND_RATE", ["10/fortnight", "0/hour", 10, ""]),
    "django_convites.E052": (
        "WEBHOOKS",
        [
            "https://hooks.example.com/",
            {"url": "https://hooks.example.com/", "secret": "s" * 16},
            ["https://hooks.example.com/"],
            [{"url": "https://hooks.example.com/"}],
            [{"url": "https://hooks.example.com/", "secret": "curto"}],
            [{"url": "https://hooks.example.com/", "secret": ["s" * 16, "t" * 16, "u" * 16]}],
            [{"url": "https://hooks.example.com/", "secret": ["s" * 16, "s" * 16]}],
            [{"url": "https://user:pass@hooks.example.com/", "secret": "s" * 16}],
            [{"url": "ftp://hooks.example.com/", "secret": "s" * 16}],
            [{"url": "https://hooks.example.com/#x", "secret": "s" * 16}],
            [{"url": "https://hooks.example.com/", "secret": "s" * 16, "eventos": ["nao_existe"]}],
            [{"url": "https://hooks.example.com/", "secret": "s" * 16, "eventos": ["webhook_falhou"]}],
            [{"url": "https://hooks.example.com/", "secret": "s" * 16, "eventos": "login"}],
            [{"url": "https://hooks.example.com/", "secret": "s" * 16, "eventos": []}],
            [{"url": "https://hooks.example.com/", "secret": "s" * 16, "segredo": "s" * 16}],
            [{"url": "https://hooks.example.com/", "secret": "s" * 16}] * 2,
        ],
    ),
    "django_convites.E053": ("WEBHOOK_ALLOW_PRIVATE_URLS", ["yes", 1, None]),
    "django_convites.E054": ("WEBHOOK_TIMEOUT", [0, 61, datetime.timedelta(0), "5", None]),
    "django_convites.E055": ("WEBHOOK_MAX_ATTEMPTS", [0, 51, True, "10", None]),
    "django_convites.E056": ("WEBHOOK_RETRY_DELAY", [0, 3601, datetime.timedelta(hours=2), "30", None]),
    "django_convites.E057": ("AUDIT_RETENTION_DAYS", [0, 36501, "30", True, 1.5]),
    "django_convites.E058": ("TOTP_ISSUER", ["", "  ", "Acme:Corp", "x" * 101, "Acme\nCorp", 3, ["Acme"]]),
}


@pytest.mark.parametrize(
    ("endpoint", "problem"),
    [
        ({"url": "https://hooks.example.com/"}, "needs a 'secret' of at least 16 characters"),
        ({"url": "https://u:p@hooks.example.com/", "secret": "s" * 16}, "a user name or password in it"),
        ({"url": "https://a.example/", "secret": "s" * 16, "eventos": ["nada"]}, "lists 'nada' in 'eventos'"),
        ({"url": "https://a.example/", "secret": "s" * 16, "eventos": ["webhook_falhou"]}, "'webhook_falhou'"),
    ],
)
def test_a_bad_webhook_endpoint_is_reported_with_what_is_wrong(endpoint, problem):
    with override_settings(DJANGO_CONVITES={"WEBHOOKS": [endpoint]}):
        (error,) = checks.check_settings()
    assert error.msg.startswith("DJANGO_CONVITES['WEBHOOKS'] item 0 ")
    assert problem in error.msg


def test_a_repeated_webhook_url_is_reported():
    endpoint = {"url": "https://hooks.example.com/", "secret": "s" * 16}
    with override_settings(DJANGO_CONVITES={"WEBHOOKS": [endpoint, {**endpoint, "secret": "t" * 16}]}):
        (error,) = checks.check_settings()
    assert "item 1 repeats the URL 'https://hooks.example.com/'" in error.msg


def test_every_settings_check_id_has_failing_values():
    assert {check_id: key for check_id, (key, _) in FAILING_VALUES.items()} == {
        check_id: key for key, check_id in checks.SETTING_CHECKS.items()
    }


@pytest.mark.parametrize(
    ("check_id", "key", "value"),
    [(check_id, key, value) for check_id, (key, values) in FAILING_VALUES.items() for value in values],
)
def test_a_failing_value_is_reported_by_its_check_and_refused_at_run_time(check_id, key, value):
    with override_settings(DJANGO_CONVITES={key: value}):
        (error,) = checks.check_settings()
        assert error.id == check_id
        assert error.msg.startswith(f"DJANGO_CONVITES[{key!r}] ")
        assert error.hint == f"Fix the value, or remove the key to use the default ({DECLARATIONS[key].default!r})."
        with pytest.raises(ImproperlyConfigured) as info:
            getattr(app_settings, key)
    assert str(info.value) == f"{error.msg} ({check_id})"


# -- tags: the security checks ----------------------------------------------------------------------------


def registered(tag: str) -> set[object]:
    return {check for check in registry.get_checks() if tag in check.tags}


def test_the_security_checks_are_registered_with_the_security_tag():
    ours = {check for check in registry.get_checks() if check.__module__ == checks.__name__}
    tagged = {
        checks.check_security_settings,
        checks.check_middleware,
        checks.check_invite_settings,
        checks.check_throttle_cache,
    }
    assert tagged <= registered("security")
    assert ours - registered("security") == {checks.check_other_settings, checks.check_installed_apps}


@pytest.mark.parametrize(("check_id", "key"), [(check_id, key) for check_id, (key, _) in FAILING_VALUES.items()])
def test_each_key_is_checked_by_one_of_the_two_registered_parts(check_id, key):
    value = FAILING_VALUES[check_id][1][0]
    with override_settings(DJANGO_CONVITES={key: value}):
        security, other = ids(checks.check_security_settings()), ids(checks.check_other_settings())
    assert (security, other) == (([check_id], []) if DECLARATIONS[key].security else ([], [check_id]))


def test_only_the_host_model_sender_delivery_and_display_keys_are_not_security_checks():
    assert {key for key, setting in DECLARATIONS.items() if not setting.security} == {
        "ORGANIZATION_MODEL",
        "NUCLEUS_MODEL",
        "NUCLEUS_ORGANIZATION_FIELD",
        "AUTH_CODE_SENDER",
        "INVITE_SENDER",
        "WEBHOOK_TIMEOUT",
        "WEBHOOK_MAX_ATTEMPTS",
        "WEBHOOK_RETRY_DELAY",
        "AUDIT_RETENTION_DAYS",
        "TOTP_ISSUER",
    }


@pytest.mark.parametrize("value", [[], {"TWO_FACTOR_REQUIRED_ROLE": ["admin"]}])
def test_a_setting_that_is_not_a_dict_or_a_misspelt_key_is_a_security_check(value):
    with override_settings(DJANGO_CONVITES=value):
        assert ids(checks.check_security_settings()) in (["django_convites.E001"], ["django_convites.E002"])
        assert checks.check_other_settings() == []


@pytest.mark.django_db  # Django 6.1's check asks the database what it supports (JSONField)
def test_manage_py_check_tag_security_runs_the_security_settings_checks_only():
    with override_settings(DJANGO_CONVITES={"JWT_ISSUER": ""}), pytest.raises(SystemCheckError) as info:
        call_command("check", "--tag", "security")
    assert "django_convites.E023" in str(info.value)
    with override_settings(DJANGO_CONVITES={"NUCLEUS_ORGANIZATION_FIELD": "no-field"}):
        call_command("check", "--tag", "security")
        with pytest.raises(SystemCheckError) as info:
            call_command("check")
    assert "django_convites.E013" in str(info.value)


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
    convites_settings(INVITE_VALIDATION_RATE=None, LOGIN_USERNAME_RATE=None, INVITE_RESEND_RATE=None)
    with override_settings(DEBUG=False, CACHES=LOCMEM):
        (warning,) = checks.check_throttle_cache()
    assert "(LOGIN_RATE, TWO_FACTOR_RATE)" in warning.msg
    convites_settings(LOGIN_RATE=None, TWO_FACTOR_RATE=None)
    with override_settings(DEBUG=False, CACHES=LOCMEM):
        assert checks.check_throttle_cache() == []  # no throttle, nothing to count


@pytest.mark.django_db  # Django 6.1's check asks the database what it supports (JSONField)
def test_manage_py_check_shows_the_throttle_cache_warning_and_it_can_be_silenced():
    with override_settings(DEBUG=False, CACHES=LOCMEM), pytest.raises(SystemCheckError) as info:
        call_command("check", "--tag", "security", "--fail-level", "WARNING")  # tagged security and caches
    assert "django_convites.W004" in str(info.value)
    with override_settings(DEBUG=False, CACHES=LOCMEM, SILENCED_SYSTEM_CHECKS=["django_convites.W004"]):
        call_command("check", "--fail-level", "WARNING")
