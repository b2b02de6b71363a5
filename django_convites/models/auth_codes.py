from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: Wrong tries after which a code stops working (410 ``code_locked``).
MAX_ATTEMPTS = 5


class AuthCode(models.Model):
    """A short numeric one-time code sent to a user for step-up or verification (docs/auth-codes.rst).

    Only an HMAC-SHA256 of the code is stored, keyed with a key derived from ``SECRET_KEY``: a six-digit
    code has too few values for a plain digest to hide it. Spending the code and counting a wrong try are
    each one conditional ``UPDATE`` (:mod:`django_convites.services.auth_codes`), so the code is accepted
    once and takes at most :data:`MAX_ATTEMPTS` wrong tries, however many requests race.
    """

    audit_target_type = "codigo"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    digest = models.CharField(_("digest"), max_length=64, editable=False)
    purpose = models.CharField(_("purpose"), max_length=32)
    channel = models.CharField(_("channel"), max_length=32, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    replaced_at = models.DateTimeField(_("replaced at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("wrong tries"), default=0)

    class Meta:
        verbose_name = _("authentication code")
        verbose_name_plural = _("authentication codes")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(attempts__lte=MAX_ATTEMPTS), name="convites_authcode_attempts_max"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="convites_authcode_expires_after_created"
            ),
        ]
        # No index on ``expires_at``: MySQL could pick it for the WHERE of the spending UPDATE and lock
        # every live code in its range. Purging walks the primary key, where the expired codes come first.
        indexes = [models.Index(fields=["user", "-created_at"], name="convites_authcode_user_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} {self.pk}"


class AuthCodeLimit(models.Model):
    """Per user: when the last code was sent, and the wrong tries in a row across codes.

    Every change is a conditional ``UPDATE`` on this one row: claiming the send slot (no code within
    ``AUTH_CODE_COOLDOWN``, no lockout running), counting a failure, starting a lockout once
    ``AUTH_CODE_FAILURE_LIMIT`` failures follow each other, and resetting the count on a right code.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    last_sent_at = models.DateTimeField(_("last code sent at"), null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(_("wrong codes in a row"), default=0)
    locked_until = models.DateTimeField(_("no new code until"), null=True, blank=True)

    class Meta:
        verbose_name = _("authentication code limit")
        verbose_name_plural = _("authentication code limits")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.consecutive_failures}"
