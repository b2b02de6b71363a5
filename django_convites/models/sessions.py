from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SessionFamily(models.Model):
    """One login: the chain of refresh tokens it hands out, and the access tokens that name it (``sid``).

    Revoking the family (logout, reuse of a spent refresh token, a password change) stops its refresh
    token and, at their next request, its access tokens.
    """

    audit_target_type = "sessao"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_refreshed_at = models.DateTimeField(_("last refreshed at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    two_factor = models.BooleanField(_("second factor proved"), default=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_reason = models.CharField(_("why it was revoked"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["user", "-created_at"], name="convites_family_user_idx"),
            models.Index(fields=["revoked_at"], name="convites_family_revoked_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoked_reason=""), name="convites_family_revoked_why"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class RefreshToken(models.Model):
    """One refresh token of a family, stored as the SHA-256 digest of its ``cvr_`` secret.

    Spending it is a conditional ``UPDATE ... SET used_at = now WHERE used_at IS NULL``; a family has at
    most one unspent token, the newest, whose ``parent`` is the token it replaced.
    """

    id = models.BigAutoField(primary_key=True)
    family = models.ForeignKey(
        SessionFamily, verbose_name=_("session"), on_delete=models.CASCADE, related_name="refresh_tokens"
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("replaces"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    digest = models.CharField(_("digest"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("refresh token")
        verbose_name_plural = _("refresh tokens")
        indexes = [models.Index(fields=["expires_at"], name="convites_refresh_expires_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="convites_refresh_expires_after_created"
            ),
        ]

    def __str__(self) -> str:
        return f"refresh #{self.pk}"
