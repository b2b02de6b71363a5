"""Two-factor authentication with TOTP devices of django-otp (docs/two-factor.rst).

Enrolment creates an unconfirmed device and shows its secret (base32 and a QR code); confirming it with a
current code activates it; disabling it needs a current code. A code is accepted once: its time step is
written with a conditional ``UPDATE ... WHERE last_t < step``, so of two requests with the same code,
even at the same instant, only one passes. Codes are exactly six ASCII digits.

Every check of a user's code (TOTP or backup: the JWT login, the API, the HTML pages) goes through
:func:`_checked`, which keeps one count per user of wrong codes in a row, in the database
(:class:`~django_convites.models.TwoFactorLimit`). After ``TOTP_FAILURE_LIMIT`` of them every code, a right
one too, is refused with 429 ``otp_locked`` for ``TOTP_LOCKOUT`` (NIST SP 800-63B 5.2.2). Counting is one
conditional ``UPDATE ... SET consecutive_failures = consecutive_failures + 1``, run outside the caller's
transaction (:func:`~django_convites._db.deferred.run_despite_rollback`), so no failure is lost to a race or
a rollback; a right code resets the count.
"""

from __future__ import annotations

import base64
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import segno
from django.apps import apps
from django.conf import settings
from django.db import router, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from django_convites import policy, roles, signals
from django_convites._db.deferred import run_despite_rollback
from django_convites.audit import Target
from django_convites.conf import app_settings
from django_convites.exceptions import (
    ConvitesError,
    OtpInvalid,
    OtpLocked,
    TwoFactorActive,
)
from django_convites.models import BackupCodeDevice, TotpSecret, TwoFactorLimit
from django_convites.net import RequestMeta
from django_convites.services import backup_codes, totp_seeds

DEVICE_NAME = "django-convites"
#: A TOTP code: exactly six ASCII digits (no full-width digits, signs or underscores).
OTP_FORMAT = re.compile(r"[0-9]{6}\Z")


@dataclass(frozen=True)
class Enrolment:
    """A new, unconfirmed TOTP device and what the user needs to add it to an authenticator app."""

    device: TOTPDevice
    otpauth_url: str = field(repr=False)
    secret: str = field(repr=False)
    qr_svg: str = field(repr=False)
    #: The name the authenticator app shows beside the codes (:func:`issuer`); "" when none is known.
    issuer: str = ""


def _devices(user: Any, *, confirmed: bool) -> Any:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).select_related("convites_secret")


def confirmed_devices(user: Any) -> list[TOTPDevice]:
    return list(_devices(user, confirmed=True))


def is_active(user: Any) -> bool:
    """Whether ``user`` has a second factor: the one definition, asked by the login, the middleware, the
    API's :class:`~django_convites.api.permissions.RequireTwoFactor` and ``GET /api/2fa/`` (through
    :func:`has_device`).

    A second factor is a confirmed TOTP device, the only kind the app verifies. Backup codes are its
    fallback, not a factor of their own: left without a TOTP device (an admin deleted it), they count for
    nothing. Other django-otp devices (``StaticDevice``, email, HOTP...) do not count either: the app
    cannot verify their codes, so counting them would lock their users out."""
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


_HAS_DEVICE_ATTR = "_convites_has_device"


def has_device(user: Any) -> bool:
    """:func:`is_active`, cached on the user object like the role (:func:`django_convites.roles.role_of`),
    so a request asks once; the functions here that add or remove devices forget it."""
    cached = getattr(user, _HAS_DEVICE_ATTR, None)
    if cached is None:
        cached = is_active(user)
        setattr(user, _HAS_DEVICE_ATTR, cached)
    return cached


def forget_device(user: Any) -> None:
    """Drop the cached :func:`has_device` answer of ``user``."""
    if hasattr(user, _HAS_DEVICE_ATTR):
        delattr(user, _HAS_DEVICE_ATTR)


#: What :func:`requirement` asks of a request: nothing, verifying the session, or enrolling a device.
VERIFY = "verificar"
ENROL = "ativar"


def requirement(user: Any, *, verified: bool, may_have_device: bool = True) -> str | None:
    """What ``user`` must do before going on: None, :data:`VERIFY` (they have a device and this session
    has not proved it) or :data:`ENROL` (their role is in ``TWO_FACTOR_REQUIRED_ROLES`` and they have no
    device). ``may_have_device=False`` skips the device query when the caller knows there was none at login."""
    if verified or not getattr(user, "is_authenticated", False):
        return None
    if may_have_device and has_device(user):
        return VERIFY
    required = app_settings.TWO_FACTOR_REQUIRED_ROLES
    role = roles.role_of(user) if required else None
    if role is None or role.value not in required:
        return None
    # A device enrolled after a login without a code: that session must log in again, with one.
    return VERIFY if not may_have_device and has_device(user) else ENROL


def _base32(device: TOTPDevice) -> str:
    return base64.b32encode(totp_seeds.seed(device)).decode("ascii").rstrip("=")


def start_totp(user: Any, *, meta: RequestMeta | None = None) -> Enrolment:
    """An unconfirmed TOTP device for ``user`` (replacing an earlier unconfirmed one); 409 when 2FA is on.
    ``meta`` names the site in the ``otpauth://`` URI when nothing else does (:func:`issuer`)."""
    policy.require(user, policy.Act.CHANGE_SECOND_FACTOR)  # never through an API token
    if is_active(user):
        raise TwoFactorActive()
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        if totp_seeds.enabled():
            device = totp_seeds.create_sealed(user=user, name=DEVICE_NAME, confirmed=False)
        else:
            device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
        signals.two_factor_started.send(sender=TOTPDevice, actor=user, target=device, meta=meta, details={})
    return _enrolment(device, meta)


def issuer(device: TOTPDevice | None = None, meta: RequestMeta | None = None) -> str:
    """The name authenticator apps show beside the codes of ``device``, first found of: ``TOTP_ISSUER``;
    django-otp's own ``OTP_TOTP_ISSUER`` (a string, or a callable given the device); the name of the
    current ``Site`` when ``django.contrib.sites`` is installed (by ``SITE_ID``, else by the request's
    host); the host name of the request (``meta.host``, unless it is an IPv6 address). "" when none is
    known. A colon, which would end the name in the URI's label, is dropped."""
    name = app_settings.TOTP_ISSUER or _otp_setting("OTP_TOTP_ISSUER", device)
    if not name and apps.is_installed("django.contrib.sites"):
        name = _site_name(meta.host if meta else "")
    if not name and meta is not None and not meta.host.startswith("["):  # an IPv6 address names no site
        name = meta.host
    return (name or "").replace(":", "").strip()


def _otp_setting(name: str, device: TOTPDevice | None) -> str:
    """A string setting of django-otp that may be a callable of the device (``OTP_TOTP_ISSUER``,
    ``OTP_TOTP_IMAGE``), as its ``TOTPDevice.config_url`` reads them; "" when unset."""
    value = getattr(settings, name, None)
    if callable(value):
        value = value(device) if device is not None else None
    return value if isinstance(value, str) else ""


def _site_name(host: str) -> str:
    from django.contrib.sites.models import Site

    try:
        if getattr(settings, "SITE_ID", None) is not None:
            return str(Site.objects.get_current().name)
    except Site.DoesNotExist:
        return ""
    site = Site.objects.filter(domain__iexact=host).first() if host else None
    return "" if site is None else str(site.name)


def otpauth_url(device: TOTPDevice, issuer_name: str) -> str:
    """The ``otpauth://totp/<issuer>:<account>?secret=...&issuer=<issuer>`` URI of ``device``
    (Google's Key Uri Format): the label and the parameter both name the issuer, each part
    percent-encoded (RFC 3986: a space is ``%20``, never ``+``); without an issuer the label is the
    account alone."""
    account = quote(str(device.user.get_username()), safe="")
    label = f"{quote(issuer_name, safe='')}:{account}" if issuer_name else account
    query = urlencode({"secret": _base32(device), "algorithm": "SHA1", "digits": device.digits, "period": device.step})
    if issuer_name:
        query += f"&issuer={quote(issuer_name, safe='')}"
    image = _otp_setting("OTP_TOTP_IMAGE", device)
    if image:
        query += f"&image={quote(image, safe=':/')}"
    return f"otpauth://totp/{label}?{query}"


def _enrolment(device: TOTPDevice, meta: RequestMeta | None = None) -> Enrolment:
    name = issuer(device, meta)
    url = otpauth_url(device, name)
    return Enrolment(
        device=device,
        otpauth_url=url,
        secret=_base32(device),
        qr_svg=segno.make(url, error="m").svg_inline(scale=4, title="otpauth"),
        issuer=name,
    )


def pending_enrolment(user: Any, *, meta: RequestMeta | None = None) -> Enrolment | None:
    """The enrolment ``user`` started and has not confirmed yet, to show it again (on every GET of the
    page, after a wrong code). It never makes one: :func:`start_totp` does."""
    if is_active(user):
        return None
    device = _devices(user, confirmed=False).order_by("-pk").first()
    return None if device is None else _enrolment(device, meta)


def matching_step(device: TOTPDevice, code: object, now: float | None = None) -> int | None:
    """The time step at which ``code`` is a code of ``device`` (within its tolerance), or None."""
    if not isinstance(code, str) or not OTP_FORMAT.match(code):
        return None
    at = time.time() if now is None else now
    totp = TOTP(totp_seeds.seed(device), device.step, device.t0, device.digits, device.drift)
    totp.time = at
    current = int(totp.t())
    for offset in sorted(range(-device.tolerance, device.tolerance + 1), key=abs):
        totp.time = at + offset * device.step
        if totp.token() == int(code):
            return current + offset
    return None


def verify(device: TOTPDevice, code: object, now: float | None = None) -> bool:
    """Whether ``code`` is a current code of ``device`` not used before; spends its time step if so."""
    step = matching_step(device, code, now)
    if step is None:
        return False
    steps = TotpSecret.objects if totp_seeds.secret_of(device) is not None else TOTPDevice.objects
    return bool(steps.filter(pk=device.pk, last_t__lt=step).update(last_t=step))


def _fail(
    user: Any, device: Any, meta: RequestMeta | None, action: str, error: ConvitesError | None = None
) -> ConvitesError:
    details = {"acao": action} if error is None else {"acao": action, "motivo": error.code}
    signals.two_factor_failed.send(sender=TOTPDevice, actor=user, target=device, meta=meta, details=details)
    return OtpInvalid(status=400) if error is None else error


# -- the cap on wrong codes in a row (NIST SP 800-63B 5.2.2) ---------------------------------------------

_Result = TypeVar("_Result")


def _user_target(user: Any) -> Target:
    return Target(TwoFactorLimit.audit_target_type, str(user.pk))


def _limit_state(user: Any) -> tuple[int | None, int]:
    """``(seconds left of the user's lockout, or None when none runs; wrong codes in a row)``: one read."""
    row = TwoFactorLimit.objects.filter(pk=user.pk).values_list("locked_until", "consecutive_failures").first()
    if row is None:
        return None, 0
    locked_until, failures = row
    now = timezone.now()
    if locked_until is None or locked_until <= now:
        return None, failures
    return max(math.ceil((locked_until - now).total_seconds()), 1), failures


def _count_failure(user: Any, meta: RequestMeta | None) -> bool:
    """One more wrong code in a row for ``user``; the one that reaches ``TOTP_FAILURE_LIMIT`` starts the
    lockout (audited as ``2fa_bloqueado``). Whether the code went uncounted because a lockout ran already.

    Runs outside the caller's transaction; inside one the write waits for it to end, and the answer is
    False (the conditional UPDATEs still keep the count exact)."""
    outcome: dict[str, bool] = {}

    def count() -> None:
        now = timezone.now()
        open_rows = TwoFactorLimit.objects.filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now), pk=user.pk)
        counted = open_rows.update(consecutive_failures=F("consecutive_failures") + 1)
        if not counted:  # the user's first wrong code (no row yet), or a lockout began meanwhile
            TwoFactorLimit.objects.bulk_create([TwoFactorLimit(user_id=user.pk)], ignore_conflicts=True)
            counted = open_rows.update(consecutive_failures=F("consecutive_failures") + 1)
        if not counted:
            outcome["locked"] = True
            return
        limit, locked_until = app_settings.TOTP_FAILURE_LIMIT, now + app_settings.TOTP_LOCKOUT
        # A separate conditional UPDATE (MySQL evaluates SET clauses left to right, so one statement setting
        # both columns from the old count is not portable). Of racing requests, one starts the lockout.
        started = TwoFactorLimit.objects.filter(pk=user.pk, consecutive_failures__gte=limit).update(
            consecutive_failures=0, locked_until=locked_until
        )
        if started:
            signals.two_factor_locked.send(
                sender=TwoFactorLimit,
                actor=user,
                target=_user_target(user),
                meta=meta,
                details={"tentativas": limit, "bloqueado_ate": locked_until.isoformat()},
            )

    run_despite_rollback(count, using=router.db_for_write(TwoFactorLimit))
    return outcome.get("locked", False)


def _checked(
    user: Any,
    attempt: Callable[[], _Result],
    *,
    meta: RequestMeta | None = None,
    action: str | None = None,
    target: Any = None,
) -> _Result:
    """``attempt()`` (which checks a code of ``user``) under the user's cap on wrong codes in a row.

    While a lockout runs, 429 ``otp_locked`` without trying the code (so a right code is not spent); with
    ``action``, the refusal is audited as ``2fa_falhou``. A falsy answer of ``attempt`` counts one wrong
    code, a truthy one ends the run."""
    seconds, failures = _limit_state(user)
    if seconds is None:
        result = attempt()
        if result:
            if failures:
                TwoFactorLimit.objects.filter(pk=user.pk, consecutive_failures__gt=0).update(consecutive_failures=0)
            return result
        if not _count_failure(user, meta):
            return result
        seconds = max(math.ceil(app_settings.TOTP_LOCKOUT.total_seconds()), 1)  # a racing code started it
    error = OtpLocked(retry_after=seconds)
    raise error if action is None else _fail(user, target, meta, action, error)


@dataclass(frozen=True)
class Activation:
    """What turning two-factor authentication on did: the device, and what ended with the change."""

    device: TOTPDevice
    #: JWT sessions of the user that were ended (``sessoes_encerradas``).
    sessions_ended: int
    #: API tokens of the user that were revoked (``api_tokens_revogados``); 0 when they were kept.
    api_tokens_revoked: int
    #: The user's new backup codes when the confirmation asked for them (``with_backup_codes``): shown once.
    backup_codes: tuple[str, ...] = field(default=(), repr=False)


def confirm_totp(
    user: Any,
    code: object,
    *,
    meta: RequestMeta | None = None,
    session: Any = None,
    keep_api_tokens: bool = False,
    with_backup_codes: bool = False,
) -> Activation:
    """Activate ``user``'s unconfirmed device with a current code (400 ``otp_invalid`` otherwise; 409
    when a device is confirmed already, also by a racing request).

    What was opened with a password alone ends with it, in the same transaction: every JWT session of
    the user but ``session`` (the id of the JWT session that confirms, which goes on, counted from now on
    as having proved the second factor), and every live API token unless ``keep_api_tokens``. A Django
    session that confirms is the caller's to verify (``django_otp.login`` with the device). One
    ``2fa_ativado`` event records the change with ``sessoes_encerradas``, ``api_tokens_revogados`` and
    ``api_tokens_mantidos``. ``with_backup_codes`` also makes the user's first ten backup codes in the same
    transaction (audited as ``codigos_backup_gerados``, as :func:`new_backup_codes` is): the code just
    given is the current TOTP code that making them asks for, and it cannot be given twice."""
    policy.require(user, policy.Act.CHANGE_SECOND_FACTOR)  # never through an API token
    if is_active(user):
        raise TwoFactorActive()
    device = _devices(user, confirmed=False).order_by("-pk").first()
    if device is None:
        raise _fail(user, None, meta, "confirmar")
    if not _checked(user, lambda: verify(device, code), meta=meta, action="confirmar", target=device):
        raise _fail(user, device, meta, "confirmar")
    with transaction.atomic():
        if not TOTPDevice.objects.filter(pk=device.pk, confirmed=False).update(confirmed=True) or (
            TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).exists()
        ):
            raise TwoFactorActive()
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device.confirmed = True
        forget_device(user)
        # The JWT sessions and API tokens end through receivers (apps.py), so this module imports neither.
        counts = {"sessoes_encerradas": 0, "api_tokens_revogados": 0}
        for _receiver, answer in signals.two_factor_enabling.send(
            sender=TOTPDevice, user=user, keep_session=session, keep_api_tokens=keep_api_tokens
        ):
            if isinstance(answer, Mapping):
                counts.update(answer)
        details = {**counts, "api_tokens_mantidos": keep_api_tokens}
        signals.two_factor_enabled.send(sender=TOTPDevice, actor=user, target=device, meta=meta, details=details)
        codes = backup_codes.generate(user, meta=meta) if with_backup_codes else []
    return Activation(
        device=device,
        sessions_ended=counts["sessoes_encerradas"],
        api_tokens_revoked=counts["api_tokens_revogados"],
        backup_codes=tuple(codes),
    )


def verifying_device(
    user: Any, code: object, *, meta: RequestMeta | None = None, action: str | None = None, target: Any = None
) -> Device | None:
    """The confirmed device of ``user`` that accepts ``code`` (spending its step, or the backup code),
    or None. A current TOTP code is tried first, then, if ``code`` has their shape, the backup codes.
    Counted against the user's cap on wrong codes in a row: 429 ``otp_locked`` past it (:func:`_checked`)."""

    def attempt() -> Device | None:
        totp = next((device for device in confirmed_devices(user) if verify(device, code)), None)
        if totp is not None or not backup_codes.looks_like_backup_code(code):
            return totp
        return backup_codes.spend_for_user(user, code)

    return _checked(user, attempt, meta=meta, action=action, target=target)


def verify_user(user: Any, code: object, *, meta: RequestMeta | None = None) -> bool:
    """Whether ``code`` is a current, unused code of one of ``user``'s confirmed devices (429
    ``otp_locked``, not audited here, past the cap on wrong codes in a row)."""
    return verifying_device(user, code, meta=meta) is not None


def verify_session(user: Any, code: object, *, meta: RequestMeta | None = None) -> Device:
    """The second step of a session login: the device that accepts ``code`` (400 ``otp_invalid`` else)."""
    device = verifying_device(user, code, meta=meta, action="verificar")
    if device is None:
        raise _fail(user, None, meta, "verificar")
    return device


def disable(user: Any, code: object, *, meta: RequestMeta | None = None) -> None:
    """Turn two-factor authentication off with a current code (or a backup code); every device goes."""
    policy.require(user, policy.Act.CHANGE_SECOND_FACTOR)  # never through an API token
    devices = confirmed_devices(user)
    if not devices or verifying_device(user, code, meta=meta, action="desativar", target=devices[0]) is None:
        raise _fail(user, devices[0] if devices else None, meta, "desativar")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        BackupCodeDevice.objects.filter(user=user).delete()
        forget_device(user)
        signals.two_factor_disabled.send(sender=TOTPDevice, actor=user, target=None, meta=meta, details={})


def new_backup_codes(user: Any, code: object, *, meta: RequestMeta | None = None) -> list[str]:
    """Ten new backup codes for ``user``, replacing earlier ones; needs a current TOTP code (400 else)."""
    policy.require(user, policy.Act.CHANGE_SECOND_FACTOR)  # never through an API token
    devices = confirmed_devices(user)
    if not devices or not _checked(
        user,
        lambda: any(verify(device, code) for device in devices),
        meta=meta,
        action="codigos_backup",
        target=devices[0],
    ):
        raise _fail(user, devices[0] if devices else None, meta, "codigos_backup")
    return backup_codes.generate(user, meta=meta)


def unlock(user: Any, *, actor: Any, meta: RequestMeta | None = None) -> bool:
    """Clear ``user``'s run of wrong codes and the lockout it started (the admin's action); whether there
    was anything to clear, which is then audited as ``2fa_desbloqueado``.

    Root and admin only, within their organizations when confined, and never on their own lockout: a
    lockout ends by time or by someone else (403 ``permission_denied``; the policy's ``OTHERS_ONLY``)."""
    policy.require(actor, policy.Act.UNLOCK_SECOND_FACTOR, policy.Subject(owner_id=user.pk))
    now = timezone.now()
    with transaction.atomic(using=router.db_for_write(TwoFactorLimit)):
        row = TwoFactorLimit.objects.filter(pk=user.pk).values_list("consecutive_failures", "locked_until").first()
        if row is None:
            return False
        failures, locked_until = row
        cleared = TwoFactorLimit.objects.filter(
            Q(consecutive_failures__gt=0) | Q(locked_until__gt=now), pk=user.pk
        ).update(consecutive_failures=0, locked_until=None)
        if cleared:
            signals.two_factor_unlocked.send(
                sender=TwoFactorLimit,
                actor=actor,
                target=_user_target(user),
                meta=meta,
                details={"tentativas": failures, "bloqueio": locked_until is not None and locked_until > now},
            )
    return bool(cleared)
