"""The objects the tests start from, made the way the app makes them, one definition each.

Users with a role, organizations and invites, API tokens, JWT logins, TOTP devices and their codes, backup
codes, clients authenticated one way or another, and the audit events a test reads back. Each factory goes
through the package's services unless told ``direct=True``: then it writes the row itself, for the tests
that must not depend on the policy, the quota or the audit of the service under test.

Nothing here depends on the order the tests run in: a name a test does not give is made unique.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, NamedTuple

import django
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from django_convites import tokens
from django_convites.conf import app_settings
from django_convites.models import ApiToken, AuditEvent, Invite
from django_convites.roles import Role, forget_role
from django_convites.services import api_tokens, backup_codes, invites, sessions, two_factor
from tests.hostapp.models import Nucleus, Organization

#: The password of every user made here.
PASSWORD = "x"
ROLES = tuple(role.value for role in Role)
LOGIN = "/api/auth/token/"
REFRESH = "/api/auth/token/refresh/"


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# -- users --------------------------------------------------------------------------------------------------


def make_user(username: str | None = None, *, role: str = "usuario", password: str = PASSWORD, **extra: Any) -> Any:
    """A user of the configured user model with ``role``, as the default resolver reads roles: root is a
    superuser; admin and gestor are in the group ``ROLE_GROUPS`` names for the role; usuario is in neither.
    ``extra`` goes to ``create_user`` (``email=...``). Without ``username``, a unique one."""
    role = Role(role).value
    manager = get_user_model()._default_manager
    username = username or unique_name(role)
    create = manager.create_superuser if role == "root" else manager.create_user
    user = create(username=username, password=password, **extra)
    if role in app_settings.ROLE_GROUPS:
        user.groups.add(Group.objects.get_or_create(name=app_settings.ROLE_GROUPS[role])[0])
    forget_role(user)
    return user


def users_by_role() -> dict[str, Any]:
    """One user per role, named after it."""
    return {role: make_user(role, role=role) for role in ROLES}


# -- organizations and invites ------------------------------------------------------------------------------


def make_org(name: str = "Org", nuclei: int = 2) -> tuple[Organization, list[Nucleus]]:
    """An organization of the host app with ``nuclei`` nuclei."""
    organization = Organization.objects.create(name=name)
    return organization, [Nucleus.objects.create(name=f"{name} {n}", organization=organization) for n in range(nuclei)]


def issue(actor: Any, target_type: str = "associado", *, direct: bool = False, **extra: Any) -> invites.IssuedInvite:
    """An open invite issued by ``actor``: through :func:`~django_convites.services.invites.issue_invite`
    (``extra`` are its keywords), or with ``direct`` the row alone, valid one day (``organization``, an id,
    and ``expires_at`` are the keywords then)."""
    if not direct:
        return invites.issue_invite(actor=actor, target_type=target_type, **extra)
    return _written_invite(actor, target_type, **extra)


def _written_invite(
    actor: Any, target_type: str, *, organization: Any = None, expires_at: Any = None
) -> invites.IssuedInvite:
    code = tokens.generate(tokens.Kind.INVITE)
    now = timezone.now()
    invite = Invite.objects.create(
        code_digest=tokens.digest(code),
        target_type=target_type,
        organization_ref="" if organization is None else str(organization),
        issued_by=actor,
        created_at=now,
        expires_at=expires_at or now + timedelta(days=1),
    )
    return invites.IssuedInvite(invite=invite, code=code, remaining=None)


def expire(invite: Invite) -> None:
    """Move an invite's clock back so it has expired (the service never writes ``expirado``)."""
    past = timezone.now() - timedelta(days=10)
    Invite.objects.filter(pk=invite.pk).update(created_at=past, expires_at=past + timedelta(days=1))


# -- API tokens ---------------------------------------------------------------------------------------------


class MadeApiToken(NamedTuple):
    """The row and the secret, shown once by the app. Unpacks as ``token, secret``."""

    token: ApiToken
    secret: str


def make_api_token(user: Any, scope: str = "read", *, direct: bool = False, **extra: Any) -> MadeApiToken:
    """An API token of ``user``: through :func:`~django_convites.services.api_tokens.create_api_token`
    (``extra`` are its keywords: ``name``, ``expires_at``, ``allowed_ips``...), or with ``direct`` the row
    alone, whatever the scope and the dates (``extra`` are fields of the row: ``created_at``...)."""
    if not direct:
        created = api_tokens.create_api_token(user=user, scope=scope, **extra)
        return MadeApiToken(created.token, created.secret)
    secret = tokens.generate(tokens.Kind.API_TOKEN)
    token = ApiToken.objects.create(
        user=user,
        scope=scope,
        digest=tokens.digest(secret),
        prefix=tokens.display_prefix(secret),
        created_at=extra.pop("created_at", timezone.now()),
        **extra,
    )
    return MadeApiToken(token, secret)


# -- JWT logins ---------------------------------------------------------------------------------------------


def jwt_login(user: Any, *, password: str = PASSWORD, otp: object = None) -> sessions.TokenPair:
    """A JWT session of ``user`` (a user or a username) through :func:`~django_convites.services.sessions.login`."""
    username = user if isinstance(user, str) else user.get_username()
    return sessions.login(username=username, password=password, otp=otp)


def post_login(
    client: APIClient,
    username: str = "usuario",
    password: str = PASSWORD,
    *,
    headers: Mapping[str, str] | None = None,
    **fields: Any,
) -> Any:
    """``POST /api/auth/token/`` with ``username``, ``password`` and ``fields`` (``otp=...``) in the body, and
    ``headers`` (``REMOTE_ADDR``, ``HTTP_USER_AGENT``...) on the request: the answer, whatever it is."""
    body = {"username": username, "password": password, **fields}
    return client.post(LOGIN, body, format="json", **(headers or {}))


def login_pair(client: APIClient, username: str = "usuario", *, headers: Mapping[str, str] | None = None) -> Any:
    """The JSON pair of a login through the API, which must succeed."""
    response = post_login(client, username, headers=headers)
    assert response.status_code == 200, response.content
    return response.json()


def post_refresh(client: APIClient, secret: str) -> Any:
    """``POST /api/auth/token/refresh/`` with the refresh token ``secret``: the answer, whatever it is."""
    return client.post(REFRESH, {"refresh": secret}, format="json")


# -- two factors --------------------------------------------------------------------------------------------


class MadeTotp(NamedTuple):
    """A TOTP device and its seed in base32, as an enrolment shows it."""

    device: TOTPDevice
    secret: str


def confirmed_totp(user: Any, *, name: str = "", enrol: bool = False, at: float | None = None) -> MadeTotp:
    """A confirmed TOTP device of ``user``, the row alone (no event, nothing ended); or with ``enrol`` made
    and confirmed through the two-factor service, with the code of the moment ``at`` (now by default), as
    a user does it: the seed is sealed when ``TOTP_ENCRYPTION_KEYS`` is set, and the user's other sessions
    end. The answer of :func:`~django_convites.services.two_factor.has_device` cached on ``user`` is dropped."""
    if enrol:
        enrolment = two_factor.start_totp(user)
        activation = two_factor.confirm_totp(user, totp_code(enrolment.secret, at))
        return MadeTotp(activation.device, enrolment.secret)
    device = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
    two_factor.forget_device(user)
    return MadeTotp(device, base64.b32encode(device.bin_key).decode().rstrip("="))


def totp_code(key: TOTPDevice | str, at: float | None = None, *, unspent: bool = False) -> str:
    """The code of a TOTP device, or of a base32 seed (a 30-second step, six digits), at the moment ``at``
    (now by default). ``unspent`` (a device only) first forgets the last step the device accepted, so the
    code of a step a test spent already is accepted again."""
    if isinstance(key, str):
        generator = TOTP(base64.b32decode(key + "=" * (-len(key) % 8)), 30, 0, 6, 0)
    else:
        if unspent:
            TOTPDevice.objects.filter(pk=key.pk).update(last_t=-1)
        generator = TOTP(key.bin_key, key.step, key.t0, key.digits, key.drift)
    if at is not None:
        generator.time = at
    return f"{generator.token():0{generator.digits}d}"


def make_backup_codes(user: Any) -> list[str]:
    """A new set of backup codes of ``user`` through the service (replacing any earlier one): the plain codes."""
    return backup_codes.generate(user)


def wrong_code(code: str) -> str:
    """A code of the same length as ``code`` and not ``code``."""
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


# -- authenticated clients ----------------------------------------------------------------------------------


def api_as(user: Any, *, client: APIClient | None = None) -> APIClient:
    """An API client (``client``, or a new one) that DRF takes for ``user``, without any credential."""
    client = APIClient() if client is None else client
    client.force_authenticate(user)
    return client


def browser_as(user: Any, *, client: Client | None = None, **defaults: Any) -> Client:
    """A test client (``client``, or a new one with ``defaults``) with a Django session of ``user``, logged
    in with the password alone (no second step)."""
    client = Client(**defaults) if client is None else client
    client.force_login(user)
    return client


def bearer_header(secret: str) -> dict[str, str]:
    """The header of a request carrying ``secret`` (a JWT access token or an API token)."""
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def bearer(secret: str, *, client: APIClient | None = None, **defaults: Any) -> APIClient:
    """An API client (``client``, or a new one with ``defaults``) sending ``secret`` on every request."""
    client = APIClient(**defaults) if client is None else client
    client.credentials(**bearer_header(secret))
    return client


# -- what the app wrote -------------------------------------------------------------------------------------


def events(name: str, *, newest_first: bool = False) -> list[AuditEvent]:
    """The audit events called ``name``, oldest first (or in the model's order, newest first)."""
    found = AuditEvent.objects.filter(event=name)
    return list(found if newest_first else found.order_by("id"))


def mail_backend(dotted: str) -> override_settings:
    """Settings that send the site's mail through the backend class ``dotted``: ``MAILERS`` on Django 6.1
    and later (which deprecates ``EMAIL_BACKEND``), ``EMAIL_BACKEND`` before. A decorator or a context."""
    if django.VERSION >= (6, 1):
        return override_settings(MAILERS={"default": {"BACKEND": dotted}})
    return override_settings(EMAIL_BACKEND=dotted)


class RefusingMailBackend(BaseEmailBackend):
    """A mail server that is down: every send raises, as smtplib does when nothing listens."""

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("no mail server here")


def mail_server_down() -> override_settings:
    """Settings whose mail server is down (a decorator or a context)."""
    return mail_backend("tests.factories.RefusingMailBackend")
