"""System checks: ``manage.py check`` explains a bad setting and what to do about it.

Every id is listed in ``docs/checks.rst``. Each key of ``DJANGO_CONVITES`` owns one id, declared with the key
in :class:`django_convites.conf.ConvitesSettings`; :data:`SETTING_CHECKS` lists them. The checks of keys
that guard a protection, and E001, E002, E031 and W001-W004, are registered with the ``security`` tag.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, InvalidCacheBackendError, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.checks import CheckMessage, Error, Warning

from django_convites.conf import DECLARATIONS, SETTING_NAME

REQUIRED_APPS = ("rest_framework", "django_otp", "django_otp.plugins.otp_totp")
OTP_MIDDLEWARE = "django_otp.middleware.OTPMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"
TWO_FACTOR_MIDDLEWARE = "django_convites.middleware.TwoFactorMiddleware"
#: The settings of the app's rate limits, which count in Django's default cache (:mod:`django_convites.ratelimit`).
THROTTLE_RATES = (
    "INVITE_VALIDATION_RATE",
    "LOGIN_RATE",
    "LOGIN_USERNAME_RATE",
    "TWO_FACTOR_RATE",
    "INVITE_RESEND_RATE",
)

#: Setting key -> the id of its own check, read from the declarations (``conf.ConvitesSettings``): for
#: example ``"MAX_BODY_SIZE" -> "django_convites.E008"``. No two keys share an id.
SETTING_CHECKS: Mapping[str, str] = {key: setting.check_id for key, setting in DECLARATIONS.items()}


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every settings check: E001 not a dict, E002 an unknown key, then each key's own (:data:`SETTING_CHECKS`).

    ``manage.py check`` runs it in two parts, :func:`check_security_settings` and :func:`check_other_settings`.
    """
    return _settings_messages(security=None)


def check_security_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E001, E002 and the checks of the keys declared ``security`` (registered with the ``security`` tag)."""
    return _settings_messages(security=True)


def check_other_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The checks of the keys not declared ``security`` (the host's models, the code sender)."""
    return _settings_messages(security=False)


def _settings_messages(*, security: bool | None) -> list[CheckMessage]:
    value = getattr(settings, SETTING_NAME, {})
    if not isinstance(value, Mapping):
        if security is False:
            return []
        return [
            Error(
                f"{SETTING_NAME} must be a dict, not {type(value).__name__}.",
                hint=f"Write {SETTING_NAME} = {{...}} with the keys documented in the configuration reference.",
                id="django_convites.E001",
            )
        ]
    errors: list[CheckMessage] = []
    unknown = [key for key in value if key not in DECLARATIONS] if security is not False else []
    for key in unknown:  # a misspelt key leaves its default in force, whatever key it is: a security check
        close = difflib.get_close_matches(str(key), DECLARATIONS, n=1)
        errors.append(
            Error(
                f"{SETTING_NAME} has an unknown key {key!r}.",
                hint=f"Did you mean {close[0]!r}?" if close else "Remove it; see the configuration reference.",
                id="django_convites.E002",
            )
        )
    for key, setting in DECLARATIONS.items():
        if security is not None and setting.security is not security:
            continue
        problem = setting.validate(value.get(key, setting.default))
        if problem:
            errors.append(
                Error(
                    f"{SETTING_NAME}[{key!r}] {problem}",
                    hint=f"Fix the value, or remove the key to use the default ({setting.default!r}).",
                    id=setting.check_id,
                )
            )
    return errors


def check_installed_apps(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E010: an app django_convites needs is missing from INSTALLED_APPS."""
    missing = [app for app in REQUIRED_APPS if app not in settings.INSTALLED_APPS]
    if not missing:
        return []
    return [
        Error(
            f"django_convites needs {', '.join(repr(app) for app in missing)} in INSTALLED_APPS.",
            hint="Add them before 'django_convites'.",
            id="django_convites.E010",
        )
    ]


def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W001: django-otp's middleware is missing or placed before AuthenticationMiddleware; W002: the app's
    two-factor middleware comes before django-otp's; W003: django-otp's admin shows TOTP seeds."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    messages: list[CheckMessage] = []
    if OTP_MIDDLEWARE not in middleware or (
        AUTH_MIDDLEWARE in middleware and middleware.index(AUTH_MIDDLEWARE) > middleware.index(OTP_MIDDLEWARE)
    ):
        messages.append(
            Warning(
                f"{OTP_MIDDLEWARE!r} should be in MIDDLEWARE, after {AUTH_MIDDLEWARE!r}.",
                hint="Without it, two-factor verification of session users is not recorded on request.user.",
                id="django_convites.W001",
            )
        )
    if "django_otp.plugins.otp_totp" in settings.INSTALLED_APPS and not getattr(
        settings, "OTP_ADMIN_HIDE_SENSITIVE_DATA", False
    ):
        messages.append(
            Warning(
                "django-otp's admin shows every TOTP seed and its QR code.",
                hint="Set OTP_ADMIN_HIDE_SENSITIVE_DATA = True in your settings.",
                id="django_convites.W003",
            )
        )
    if TWO_FACTOR_MIDDLEWARE in middleware and (
        OTP_MIDDLEWARE not in middleware or middleware.index(OTP_MIDDLEWARE) > middleware.index(TWO_FACTOR_MIDDLEWARE)
    ):
        messages.append(
            Warning(
                f"{TWO_FACTOR_MIDDLEWARE!r} should come after {OTP_MIDDLEWARE!r} in MIDDLEWARE.",
                hint="Before it, no session counts as verified and every user with a device is sent to verify.",
                id="django_convites.W002",
            )
        )
    return messages


def check_throttle_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W004: with ``DEBUG`` off, the throttles count in a cache each server process keeps for itself
    (``LocMemCache``: N processes allow N times every rate) or in none (``DummyCache``: nothing is throttled)."""
    from django_convites import conf

    if settings.DEBUG or check_settings():
        return []  # a development site; or a bad key, which the settings checks report
    rates = [name for name in THROTTLE_RATES if getattr(conf.app_settings, name) is not None]
    if not rates:
        return []
    try:
        cache = caches[DEFAULT_CACHE_ALIAS]
    except InvalidCacheBackendError:
        return []  # Django's own cache check reports a missing or broken default cache
    counted = f"The app's throttles ({', '.join(rates)}) count in Django's default cache"
    if isinstance(cache, DummyCache):
        problem = f"{counted}, a DummyCache, which keeps nothing: nothing is throttled."
    elif isinstance(cache, LocMemCache):
        problem = f"{counted}, a LocMemCache, which each server process keeps for itself: N processes allow N times each rate."
    else:
        return []
    return [
        Warning(
            problem,
            hint="Make CACHES['default'] a cache every server process shares (Redis, Memcached, the database "
            "cache); a site served by a single process may silence django_convites.W004.",
            id="django_convites.W004",
        )
    ]


def check_invite_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """E018: the organization and nucleus settings do not fit together; E019: lifetime above its maximum;
    E031: the JWT keys do not suit the algorithm."""
    from django_convites import conf, jwt_codec, orgs

    if check_settings():
        return []  # one key is wrong already; its own check says which
    errors: list[CheckMessage] = []
    problem = orgs.configuration_problem()
    if problem:
        errors.append(
            Error(
                f"{SETTING_NAME}: {problem}",
                hint="Name the host's models as 'app_label.ModelName' and the nucleus's foreign key to the "
                "organization in NUCLEUS_ORGANIZATION_FIELD.",
                id="django_convites.E018",
            )
        )
    settings_ = conf.app_settings
    if settings_.INVITE_LIFETIME > settings_.INVITE_MAX_LIFETIME:
        errors.append(
            Error(
                f"{SETTING_NAME}['INVITE_LIFETIME'] is longer than INVITE_MAX_LIFETIME.",
                hint="The default lifetime of an invite must not exceed the longest one an issuer may ask for.",
                id="django_convites.E019",
            )
        )
    problem = jwt_codec.configuration_problem()
    if problem:
        errors.append(
            Error(
                f"{SETTING_NAME}: {problem}",
                hint="HS algorithms take one secret (or none: it is derived from SECRET_KEY); RS and ES take a "
                "PEM private key to sign and its PEM public key to verify, and need the cryptography package.",
                id="django_convites.E031",
            )
        )
    return errors
