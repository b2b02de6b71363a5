"""The users and credentials a run starts from, written by ``python -m benchmarks.load seed`` into the run's
fresh database, and handed to locust as JSON (``world.json`` in the run's folder).

- ``issuers``: gestores (group ``gestor``) with a ``write`` API token; they create invites, each up to the
  daily quota.
- ``members``: ordinary users with a password (JWT logins and refreshes), a ``write`` API token (invite
  uses, the API-token reads), a DRF ``Token`` and a JWT access token of a session opened here (the
  side-by-side views; the run's ``ACCESS_TOKEN_LIFETIME`` is an hour).
- ``totp``: ordinary users with a confirmed TOTP device; the client computes their codes from the secret
  the enrolment showed (``start_totp``, then ``confirm_totp`` with a code, as ``/api/2fa/totp/`` does).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from typing import Any

PASSWORD_LENGTH = 24


def totp(secret_b32: str, step: int, digits: int = 6) -> str:
    """RFC 6238 TOTP (SHA-1, 30-second steps, django-otp's defaults) of the base32 ``secret_b32`` at ``step``."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // 30)


def build_world(*, issuers: int, members: int, totp_users: int) -> dict[str, Any]:
    """Create the users and their credentials; return the secrets the client needs."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from django_convites.services import api_tokens, sessions, two_factor

    user_model = get_user_model()
    gestor, _ = Group.objects.get_or_create(name="gestor")
    world: dict[str, Any] = {"issuers": [], "members": [], "totp": []}

    def make(username: str) -> tuple[Any, str]:
        password = secrets.token_urlsafe(PASSWORD_LENGTH)
        user = user_model.objects.create_user(username=username, email=f"{username}@load.example", password=password)
        return user, password

    for n in range(issuers):
        user, password = make(f"issuer{n:03d}")
        user.groups.add(gestor)
        token = api_tokens.create_api_token(user=user, scope="write", name="load").secret
        world["issuers"].append({"username": user.username, "password": password, "api_token": token})
    for n in range(members):
        user, password = make(f"member{n:03d}")
        token = api_tokens.create_api_token(user=user, scope="write", name="load").secret
        drf = Token.objects.create(user=user).key
        access = sessions.start_session(user).access
        world["members"].append(
            {"username": user.username, "password": password, "api_token": token, "drf_token": drf, "access": access}
        )
    for n in range(totp_users):
        user, password = make(f"totp{n:03d}")
        enrolment = two_factor.start_totp(user)
        step = current_step()
        two_factor.confirm_totp(user, totp(enrolment.secret, step))
        world["totp"].append(
            {"username": user.username, "password": password, "secret": enrolment.secret, "confirmed_step": step}
        )
    return world
