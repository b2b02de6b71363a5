"""Two-factor authentication with TOTP devices of django-otp (contract section 7).

Enrolment creates an unconfirmed device and shows its secret (base32 and a QR code); confirming it with a
current code activates it; disabling it needs a current code. A code is accepted once: its time step is
written with a conditional ``UPDATE ... WHERE last_t < step``, so of two requests with the same code,
even at the same instant, only one passes. Codes are exactly six ASCII digits.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass, field
from typing import Any

import segno
from django.db import transaction
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from django_convites import policy, roles, signals
from django_convites.conf import app_settings
from django_convites.exceptions import OtpRejected, TwoFactorActive
from django_convites.models import BackupCodeDevice, TotpSecret
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


def _devices(user: Any, *, confirmed: bool) -> Any:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).select_related("convites_secret")


def confirmed_devices(user: Any) -> list[TOTPDevice]:
    return list(_devices(user, confirmed=True))


def is_active(user: Any) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


_HAS_DEVICE_ATTR = "_convites_has_device"


def has_device(user: Any) -> bool:
    """Whether ``user`` has any confirmed django-otp device (then a login needs a second factor).

    The answer is cached on the user object, like the role (:func:`django_convites.roles.role_of`), so a
    request asks once; the functions here that add or remove devices forget it."""
    cached = getattr(user, _HAS_DEVICE_ATTR, None)
    if cached is None:
        from django_otp import user_has_device

        cached = bool(user_has_device(user, confirmed=True))
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
    """An unconfirmed TOTP device for ``user`` (replacing an earlier unconfirmed one); 409 when 2FA is on."""
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
    return _enrolment(device)


def _enrolment(device: TOTPDevice) -> Enrolment:
    url = totp_seeds.unsealed_copy(device).config_url
    return Enrolment(
        device=device,
        otpauth_url=url,
        secret=_base32(device),
        qr_svg=segno.make(url, error="m").svg_inline(scale=4, title="otpauth"),
    )


def pending_enrolment(user: Any) -> Enrolment | None:
    """The enrolment ``user`` started and has not confirmed yet, to show it again after a wrong code."""
    if is_active(user):
        return None
    device = _devices(user, confirmed=False).order_by("-pk").first()
    return None if device is None else _enrolment(device)


def matching_step(device: TOTPDevice, code: object, now: float | None = None) -> int | None:
    """The time step at which ``code`` is a code of ``device`` (within its tolerance), or None."""
    if not isinstance(code, str) or not OTP_FORMAT.match(code):
        return None
    at = time.time() if now is None else now
    totp = TOTP(totp_seeds.seed(device), device.step, device.t0, device.digits, device.drift)
    totp.time = at
    current = totp.t()
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


def _fail(user: Any, device: Any, meta: RequestMeta | None, action: str) -> OtpRejected:
    signals.two_factor_failed.send(sender=TOTPDevice, actor=user, target=device, meta=meta, details={"acao": action})
    return OtpRejected()


def confirm_totp(user: Any, code: object, *, meta: RequestMeta | None = None) -> TOTPDevice:
    """Activate ``user``'s unconfirmed device with a current code (400 ``otp_invalid`` otherwise; 409
    when a device is confirmed already, also by a racing request).

    Every JWT session of the user ends: they were opened without a second factor, which from now on
    every login needs."""
    policy.require(user, policy.Act.CHANGE_SECOND_FACTOR)  # never through an API token
    if is_active(user):
        raise TwoFactorActive()
    device = _devices(user, confirmed=False).order_by("-pk").first()
    if device is None:
        raise _fail(user, None, meta, "confirmar")
    if not verify(device, code):
        raise _fail(user, device, meta, "confirmar")
    from django_convites.services import sessions

    with transaction.atomic():
        if not TOTPDevice.objects.filter(pk=device.pk, confirmed=False).update(confirmed=True) or (
            TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).exists()
        ):
            raise TwoFactorActive()
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device.confirmed = True
        forget_device(user)
        sessions.end_all_sessions(user, reason="2fa_ativado", actor=user, meta=meta)
        signals.two_factor_enabled.send(sender=TOTPDevice, actor=user, target=device, meta=meta, details={})
    return device


def verifying_device(user: Any, code: object) -> Device | None:
    """The confirmed device of ``user`` that accepts ``code`` (spending its step, or the backup code),
    or None. A current TOTP code is tried first, then, if ``code`` has their shape, the backup codes."""
    totp = next((device for device in confirmed_devices(user) if verify(device, code)), None)
    if totp is not None or not backup_codes.looks_like_backup_code(code):
        return totp
    return backup_codes.spend_for_user(user, code)


def verify_user(user: Any, code: object) -> bool:
    """Whether ``code`` is a current, unused code of one of ``user``'s confirmed devices."""
    return verifying_device(user, code) is not None


def verify_session(user: Any, code: object, *, meta: RequestMeta | None = None) -> Device:
    """The second step of a session login: the device that accepts ``code`` (400 ``otp_invalid`` else)."""
    device = verifying_device(user, code)
    if device is None:
        raise _fail(user, None, meta, "verificar")
    return device


def disable(user: Any, code: object, *, meta: RequestMeta | None = None) -> None:
    """Turn two-factor authentication off with a current code (or a backup code); every device goes."""
    policy.require(user, policy.Act.CHANGE_SECOND_FACTOR)  # never through an API token
    devices = confirmed_devices(user)
    if not devices or verifying_device(user, code) is None:
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
    if not any(verify(device, code) for device in devices):
        raise _fail(user, devices[0] if devices else None, meta, "codigos_backup")
    return backup_codes.generate(user, meta=meta)
