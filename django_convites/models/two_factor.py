from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from django_convites import tokens

#: A backup code: 16 base32 characters (80 random bits), shown in groups of four.
BACKUP_CODE_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
BACKUP_CODE_LENGTH = 16  # 16 x 5 bits = 80 bits
_SEPARATORS = re.compile(r"[\s-]+")
_FORMAT = re.compile(rf"[{BACKUP_CODE_ALPHABET}]{{{BACKUP_CODE_LENGTH}}}\Z")


def normalise_backup_code(code: object) -> str | None:
    """The canonical form of a typed backup code, or None when it cannot be one. Typing is forgiving:
    case, spaces and hyphens do not matter."""
    if not isinstance(code, str) or len(code) > 64:
        return None
    canonical = _SEPARATORS.sub("", code).lower()
    return canonical if _FORMAT.match(canonical) else None


class BackupCodeDevice(Device):  # type: ignore[misc]  # django-otp ships no types: Device is Any
    """A user's set of one-time backup codes, a django-otp device of its own.

    django-otp's static device keeps short codes in plaintext; this one keeps the SHA-256 digest of each
    code (80 random bits, so a fast digest is enough) and spends a code with a conditional
    ``UPDATE ... WHERE used_at IS NULL``, so two requests with one code cannot both pass.
    """

    audit_target_type = "2fa_backup"

    class Meta(Device.Meta):  # type: ignore[misc]  # as above
        verbose_name = _("backup code set")
        verbose_name_plural = _("backup code sets")

    def verify_token(self, token: Any) -> bool:
        """Whether ``token`` is an unused code of this set; if so it is spent, once however many race: one
        ``UPDATE ... WHERE used_at IS NULL`` on the code's own row."""
        canonical = normalise_backup_code(token)
        if canonical is None:
            return False
        unused = self.codes.filter(digest=tokens.digest(canonical), used_at__isnull=True)
        return bool(unused.update(used_at=timezone.now()))


class BackupCode(models.Model):
    """One backup code, stored as a digest; ``used_at`` is set once, when it is spent."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(
        BackupCodeDevice, verbose_name=_("backup code set"), on_delete=models.CASCADE, related_name="codes"
    )
    digest = models.CharField(_("digest"), max_length=64)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("backup code")
        verbose_name_plural = _("backup codes")
        constraints = [
            models.UniqueConstraint(fields=["device", "digest"], name="convites_backup_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id}:{self.pk}"


#: ``TOTPDevice.last_t`` of a device whose seed is encrypted: no time step is ever later, so django-otp's
#: own ``verify_token`` accepts no code for it (its ``key`` holds a random decoy).
SEALED_LAST_T = 2**62


class TotpSecret(models.Model):
    """The encrypted seed of a django-otp ``TOTPDevice`` (``TOTP_ENCRYPTION_KEYS``), and its last time step.

    The device row keeps a random decoy as ``key`` and :data:`SEALED_LAST_T` as ``last_t``; the app reads
    the seed from here and spends steps here, with the same conditional ``UPDATE``."""

    device = models.OneToOneField(
        "otp_totp.TOTPDevice",
        verbose_name=_("device"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="convites_secret",
    )
    ciphertext = models.TextField(_("encrypted seed"))
    last_t = models.BigIntegerField(_("last time step used"), default=-1)

    class Meta:
        verbose_name = _("encrypted TOTP seed")
        verbose_name_plural = _("encrypted TOTP seeds")

    def __str__(self) -> str:
        return str(self.device_id)


class TwoFactorLimit(models.Model):
    """Per user: the wrong two-factor codes (TOTP or backup) in a row, and the lockout they started.

    Every change is one conditional ``UPDATE`` of this one row (:mod:`django_convites.services.two_factor`):
    counting a wrong code, starting the lockout once ``TOTP_FAILURE_LIMIT`` follow each other, resetting
    the count on a right code, and an admin's unlock. The row is the user's (its key is the user's), made
    at the first wrong code."""

    audit_target_type = "usuario"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    consecutive_failures = models.PositiveIntegerField(_("wrong codes in a row"), default=0)
    locked_until = models.DateTimeField(_("codes refused until"), null=True, blank=True)

    class Meta:
        verbose_name = _("two-factor lockout")
        verbose_name_plural = _("two-factor lockouts")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.consecutive_failures}"
