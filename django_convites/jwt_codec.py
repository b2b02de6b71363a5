"""JWT access tokens (docs/sessions.rst): short-lived, signed with one pinned algorithm, checked strictly.

An access token carries ``iss``, ``aud``, ``sub`` (the user's primary key), ``iat``, ``nbf``, ``exp``,
``jti``, ``sid`` (its session family) and ``typ: "access"``. :func:`decode` accepts only the configured
algorithm (so ``alg: none`` and HS/RS key confusion fail), checks issuer, audience, times (with
``JWT_LEEWAY``) and type, and needs no database: a bad token is refused with zero queries. Whether the
family is still live is checked by the one query that loads the user
(:func:`django_convites.services.sessions.authenticate_access_token`).
"""

from __future__ import annotations

import datetime
import functools
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from django.core.exceptions import ImproperlyConfigured

from django_convites import tokens
from django_convites.conf import app_settings, register_cache
from django_convites.exceptions import InvalidToken, TokenExpired

ACCESS_TYPE = "access"
#: Claims every access token must carry.
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "exp", "jti", "sid", "typ")


@dataclass(frozen=True)
class AccessClaims:
    """What a valid access token says; ``request.auth`` of a request it authenticated."""

    user_id: str
    family_id: uuid.UUID
    jti: str
    expires_at: datetime.datetime
    #: Whether the login that started the session proved a second factor (the ``amr`` claim has ``otp``).
    two_factor: bool = False


def is_symmetric(algorithm: str) -> bool:
    return algorithm.startswith("HS")


def derived_secret() -> str:
    """The default HS secret: derived from ``SECRET_KEY`` for this use only, never ``SECRET_KEY`` itself."""
    # The label is the module's old name: changing it would change the key and end every session.
    return tokens.derived_key(b"django_convites.access_tokens").hex()


def configuration_problem() -> str | None:
    """What is wrong with the JWT keys for the algorithm, or None (``django_convites.E031``)."""
    algorithm = app_settings.JWT_ALGORITHM
    signing, verifying = app_settings.JWT_SIGNING_KEY, app_settings.JWT_VERIFYING_KEY
    if is_symmetric(algorithm):
        if verifying is not None:
            return f"{algorithm} signs and verifies with JWT_SIGNING_KEY; JWT_VERIFYING_KEY must be None."
        return None
    if signing is None or verifying is None:
        return f"{algorithm} needs JWT_SIGNING_KEY (a PEM private key) and JWT_VERIFYING_KEY (its PEM public key)."
    try:
        _prepared(algorithm, signing, private=True)
        _prepared(algorithm, verifying, private=False)
    except Exception as error:
        return f"the keys do not suit {algorithm}: {error.__class__.__name__}."
    return None


def _prepared(algorithm: str, key: str, *, private: bool) -> Any:
    implementation = jwt.get_algorithm_by_name(algorithm)
    prepared = implementation.prepare_key(key)
    if not is_symmetric(algorithm):
        is_private = hasattr(prepared, "private_bytes")
        if is_private != private:
            raise ValueError("a private key where a public one is expected, or the other way round")
    return prepared


@register_cache
@functools.cache
def _keys() -> tuple[str, Any, Any]:
    problem = configuration_problem()
    if problem:
        raise ImproperlyConfigured(f"DJANGO_CONVITES: {problem} (django_convites.E031)")
    algorithm = app_settings.JWT_ALGORITHM
    if is_symmetric(algorithm):
        secret = app_settings.JWT_SIGNING_KEY or derived_secret()
        key = _prepared(algorithm, secret, private=True)
        return algorithm, key, key
    signing, verifying = app_settings.JWT_SIGNING_KEY, app_settings.JWT_VERIFYING_KEY
    if signing is None or verifying is None:  # configuration_problem() refuses this; never reached
        raise ImproperlyConfigured("DJANGO_CONVITES: JWT_SIGNING_KEY and JWT_VERIFYING_KEY (django_convites.E031)")
    return algorithm, _prepared(algorithm, signing, private=True), _prepared(algorithm, verifying, private=False)


def encode(
    user_id: Any,
    family_id: uuid.UUID,
    now: datetime.datetime,
    *,
    two_factor: bool = False,
    not_after: datetime.datetime | None = None,
) -> tuple[str, datetime.datetime]:
    """A signed access token for ``user_id`` in ``family_id``, and when it expires: after
    ``ACCESS_TOKEN_LIFETIME``, or at ``not_after`` (the session's end) when that comes first. ``amr``
    (RFC 8176) says how the login was proved: ``["pwd"]``, or ``["pwd", "otp"]`` with a second factor."""
    algorithm, signing, _ = _keys()
    expires_at = now + app_settings.ACCESS_TOKEN_LIFETIME
    if not_after is not None and not_after < expires_at:
        expires_at = not_after
    claims = {
        "iss": app_settings.JWT_ISSUER,
        "aud": app_settings.JWT_AUDIENCE,
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": uuid.uuid4().hex,
        "sid": str(family_id),
        "typ": ACCESS_TYPE,
        "amr": ["pwd", "otp"] if two_factor else ["pwd"],
    }
    return jwt.encode(claims, signing, algorithm=algorithm, headers={"typ": "at+jwt"}), expires_at


def decode(token: str) -> AccessClaims:
    """The claims of a valid access token; :class:`TokenExpired`, or :class:`InvalidToken` for anything
    else wrong (signature, algorithm, issuer, audience, not yet valid, type, shape). No database."""
    algorithm, _, verifying = _keys()
    try:
        claims = jwt.decode(
            token,
            verifying,
            algorithms=[algorithm],
            audience=app_settings.JWT_AUDIENCE,
            issuer=app_settings.JWT_ISSUER,
            leeway=app_settings.JWT_LEEWAY,
            options={"require": list(REQUIRED_CLAIMS), "verify_iat": True},
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired() from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidToken() from None
    if claims.get("typ") != ACCESS_TYPE or not isinstance(claims.get("sub"), str):
        raise InvalidToken()
    try:
        family_id = uuid.UUID(str(claims["sid"]))
        expires_at = datetime.datetime.fromtimestamp(int(claims["exp"]), tz=datetime.timezone.utc)
    except (ValueError, TypeError, OverflowError):
        raise InvalidToken() from None
    amr = claims.get("amr")
    return AccessClaims(
        user_id=claims["sub"],
        family_id=family_id,
        jti=str(claims["jti"]),
        expires_at=expires_at,
        two_factor=isinstance(amr, list) and "otp" in amr,
    )
