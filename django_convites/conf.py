"""The app's settings: one ``DJANGO_CONVITES`` dict, read through :data:`app_settings`.

Every key has a default in :data:`DEFAULTS`. A key the site sets replaces the default whole (maps are not
merged). Values are validated by the functions in :data:`VALIDATORS`; ``manage.py check`` reports a bad
value (see :mod:`django_convites.checks`) and reading one at run time raises ``ImproperlyConfigured`` with
the same message. Values are cached and the cache is cleared on ``setting_changed``, so
``override_settings`` works in tests.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from django_convites.roles import OrganizationResolver, RoleResolver

SETTING_NAME = "DJANGO_CONVITES"

ROLE_NAMES = ("root", "admin", "gestor", "usuario")

DEFAULTS: dict[str, Any] = {
    # Dotted path to a callable ``(user) -> Role``.
    "ROLE_RESOLVER": "django_convites.roles.resolve_role_from_groups",
    # Group names the default resolver reads, by role.
    "ROLE_GROUPS": {"admin": "admin", "gestor": "gestor"},
    # Dotted path to a callable ``(user) -> iterable of organization ids | None``; None = no confinement.
    "ORGANIZATION_RESOLVER": None,
    # Dotted path to a callable ``(frozenset of organization ids) -> user ids (iterable or queryset)``: the
    # members of those organizations, whose objects a confined admin or gestor may reach; None = none.
    "ORGANIZATION_MEMBERS_RESOLVER": None,
    # Invite target type -> role it grants.
    "TARGET_TYPES": {
        "associado": "usuario",
        "nucleado": "usuario",
        "convidado": "usuario",
        "coordenador": "gestor",
        "admin": "admin",
    },
    # None: REMOTE_ADDR is the client. An int: that many proxies in front of Django. A list of CIDRs:
    # the proxies' networks. With either, X-Forwarded-For is read right to left.
    "TRUSTED_PROXIES": None,
    # Largest JSON body the API parses, in bytes; larger gets 413 ``request_too_large``.
    "MAX_BODY_SIZE": 64 * 1024,
    # Deepest nesting of arrays and objects the API parses; deeper gets 400 ``parse_error``.
    "MAX_JSON_DEPTH": 32,
    # The longest an API token may live, in seconds (or a timedelta); a token created without ``expira_em``
    # expires after it. None: tokens may never expire.
    "API_TOKEN_MAX_LIFETIME": 365 * 86400,
    # The host's organization model as "app_label.ModelName"; None: invites carry no organization.
    "ORGANIZATION_MODEL": None,
    # The host's nucleus model as "app_label.ModelName"; None: invites carry no nuclei.
    "NUCLEUS_MODEL": None,
    # The nucleus model's foreign key to the organization model.
    "NUCLEUS_ORGANIZATION_FIELD": "organization",
    # Lifetime of an invite when the issuer names no ``data_expiracao``, in seconds (or a timedelta).
    "INVITE_LIFETIME": 7 * 24 * 3600,
    # The longest lifetime an issuer may ask for, in seconds (or a timedelta).
    "INVITE_MAX_LIFETIME": 30 * 24 * 3600,
    # Invites one issuer may create per calendar day in TIME_ZONE; root is exempt; None: no quota.
    "INVITES_PER_DAY": 5,
    # DRF rate of invite validations per client IP ("60/minute"); None: not throttled.
    "INVITE_VALIDATION_RATE": "60/minute",
    # The one algorithm access tokens are signed and checked with.
    "JWT_ALGORITHM": "HS256",
    # HS*: the secret (None: derived from SECRET_KEY); RS*/ES*: the private key, PEM.
    "JWT_SIGNING_KEY": None,
    # RS*/ES*: the public key, PEM. HS*: None.
    "JWT_VERIFYING_KEY": None,
    # The ``iss`` and ``aud`` claims access tokens carry and must carry.
    "JWT_ISSUER": "django-convites",
    "JWT_AUDIENCE": "django-convites",
    # Clock skew tolerated on ``exp``, ``nbf`` and ``iat``, in seconds.
    "JWT_LEEWAY": 0,
    # Lifetime of an access token, in seconds (or a timedelta).
    "ACCESS_TOKEN_LIFETIME": 300,
    # Lifetime of a refresh token, in seconds (or a timedelta); each refresh starts a new one.
    "REFRESH_TOKEN_LIFETIME": 86400,
    # Absolute lifetime of a session (a login), in seconds (or a timedelta): refreshing never goes past it.
    "SESSION_MAX_LIFETIME": 30 * 86400,
    # Seconds during which the refresh token just replaced may be presented once more; 0: strict.
    "REFRESH_GRACE_PERIOD": 0,
    # DRF rates of login attempts per client IP and per username; None: not throttled.
    "LOGIN_RATE": "20/minute",
    "LOGIN_USERNAME_RATE": "10/minute",
    # DRF rate of two-factor code checks (confirm, disable) per user; None: not throttled.
    "TWO_FACTOR_RATE": "10/minute",
    # Roles that must use two-factor authentication: their session users are sent to enrol, and the
    # API refuses their requests until a second factor is proved (403 ``two_factor_required``).
    "TWO_FACTOR_REQUIRED_ROLES": [],
    # Fernet keys (urlsafe base64 of 32 bytes) that encrypt TOTP seeds at rest; the first encrypts, every
    # key decrypts. Empty: seeds are stored as django-otp stores them.
    "TOTP_ENCRYPTION_KEYS": [],
    # Consecutive wrong two-factor codes (TOTP or backup) after which every code is refused for
    # TOTP_LOCKOUT (NIST SP 800-63B: at most 100).
    "TOTP_FAILURE_LIMIT": 10,
    # How long that lockout lasts, in seconds (or a timedelta).
    "TOTP_LOCKOUT": 900,
    # Digits of an authentication code.
    "AUTH_CODE_LENGTH": 6,
    # Lifetime of an authentication code, in seconds (or a timedelta).
    "AUTH_CODE_LIFETIME": 600,
    # Seconds a user waits between two codes.
    "AUTH_CODE_COOLDOWN": 60,
    # Consecutive wrong codes, across codes, after which the user gets no new code for AUTH_CODE_LOCKOUT.
    "AUTH_CODE_FAILURE_LIMIT": 20,
    # How long that lockout lasts, in seconds (or a timedelta).
    "AUTH_CODE_LOCKOUT": 900,
    # Dotted path to a callable ``(user, code, purpose) -> channel name`` that delivers a code.
    "AUTH_CODE_SENDER": "django_convites.senders.send_by_email",
}


# -- validators: each returns None when the value is good, else a message in the user's words ---------


def _check_dotted_callable(value: Any, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        return f"must be a dotted path string to a callable, not {type(value).__name__}."
    try:
        obj = import_string(value)
    except ImportError as exc:
        return f"cannot import {value!r} ({exc})."
    if not callable(obj):
        return f"{value!r} is not callable."
    return None


def _check_role_groups(value: Any) -> str | None:
    if not isinstance(value, Mapping) or set(value) != {"admin", "gestor"}:
        return "must be a dict with exactly the keys 'admin' and 'gestor', mapping each to a group name."
    if not all(isinstance(v, str) and v for v in value.values()):
        return "group names must be non-empty strings."
    return None


def _check_target_types(value: Any) -> str | None:
    if not isinstance(value, Mapping) or not value:
        return "must be a non-empty dict mapping each target type to a role."
    for name, role in value.items():
        if not isinstance(name, str) or not name or len(name) > 32:
            return f"target type {name!r} must be a non-empty string of at most 32 characters."
        if role not in ROLE_NAMES or role == "root":
            return f"target type {name!r} grants {role!r}; use one of 'admin', 'gestor', 'usuario'."
    return None


def _check_trusted_proxies(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "must be None, a number of proxies or a list of CIDRs, not a boolean."
    if isinstance(value, int):
        return None if 1 <= value <= 32 else "a number of proxies must be between 1 and 32."
    if isinstance(value, (list, tuple)) and value:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except (TypeError, ValueError):
                return f"{cidr!r} is not an IP network in CIDR form (for example '10.0.0.0/8')."
        return None
    return "must be None, a number of proxies (int) or a non-empty list of CIDRs."


def _check_model_label(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.count(".") != 1:
        return "must be None or a model label such as 'myapp.Organization'."
    from django.apps import apps

    if not apps.ready:
        return None
    try:
        apps.get_model(value)
    except LookupError:
        return f"names {value!r}, which is not an installed model."
    return None


def _check_field_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.isidentifier():
        return "must be the name of a field, such as 'organization'."
    return None


def _check_optional_count(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
        return "must be None (no quota) or an integer between 1 and 10000."
    return None


_RATE = re.compile(r"(\d+)/(s|sec|second|m|min|minute|h|hour|d|day)")


def _check_rate(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _RATE.fullmatch(value) or int(value.split("/")[0]) < 1:
        return "must be None or a rate such as '60/minute' (a count, then second, minute, hour or day)."
    return None


JWT_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512")


def _check_algorithm(value: Any) -> str | None:
    if value not in JWT_ALGORITHMS:
        return f"must be one of {', '.join(JWT_ALGORITHMS)} ('none' is never accepted)."
    return None


def _check_optional_key(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and len(value) >= 32):
        return None
    return "must be None or a key of at least 32 characters (a PEM key for RS and ES algorithms)."


def _check_claim(value: Any) -> str | None:
    if not isinstance(value, str) or not value or len(value) > 200:
        return "must be a non-empty string of at most 200 characters."
    return None


def _check_roles(value: Any) -> str | None:
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        return f"must be a list of role names among {', '.join(ROLE_NAMES)}."
    unknown = [role for role in value if role not in ROLE_NAMES]
    if unknown:
        return f"{unknown[0]!r} is no role; use names among {', '.join(ROLE_NAMES)}."
    return None


def _check_fernet_keys(value: Any) -> str | None:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        return "must be a list of Fernet keys (the first encrypts, every key decrypts)."
    if not value:
        return None
    try:
        from cryptography.fernet import Fernet
    except ImportError:
        return "needs the cryptography package: install django-convites[crypto]."
    for position, key in enumerate(value):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            return f"item {position} is no Fernet key (make one with Fernet.generate_key())."
    return None


def _duration_between(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        seconds = value.total_seconds() if isinstance(value, datetime.timedelta) else value
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not low <= seconds <= high:
            return f"must be a number of seconds (or a timedelta) from {low} to {high}."
        return None

    return check


def _optional(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    def optional(value: Any) -> str | None:
        problem = None if value is None else check(value)
        return None if problem is None else f"must be None or {problem.removeprefix('must be ')}"

    return optional


def _int_between(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be an integer between {low} and {high}."
        return None

    return check


#: Setting key -> (system check id, validator).
VALIDATORS: dict[str, tuple[str, Callable[[Any], str | None]]] = {
    "ROLE_RESOLVER": ("django_convites.E003", _check_dotted_callable),
    "ROLE_GROUPS": ("django_convites.E004", _check_role_groups),
    "ORGANIZATION_RESOLVER": (
        "django_convites.E005",
        functools.partial(_check_dotted_callable, optional=True),
    ),
    "ORGANIZATION_MEMBERS_RESOLVER": (
        "django_convites.E045",
        functools.partial(_check_dotted_callable, optional=True),
    ),
    "TARGET_TYPES": ("django_convites.E006", _check_target_types),
    "TRUSTED_PROXIES": ("django_convites.E007", _check_trusted_proxies),
    "MAX_BODY_SIZE": ("django_convites.E008", _int_between(1024, 64 * 1024 * 1024)),
    "MAX_JSON_DEPTH": ("django_convites.E009", _int_between(2, 512)),
    "API_TOKEN_MAX_LIFETIME": ("django_convites.E044", _optional(_duration_between(60, 10 * 366 * 86400))),
    "ORGANIZATION_MODEL": ("django_convites.E011", _check_model_label),
    "NUCLEUS_MODEL": ("django_convites.E012", _check_model_label),
    "NUCLEUS_ORGANIZATION_FIELD": ("django_convites.E013", _check_field_name),
    "INVITE_LIFETIME": ("django_convites.E014", _duration_between(60, 366 * 86400)),
    "INVITE_MAX_LIFETIME": ("django_convites.E015", _duration_between(60, 366 * 86400)),
    "INVITES_PER_DAY": ("django_convites.E016", _check_optional_count),
    "INVITE_VALIDATION_RATE": ("django_convites.E017", _check_rate),
    "JWT_ALGORITHM": ("django_convites.E020", _check_algorithm),
    "JWT_SIGNING_KEY": ("django_convites.E021", _check_optional_key),
    "JWT_VERIFYING_KEY": ("django_convites.E022", _check_optional_key),
    "JWT_ISSUER": ("django_convites.E023", _check_claim),
    "JWT_AUDIENCE": ("django_convites.E024", _check_claim),
    "JWT_LEEWAY": ("django_convites.E025", _int_between(0, 300)),
    "ACCESS_TOKEN_LIFETIME": ("django_convites.E026", _duration_between(30, 86400)),
    "REFRESH_TOKEN_LIFETIME": ("django_convites.E027", _duration_between(60, 366 * 86400)),
    "SESSION_MAX_LIFETIME": ("django_convites.E041", _duration_between(3600, 366 * 86400)),
    "REFRESH_GRACE_PERIOD": ("django_convites.E028", _int_between(0, 300)),
    "LOGIN_RATE": ("django_convites.E029", _check_rate),
    "LOGIN_USERNAME_RATE": ("django_convites.E030", _check_rate),
    "TWO_FACTOR_RATE": ("django_convites.E032", _check_rate),
    "TWO_FACTOR_REQUIRED_ROLES": ("django_convites.E033", _check_roles),
    "TOTP_ENCRYPTION_KEYS": ("django_convites.E034", _check_fernet_keys),
    "TOTP_FAILURE_LIMIT": ("django_convites.E042", _int_between(1, 100)),
    "TOTP_LOCKOUT": ("django_convites.E043", _duration_between(60, 86400)),
    "AUTH_CODE_LENGTH": ("django_convites.E035", _int_between(6, 10)),
    "AUTH_CODE_LIFETIME": ("django_convites.E036", _duration_between(60, 3600)),
    "AUTH_CODE_COOLDOWN": ("django_convites.E037", _int_between(0, 3600)),
    "AUTH_CODE_FAILURE_LIMIT": ("django_convites.E038", _int_between(1, 100)),
    "AUTH_CODE_LOCKOUT": ("django_convites.E039", _duration_between(60, 86400)),
    "AUTH_CODE_SENDER": ("django_convites.E040", _check_dotted_callable),
}


def user_settings() -> Mapping[str, Any]:
    """The site's ``DJANGO_CONVITES`` dict as written (``{}`` when unset)."""
    value = getattr(settings, SETTING_NAME, None)
    return value if isinstance(value, Mapping) else {}


@functools.cache
def _value(key: str) -> Any:
    value = user_settings().get(key, DEFAULTS[key])
    check_id, validate = VALIDATORS[key]
    problem = validate(value)
    if problem:
        raise ImproperlyConfigured(f"{SETTING_NAME}[{key!r}] {problem} ({check_id})")
    return value


@functools.cache
def _imported(key: str) -> Any:
    path = _value(key)
    return None if path is None else import_string(path)


class ConvitesSettings:
    """Typed access to every key; read at call time, never at import time."""

    @property
    def ROLE_RESOLVER(self) -> RoleResolver:
        return _imported("ROLE_RESOLVER")  # type: ignore[no-any-return]

    @property
    def ROLE_GROUPS(self) -> Mapping[str, str]:
        return _value("ROLE_GROUPS")  # type: ignore[no-any-return]

    @property
    def ORGANIZATION_RESOLVER(self) -> OrganizationResolver | None:
        return _imported("ORGANIZATION_RESOLVER")  # type: ignore[no-any-return]

    @property
    def ORGANIZATION_MEMBERS_RESOLVER(self) -> Callable[[frozenset[Any]], Any] | None:
        return _imported("ORGANIZATION_MEMBERS_RESOLVER")  # type: ignore[no-any-return]

    @property
    def TARGET_TYPES(self) -> Mapping[str, str]:
        return _value("TARGET_TYPES")  # type: ignore[no-any-return]

    @property
    def TRUSTED_PROXIES(self) -> int | list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
        return _trusted_proxies()

    @property
    def MAX_BODY_SIZE(self) -> int:
        return _value("MAX_BODY_SIZE")  # type: ignore[no-any-return]

    @property
    def MAX_JSON_DEPTH(self) -> int:
        return _value("MAX_JSON_DEPTH")  # type: ignore[no-any-return]

    @property
    def API_TOKEN_MAX_LIFETIME(self) -> datetime.timedelta | None:
        return None if _value("API_TOKEN_MAX_LIFETIME") is None else _duration("API_TOKEN_MAX_LIFETIME")

    @property
    def ORGANIZATION_MODEL(self) -> str | None:
        return _value("ORGANIZATION_MODEL")  # type: ignore[no-any-return]

    @property
    def NUCLEUS_MODEL(self) -> str | None:
        return _value("NUCLEUS_MODEL")  # type: ignore[no-any-return]

    @property
    def NUCLEUS_ORGANIZATION_FIELD(self) -> str:
        return _value("NUCLEUS_ORGANIZATION_FIELD")  # type: ignore[no-any-return]

    @property
    def INVITE_LIFETIME(self) -> datetime.timedelta:
        return _duration("INVITE_LIFETIME")

    @property
    def INVITE_MAX_LIFETIME(self) -> datetime.timedelta:
        return _duration("INVITE_MAX_LIFETIME")

    @property
    def INVITES_PER_DAY(self) -> int | None:
        return _value("INVITES_PER_DAY")  # type: ignore[no-any-return]

    @property
    def INVITE_VALIDATION_RATE(self) -> str | None:
        return _value("INVITE_VALIDATION_RATE")  # type: ignore[no-any-return]

    @property
    def JWT_ALGORITHM(self) -> str:
        return _value("JWT_ALGORITHM")  # type: ignore[no-any-return]

    @property
    def JWT_SIGNING_KEY(self) -> str | None:
        return _value("JWT_SIGNING_KEY")  # type: ignore[no-any-return]

    @property
    def JWT_VERIFYING_KEY(self) -> str | None:
        return _value("JWT_VERIFYING_KEY")  # type: ignore[no-any-return]

    @property
    def JWT_ISSUER(self) -> str:
        return _value("JWT_ISSUER")  # type: ignore[no-any-return]

    @property
    def JWT_AUDIENCE(self) -> str:
        return _value("JWT_AUDIENCE")  # type: ignore[no-any-return]

    @property
    def JWT_LEEWAY(self) -> int:
        return _value("JWT_LEEWAY")  # type: ignore[no-any-return]

    @property
    def ACCESS_TOKEN_LIFETIME(self) -> datetime.timedelta:
        return _duration("ACCESS_TOKEN_LIFETIME")

    @property
    def REFRESH_TOKEN_LIFETIME(self) -> datetime.timedelta:
        return _duration("REFRESH_TOKEN_LIFETIME")

    @property
    def SESSION_MAX_LIFETIME(self) -> datetime.timedelta:
        return _duration("SESSION_MAX_LIFETIME")

    @property
    def REFRESH_GRACE_PERIOD(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=_value("REFRESH_GRACE_PERIOD"))

    @property
    def LOGIN_RATE(self) -> str | None:
        return _value("LOGIN_RATE")  # type: ignore[no-any-return]

    @property
    def LOGIN_USERNAME_RATE(self) -> str | None:
        return _value("LOGIN_USERNAME_RATE")  # type: ignore[no-any-return]

    @property
    def TWO_FACTOR_RATE(self) -> str | None:
        return _value("TWO_FACTOR_RATE")  # type: ignore[no-any-return]

    @property
    def TWO_FACTOR_REQUIRED_ROLES(self) -> frozenset[str]:
        return frozenset(_value("TWO_FACTOR_REQUIRED_ROLES"))

    @property
    def TOTP_ENCRYPTION_KEYS(self) -> list[str | bytes]:
        return list(_value("TOTP_ENCRYPTION_KEYS"))

    @property
    def TOTP_FAILURE_LIMIT(self) -> int:
        return _value("TOTP_FAILURE_LIMIT")  # type: ignore[no-any-return]

    @property
    def TOTP_LOCKOUT(self) -> datetime.timedelta:
        return _duration("TOTP_LOCKOUT")

    @property
    def AUTH_CODE_LENGTH(self) -> int:
        return _value("AUTH_CODE_LENGTH")  # type: ignore[no-any-return]

    @property
    def AUTH_CODE_LIFETIME(self) -> datetime.timedelta:
        return _duration("AUTH_CODE_LIFETIME")

    @property
    def AUTH_CODE_COOLDOWN(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=_value("AUTH_CODE_COOLDOWN"))

    @property
    def AUTH_CODE_FAILURE_LIMIT(self) -> int:
        return _value("AUTH_CODE_FAILURE_LIMIT")  # type: ignore[no-any-return]

    @property
    def AUTH_CODE_LOCKOUT(self) -> datetime.timedelta:
        return _duration("AUTH_CODE_LOCKOUT")

    @property
    def AUTH_CODE_SENDER(self) -> Callable[..., str]:
        return _imported("AUTH_CODE_SENDER")  # type: ignore[no-any-return]


def _duration(key: str) -> datetime.timedelta:
    value = _value(key)
    return value if isinstance(value, datetime.timedelta) else datetime.timedelta(seconds=value)


@functools.cache
def _trusted_proxies() -> int | list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    value = _value("TRUSTED_PROXIES")
    if value is None or isinstance(value, int):
        return value
    return [ipaddress.ip_network(cidr, strict=False) for cidr in value]


#: The one settings object. Never rebound; its caches are cleared in place.
app_settings = ConvitesSettings()

_CACHES: list[Any] = [_value, _imported, _trusted_proxies]


def clear_caches() -> None:
    """Forget every cached value (called on ``setting_changed``)."""
    for cached in _CACHES:
        cached.cache_clear()


def register_cache(func: Any) -> Any:
    """Decorator for a ``functools.cache`` function derived from settings: cleared with the rest."""
    _CACHES.append(func)
    return func


@receiver(setting_changed)
def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in {SETTING_NAME, "SECRET_KEY", "AUTH_USER_MODEL"}:
        clear_caches()
