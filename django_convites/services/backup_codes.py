"""Backup codes: ten one-time codes for when the authenticator app is out of reach (docs/two-factor.rst).

Each code is 16 base32 characters (80 random bits from :mod:`secrets`), shown in groups of four; only its
SHA-256 digest is stored. Typing is forgiving: case, spaces and hyphens do not matter.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction

from django_convites import signals, tokens
from django_convites.models import BackupCode, BackupCodeDevice
from django_convites.models.two_factor import BACKUP_CODE_ALPHABET, BACKUP_CODE_LENGTH, normalise_backup_code
from django_convites.net import RequestMeta

COUNT = 10
GROUP = 4
DEVICE_NAME = "backup"


def _new_code() -> str:
    raw = "".join(secrets.choice(BACKUP_CODE_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, BACKUP_CODE_LENGTH, GROUP))


def looks_like_backup_code(code: object) -> bool:
    return normalise_backup_code(code) is not None


def generate(user: Any, *, meta: RequestMeta | None = None) -> list[str]:
    """Replace ``user``'s backup codes with ten new ones; the codes are in this answer only.

    The caller has checked a current TOTP code (the API asks for one)."""
    codes = [_new_code() for _ in range(COUNT)]
    with transaction.atomic():
        BackupCodeDevice.objects.filter(user=user).delete()
        device = BackupCodeDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)
        BackupCode.objects.bulk_create(
            BackupCode(device=device, digest=tokens.digest(normalise_backup_code(code) or "")) for code in codes
        )
        signals.backup_codes_generated.send(
            sender=BackupCodeDevice, actor=user, target=device, meta=meta, details={"quantidade": COUNT}
        )
    return codes


def spend_for_user(user: Any, code: object) -> BackupCodeDevice | None:
    """The backup device of ``user`` that accepted ``code`` (spending it), or None."""
    if normalise_backup_code(code) is None:
        return None
    device = BackupCodeDevice.objects.filter(user=user, confirmed=True).first()
    return device if device is not None and device.verify_token(code) else None


def remaining(user: Any) -> int:
    return BackupCode.objects.filter(device__user=user, device__confirmed=True, used_at__isnull=True).count()
