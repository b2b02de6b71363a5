"""The app's settings: one ``DJANGO_CONVITES`` dict, read through :data:`app_settings`.

Each key is declared once, as a :class:`Setting` on :class:`ConvitesSettings`: its default, the id of the
system check that validates it, the validator and the conversion to the typed value code reads.
:data:`DEFAULTS`, :data:`VALIDATORS` and the settings checks (:mod:`django_convites.checks`) are derived from
those declarations. A key the site sets replaces the default whole (maps are not merged). Every duration
is a number of seconds or a ``timedelta``. ``manage.py check`` reports a bad value, and reading one at run
time raises ``ImproperlyConfigured`` with the same message and check id. A value read once is kept on
:data:`app_settings` itself and forgotten on ``setting_changed``, so ``override_settings`` works in tests.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from django_convites import signals

T = TypeVar("T")

SETTING_NAME = "DJANGO_CONVITES"

#: The four roles, highest first: the wire names of :class:`~django_convites.roles.Role`.
ROLE_NAMES = ("root", "admin", "gestor", "usuario")

#: ``ROLE_RESOLVER``: a user -> their role, a :class:`~django_convites.roles.Role` or one of :data:`ROLE_NAMES`.
RoleResolver = Callable[[Any], str]
#: ``ORGANIZATION_RESOLVER``: a user -> the ids of the organizations they manage, or None (not confined).
OrganizationResolver = Callable[[Any], "Iterable[Any] | None"]

# -- validators: each returns None when the value is good, else a message in the user's words ---------


_BASE_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def _check_base_url(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _BASE_URL.fullmatch(value):
        return "must be None or a scheme and host such as 'https://www.example.com', with no path."
    return None


#: What ``resolve_url`` turns into a URL: a URL pattern's name (``"home"``, ``"accounts:signup"``), a path
#: on this site (``"/welcome/"``) or an absolute ``http(s)`` URL; no whitespace, no ``//host`` form.
_URL_NAME = re.compile(r"[A-Za-z_][\w-]*(:[A-Za-z_][\w-]*)*")
_URL_PATH = re.compile(r"/(?!/)[^\s\\]*|https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[^\s\\]*)?")


def _check_url_or_name(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not (_URL_NAME.fullmatch(value) or _URL_PATH.fullmatch(value)):
        return "must be None, a URL pattern name such as 'home', or a path such as '/welcome/'."
    return None


def _check_dotted_path(value: Any, what: str, fits: Callable[[Any], bool]) -> str | None:
    """None when ``value`` is a dotted path to an object that ``fits``; else why not (``what`` it must be)."""
    if not isinstance(value, str):
        return f"must be a dotted path string to {what}, not {type(value).__name__}."
    try:
        obj = import_string(value)
    except ImportError as exc:
        return f"cannot import {value!r} ({exc})."
    if not fits(obj):
        return f"{value!r} is not {what}."
    return None


def _check_dotted_callable(value: Any, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    return _check_dotted_path(value, "a callable", callable)


def _check_form_class(value: Any) -> str | None:
    from django.forms import BaseForm

    return _check_dotted_path(
        value, "a Django form class", lambda obj: isinstance(obj, type) and issubclass(obj, BaseForm)
    )


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
_PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(value: object) -> tuple[int, int]:
    """A rate setting (``"60/minute"``) as ``(count, period in seconds)``: ``(60, 60)``. The grammar is
    DRF's, stricter: a count of at least 1, ``/``, then ``s``, ``sec``, ``second``, ``m``, ``min``,
    ``minute``, ``h``, ``hour``, ``d`` or ``day``. :class:`ValueError` for anything else."""
    match = _RATE.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match[1]) < 1:
        raise ValueError(f"{value!r} is not a rate such as '60/minute'")
    return int(match[1]), _PERIOD_SECONDS[match[2][0]]


def _check_rate(value: Any) -> str | None:
    if value is None:
        return None
    try:
        parse_rate(value)
    except ValueError:
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


def _check_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be True or False."


#: The longest ``TOTP_ISSUER`` accepted (authenticator apps show it beside each code).
TOTP_ISSUER_MAX_LENGTH = 100


def _check_issuer(value: Any) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > TOTP_ISSUER_MAX_LENGTH
        or ":" in value
        or not value.isprintable()
    ):
        return (
            f"must be None or a name of at most {TOTP_ISSUER_MAX_LENGTH} printable characters without a colon "
            "(the colon separates the issuer from the account in an otpauth:// URI), such as 'Example Inc.'."
        )
    return None


#: The longest webhook URL accepted (the outbox keeps it with each delivery).
WEBHOOK_URL_MAX_LENGTH = 2000
#: The shortest webhook secret accepted, in characters.
WEBHOOK_SECRET_MIN_LENGTH = 16


@dataclass(frozen=True)
class WebhookEndpoint:
    """One item of ``WEBHOOKS``: where events go, the secrets that sign them (the first is the current one;
    a second, while receivers move to a new secret) and the events it wants (None: every event)."""

    url: str
    secrets: tuple[str, ...]
    events: frozenset[str] | None = None

    def wants(self, event: str) -> bool:
        return self.events is None or event in self.events


def _check_webhook_url(url: Any) -> str | None:
    if not isinstance(url, str) or not url or len(url) > WEBHOOK_URL_MAX_LENGTH:
        return f"needs a 'url': a string of at most {WEBHOOK_URL_MAX_LENGTH} characters."
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        return f"has the URL {url!r}, which is not a valid URL."
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return f"has the URL {url!r}: it must start with https:// (or http://) and name a host."
    if parts.username is not None or parts.password is not None:
        return "has a URL with a user name or password in it: authenticate the receiver with the secret instead."
    if parts.fragment or any(char.isspace() or ord(char) < 32 for char in url):
        return f"has the URL {url!r}, with a fragment or white space in it."
    return None


def _check_webhook_secrets(secret: Any) -> str | None:
    secrets_ = [secret] if isinstance(secret, str) else secret
    if (
        not isinstance(secrets_, (list, tuple))
        or not 1 <= len(secrets_) <= 2
        or not all(isinstance(item, str) and len(item) >= WEBHOOK_SECRET_MIN_LENGTH for item in secrets_)
    ):
        return (
            f"needs a 'secret' of at least {WEBHOOK_SECRET_MIN_LENGTH} characters, or a list of two such "
            "secrets while the receiver moves from one to the other."
        )
    if len(set(secrets_)) != len(secrets_):
        return "lists the same secret twice."
    return None


def _check_webhook_events(events: Any) -> str | None:
    if events is None:
        return None
    if isinstance(events, str) or not isinstance(events, (list, tuple, set, frozenset)) or not events:
        return "has 'eventos' that is not a non-empty list of event names (leave it out for every event)."
    unknown = sorted(str(name) for name in events if name not in signals.REGISTRY or name in NEVER_SENT_TO_WEBHOOKS)
    if unknown:
        return f"lists {unknown[0]!r} in 'eventos', which is no event a webhook receives (see the event catalogue)."
    return None


def _check_webhooks(value: Any) -> str | None:
    if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)):
        return "must be a list of endpoints, each a dict with 'url', 'secret' and optionally 'eventos'."
    seen: set[str] = set()
    for position, endpoint in enumerate(value):
        if not isinstance(endpoint, Mapping):
            return f"item {position} must be a dict with 'url', 'secret' and optionally 'eventos'."
        unknown = sorted(str(key) for key in endpoint if key not in {"url", "secret", "eventos"})
        if unknown:
            return f"item {position} has the unknown key {unknown[0]!r}; use 'url', 'secret' and 'eventos'."
        for problem in (
            _check_webhook_url(endpoint.get("url")),
            _check_webhook_secrets(endpoint.get("secret")),
            _check_webhook_events(endpoint.get("eventos")),
        ):
            if problem:
                return f"item {position} {problem}"
        if endpoint["url"] in seen:
            return f"item {position} repeats the URL {endpoint['url']!r}: one endpoint per URL."
        seen.add(endpoint["url"])
    return None


#: Events that never go to a webhook: a dead letter must not become a delivery of its own.
NEVER_SENT_TO_WEBHOOKS = frozenset({"webhook_falhou"})


def _duration_between(low: int, high: int, *, whole: bool = False) -> Callable[[Any], str | None]:
    seconds_of = "a whole number of seconds" if whole else "a number of seconds"

    def check(value: Any) -> str | None:
        seconds = value.total_seconds() if isinstance(value, datetime.timedelta) else value
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, (int, float))
            or not low <= seconds <= high
            or (whole and seconds != int(seconds))
        ):
            return f"must be {seconds_of} (or a timedelta) from {low} to {high}."
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


# -- conversions: from a valid value as written to the typed value code reads ----------------------------


def _as_written(value: Any) -> Any:
    return value


def _imported(path: str | None) -> Any:
    return None if path is None else import_string(path)


def _timedelta(value: float | datetime.timedelta) -> datetime.timedelta:
    return value if isinstance(value, datetime.timedelta) else datetime.timedelta(seconds=value)


def _optional_timedelta(value: float | datetime.timedelta | None) -> datetime.timedelta | None:
    return None if value is None else _timedelta(value)


def _whole_seconds(value: float | datetime.timedelta) -> int:
    return int(value.total_seconds() if isinstance(value, datetime.timedelta) else value)


def _networks(value: Any) -> int | list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    if value is None or isinstance(value, int):
        return value
    return [ipaddress.ip_network(cidr, strict=False) for cidr in value]


def _webhook_endpoints(value: Any) -> tuple[WebhookEndpoint, ...]:
    return tuple(
        WebhookEndpoint(
            url=item["url"],
            secrets=(item["secret"],) if isinstance(item["secret"], str) else tuple(item["secret"]),
            events=None if item.get("eventos") is None else frozenset(item["eventos"]),
        )
        for item in value
    )


# -- declarations ---------------------------------------------------------------------------------------


class Setting(Generic[T]):
    """One key of ``DJANGO_CONVITES``: its default, its system check, its validator and its conversion.

    A class attribute of :class:`ConvitesSettings`, named after the key. Read on :data:`app_settings`, it
    validates the site's value (or the default), converts it to ``T`` and keeps the result in the object's
    ``__dict__``, where later reads find it with no call at all; :func:`clear_caches` forgets it. A bad value
    raises ``ImproperlyConfigured`` with the check's message and id, on every read.

    ``security`` says whether a bad value weakens a protection of the app (authentication, limits,
    confinement); the check of such a key is tagged ``security``.
    """

    key: str

    def __init__(
        self,
        default: Any,
        check_id: str,
        validate: Callable[[Any], str | None],
        convert: Callable[[Any], T] = _as_written,
        *,
        security: bool = True,
    ) -> None:
        self.default = default
        self.check_id = check_id
        self.validate = validate
        self.convert = convert
        self.security = security

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.key = name

    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None) -> Setting[T]: ...

    @overload
    def __get__(self, instance: ConvitesSettings, owner: type[Any] | None = None) -> T: ...

    def __get__(self, instance: ConvitesSettings | None, owner: type[Any] | None = None) -> Setting[T] | T:
        if instance is None:
            return self
        value = self.convert(self.validated())
        instance.__dict__[self.key] = value  # found there from now on, before this descriptor
        return value

    def validated(self) -> Any:
        """The site's value as written (or the default); ``ImproperlyConfigured`` if it is bad."""
        value = user_settings().get(self.key, self.default)
        problem = self.validate(value)
        if problem:
            raise ImproperlyConfigured(f"{SETTING_NAME}[{self.key!r}] {problem} ({self.check_id})")
        return value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key} default={self.default!r} check={self.check_id}>"


class Duration(Setting[T]):
    """A length of time: a number of seconds or a ``timedelta``, from ``low`` to ``high`` seconds."""

    def __init__(
        self,
        default: float | None,
        check_id: str,
        low: int,
        high: int,
        convert: Callable[[Any], T],
        *,
        optional: bool = False,
        whole: bool = False,
        security: bool = True,
    ) -> None:
        validate = _duration_between(low, high, whole=whole)
        super().__init__(default, check_id, _optional(validate) if optional else validate, convert, security=security)
        self.low = low
        self.high = high


_optional_callable = functools.partial(_check_dotted_callable, optional=True)

_DAY = 86400


class ConvitesSettings:
    """Typed access to every key; read at call time, never at import time.

    Each class attribute declares one key (:class:`Setting`). The one instance, :data:`app_settings`, is
    read-only and never rebound.
    """

    #: Dotted path to a callable ``(user) -> Role`` (:data:`RoleResolver`).
    ROLE_RESOLVER: Setting[RoleResolver] = Setting(
        "django_convites.roles.resolve_role_from_groups", "django_convites.E003", _check_dotted_callable, _imported
    )
    #: Group names the default resolver reads, by role.
    ROLE_GROUPS: Setting[Mapping[str, str]] = Setting(
        {"admin": "admin", "gestor": "gestor"}, "django_convites.E004", _check_role_groups
    )
    #: Dotted path to a callable ``(user) -> iterable of organization ids | None``; None = no confinement.
    ORGANIZATION_RESOLVER: Setting[OrganizationResolver | None] = Setting(
        None, "django_convites.E005", _optional_callable, _imported
    )
    #: Dotted path to a callable ``(frozenset of organization ids) -> user ids (iterable or queryset)``: the
    #: members of those organizations, whose objects a confined admin or gestor may reach; None = none.
    ORGANIZATION_MEMBERS_RESOLVER: Setting[Callable[[frozenset[Any]], Any] | None] = Setting(
        None, "django_convites.E045", _optional_callable, _imported
    )
    #: Invite target type -> role it grants.
    TARGET_TYPES: Setting[Mapping[str, str]] = Setting(
        {
            "associado": "usuario",
            "nucleado": "usuario",
            "convidado": "usuario",
            "coordenador": "gestor",
            "admin": "admin",
        },
        "django_convites.E006",
        _check_target_types,
    )
    #: None: REMOTE_ADDR is the client. An int: that many proxies in front of Django. A list of CIDRs: the
    #: proxies' networks. With either, X-Forwarded-For is read right to left.
    TRUSTED_PROXIES: Setting[int | list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None] = Setting(
        None, "django_convites.E007", _check_trusted_proxies, _networks
    )
    #: Largest JSON body the API parses, in bytes; larger gets 413 ``request_too_large``.
    MAX_BODY_SIZE: Setting[int] = Setting(64 * 1024, "django_convites.E008", _int_between(1024, 64 * 1024 * 1024))
    #: Deepest nesting of arrays and objects the API parses; deeper gets 400 ``parse_error``.
    MAX_JSON_DEPTH: Setting[int] = Setting(32, "django_convites.E009", _int_between(2, 512))
    #: The longest an API token may live; a token created without ``expira_em`` expires after it. None:
    #: tokens may never expire.
    API_TOKEN_MAX_LIFETIME: Setting[datetime.timedelta | None] = Duration(
        365 * _DAY, "django_convites.E044", 60, 10 * 366 * _DAY, _optional_timedelta, optional=True
    )
    #: The host's organization model as "app_label.ModelName"; None: invites carry no organization.
    ORGANIZATION_MODEL: Setting[str | None] = Setting(None, "django_convites.E011", _check_model_label, security=False)
    #: The host's nucleus model as "app_label.ModelName"; None: invites carry no nuclei.
    NUCLEUS_MODEL: Setting[str | None] = Setting(None, "django_convites.E012", _check_model_label, security=False)
    #: The nucleus model's foreign key to the organization model.
    NUCLEUS_ORGANIZATION_FIELD: Setting[str] = Setting(
        "organization", "django_convites.E013", _check_field_name, security=False
    )
    #: Lifetime of an invite when the issuer names no ``data_expiracao``.
    INVITE_LIFETIME: Setting[datetime.timedelta] = Duration(
        7 * _DAY, "django_convites.E014", 60, 366 * _DAY, _timedelta
    )
    #: The longest lifetime an issuer may ask for.
    INVITE_MAX_LIFETIME: Setting[datetime.timedelta] = Duration(
        30 * _DAY, "django_convites.E015", 60, 366 * _DAY, _timedelta
    )
    #: Invites one issuer may create per calendar day in TIME_ZONE; root is exempt; None: no quota.
    INVITES_PER_DAY: Setting[int | None] = Setting(5, "django_convites.E016", _check_optional_count)
    #: DRF rate of invite validations per client IP ("60/minute"); None: not throttled.
    INVITE_VALIDATION_RATE: Setting[str | None] = Setting("60/minute", "django_convites.E017", _check_rate)
    #: DRF rate of resends of invites (``POST /api/tokens/<ref>/reenviar/``) per user; None: not throttled.
    INVITE_RESEND_RATE: Setting[str | None] = Setting("10/hour", "django_convites.E049", _check_rate)
    #: The one algorithm access tokens are signed and checked with.
    JWT_ALGORITHM: Setting[str] = Setting("HS256", "django_convites.E020", _check_algorithm)
    #: HS*: the secret (None: derived from SECRET_KEY); RS*/ES*: the private key, PEM.
    JWT_SIGNING_KEY: Setting[str | None] = Setting(None, "django_convites.E021", _check_optional_key)
    #: RS*/ES*: the public key, PEM. HS*: None.
    JWT_VERIFYING_KEY: Setting[str | None] = Setting(None, "django_convites.E022", _check_optional_key)
    #: The ``iss`` claim access tokens carry and must carry.
    JWT_ISSUER: Setting[str] = Setting("django-convites", "django_convites.E023", _check_claim)
    #: The ``aud`` claim access tokens carry and must carry.
    JWT_AUDIENCE: Setting[str] = Setting("django-convites", "django_convites.E024", _check_claim)
    #: Clock skew tolerated on ``exp``, ``nbf`` and ``iat``, read as whole seconds (the claims' unit).
    JWT_LEEWAY: Setting[int] = Duration(0, "django_convites.E025", 0, 300, _whole_seconds, whole=True)
    #: Lifetime of an access token.
    ACCESS_TOKEN_LIFETIME: Setting[datetime.timedelta] = Duration(300, "django_convites.E026", 30, _DAY, _timedelta)
    #: Lifetime of a refresh token; each refresh starts a new one.
    REFRESH_TOKEN_LIFETIME: Setting[datetime.timedelta] = Duration(
        _DAY, "django_convites.E027", 60, 366 * _DAY, _timedelta
    )
    #: Absolute lifetime of a session (a login): refreshing never goes past it.
    SESSION_MAX_LIFETIME: Setting[datetime.timedelta] = Duration(
        30 * _DAY, "django_convites.E041", 3600, 366 * _DAY, _timedelta
    )
    #: How long the refresh token just replaced may be presented once more; 0: strict.
    REFRESH_GRACE_PERIOD: Setting[datetime.timedelta] = Duration(0, "django_convites.E028", 0, 300, _timedelta)
    #: DRF rate of login attempts per client IP; None: not throttled.
    LOGIN_RATE: Setting[str | None] = Setting("20/minute", "django_convites.E029", _check_rate)
    #: DRF rate of login attempts per username; None: not throttled.
    LOGIN_USERNAME_RATE: Setting[str | None] = Setting("10/minute", "django_convites.E030", _check_rate)
    #: DRF rate of two-factor code checks (confirm, disable) per user; None: not throttled.
    TWO_FACTOR_RATE: Setting[str | None] = Setting("10/minute", "django_convites.E032", _check_rate)
    #: Roles that must use two-factor authentication: their session users are sent to enrol, and the API
    #: refuses their requests until a second factor is proved (403 ``two_factor_required``).
    TWO_FACTOR_REQUIRED_ROLES: Setting[frozenset[str]] = Setting([], "django_convites.E033", _check_roles, frozenset)
    #: Fernet keys (urlsafe base64 of 32 bytes) that encrypt TOTP seeds at rest; the first encrypts, every
    #: key decrypts. Empty: seeds are stored as django-otp stores them.
    TOTP_ENCRYPTION_KEYS: Setting[list[str | bytes]] = Setting([], "django_convites.E034", _check_fernet_keys, list)
    #: Consecutive wrong two-factor codes (TOTP or backup) after which every code is refused for
    #: TOTP_LOCKOUT (NIST SP 800-63B: at most 100).
    TOTP_FAILURE_LIMIT: Setting[int] = Setting(10, "django_convites.E042", _int_between(1, 100))
    #: How long that lockout lasts.
    TOTP_LOCKOUT: Setting[datetime.timedelta] = Duration(900, "django_convites.E043", 60, _DAY, _timedelta)
    #: The name authenticator apps show beside the user's codes: the ``issuer`` of the ``otpauth://`` URI
    #: and the prefix of its label. None: the name of the current ``Site`` when ``django.contrib.sites`` is
    #: installed, else the host name of the request that enrols (docs/two-factor.rst).
    TOTP_ISSUER: Setting[str | None] = Setting(None, "django_convites.E058", _check_issuer, security=False)
    #: Digits of an authentication code.
    AUTH_CODE_LENGTH: Setting[int] = Setting(6, "django_convites.E035", _int_between(6, 10))
    #: Lifetime of an authentication code.
    AUTH_CODE_LIFETIME: Setting[datetime.timedelta] = Duration(600, "django_convites.E036", 60, 3600, _timedelta)
    #: How long a user waits between two codes.
    AUTH_CODE_COOLDOWN: Setting[datetime.timedelta] = Duration(60, "django_convites.E037", 0, 3600, _timedelta)
    #: Consecutive wrong codes, across codes, after which the user gets no new code for AUTH_CODE_LOCKOUT.
    AUTH_CODE_FAILURE_LIMIT: Setting[int] = Setting(20, "django_convites.E038", _int_between(1, 100))
    #: How long that lockout lasts.
    AUTH_CODE_LOCKOUT: Setting[datetime.timedelta] = Duration(900, "django_convites.E039", 60, _DAY, _timedelta)
    #: Dotted path to a callable ``(user, code, purpose) -> channel name`` that delivers a code.
    AUTH_CODE_SENDER: Setting[Callable[..., str]] = Setting(
        "django_convites.senders.send_by_email",
        "django_convites.E040",
        _check_dotted_callable,
        _imported,
        security=False,
    )
    #: Dotted path to a callable ``(invite, code, link) -> channel name`` that delivers an invite bound to an
    #: e-mail address: it runs when such an invite is created and when it is sent again.
    INVITE_SENDER: Setting[Callable[..., str]] = Setting(
        "django_convites.senders.send_invite_by_email",
        "django_convites.E047",
        _check_dotted_callable,
        _imported,
        security=False,
    )
    #: ``https://host`` (or ``http://host:port``) that invite links start with; None: the request's own.
    INVITE_LINK_BASE_URL: Setting[str | None] = Setting(None, "django_convites.E048", _check_base_url)
    #: Dotted path to the Django form class that creates the account of a sign-up with an invite: it takes
    #: the request's fields, has an ``email`` field, and ``save()`` returns the new user.
    SIGNUP_FORM: Setting[type[Any]] = Setting(
        "django_convites.forms.InviteSignUpForm", "django_convites.E046", _check_form_class, _imported
    )
    #: Where the accept page's sign-up sends the new, logged-in user: a URL pattern name or a path
    #: (``resolve_url``); None: ``LOGIN_REDIRECT_URL``.
    SIGNUP_REDIRECT_URL: Setting[str | None] = Setting(None, "django_convites.E050", _check_url_or_name)
    #: The site's own sign-up page (a URL pattern name or a path), which the accept page links to instead of
    #: showing its own form; the invite's code stays in the session for it. None: the accept page's form.
    SIGNUP_URL: Setting[str | None] = Setting(None, "django_convites.E051", _check_url_or_name)

    #: Where audit events are sent as signed JSON (docs/webhooks.rst): a list of ``{"url", "secret",
    #: "eventos"}``; ``secret`` may be a list of two while receivers move to a new one; ``eventos`` (optional)
    #: the event names the endpoint wants. Empty: no webhooks, and no outbox rows are written.
    WEBHOOKS: Setting[tuple[WebhookEndpoint, ...]] = Setting(
        [], "django_convites.E052", _check_webhooks, _webhook_endpoints
    )
    #: Whether webhook URLs may lead to loopback, private, link-local or other non-public addresses. Off, a
    #: webhook URL can never be turned into a request to the site's own network.
    WEBHOOK_ALLOW_PRIVATE_URLS: Setting[bool] = Setting(False, "django_convites.E053", _check_bool)
    #: How long one webhook request may take, from connecting to the status line.
    WEBHOOK_TIMEOUT: Setting[datetime.timedelta] = Duration(
        5, "django_convites.E054", 1, 60, _timedelta, security=False
    )
    #: Attempts to deliver one event before it is given up as dead (``webhook_falhou``).
    WEBHOOK_MAX_ATTEMPTS: Setting[int] = Setting(10, "django_convites.E055", _int_between(1, 50), security=False)
    #: The wait before the first retry of a failed delivery; it doubles with each attempt (at most a day),
    #: and each wait is drawn at random between half of it and all of it.
    WEBHOOK_RETRY_DELAY: Setting[datetime.timedelta] = Duration(
        30, "django_convites.E056", 1, 3600, _timedelta, security=False
    )
    #: Days the audit log keeps events; ``convites_purge_audit`` deletes older ones. None: kept until purged
    #: with ``--days``.
    AUDIT_RETENTION_DAYS: Setting[int | None] = Setting(
        None, "django_convites.E057", _optional(_int_between(1, 36500)), security=False
    )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"app_settings is read-only: change {SETTING_NAME} (override_settings in tests).")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"app_settings is read-only: change {SETTING_NAME} (override_settings in tests).")


#: Key -> its declaration, in the order of :class:`ConvitesSettings`.
DECLARATIONS: Mapping[str, Setting[Any]] = {
    key: value for key, value in vars(ConvitesSettings).items() if isinstance(value, Setting)
}

#: Every key and its default, derived from :data:`DECLARATIONS`.
DEFAULTS: dict[str, Any] = {key: setting.default for key, setting in DECLARATIONS.items()}

#: Setting key -> (system check id, validator), derived from :data:`DECLARATIONS`.
VALIDATORS: dict[str, tuple[str, Callable[[Any], str | None]]] = {
    key: (setting.check_id, setting.validate) for key, setting in DECLARATIONS.items()
}


def user_settings() -> Mapping[str, Any]:
    """The site's ``DJANGO_CONVITES`` dict as written (``{}`` when unset)."""
    value = getattr(settings, SETTING_NAME, None)
    return value if isinstance(value, Mapping) else {}


#: The one settings object. Never rebound; the values it keeps are forgotten in place.
app_settings = ConvitesSettings()

_CACHES: list[Any] = []


def clear_caches() -> None:
    """Forget every value read and every cached value derived from one (called on ``setting_changed``)."""
    vars(app_settings).clear()
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
