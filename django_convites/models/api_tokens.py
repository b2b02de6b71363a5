from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """What an API token may do, narrowest first. The owner's current role still bounds every scope."""

    READ = "read", _("read")
    WRITE = "write", _("write")
    ADMIN = "admin", _("admin")

    @property
    def rank(self) -> int:
        return list(Scope).index(self)

    def covers(self, other: Scope | str) -> bool:
        """Whether this scope includes ``other`` (admin covers write covers read)."""
        return self.rank >= Scope(other).rank


class ApiToken(models.Model):
    """A long-lived credential for scripts and integrations (docs/api-tokens.rst).

    Only the SHA-256 digest of the token is stored, with its first characters to recognise it. Every
    change of state goes through :mod:`django_convites.services.api_tokens`; the request path reads it
    with one indexed query (:mod:`django_convites.api.authentication`).
    """

    audit_target_type = "api_token"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    scope = models.CharField(_("scope"), max_length=8, choices=Scope.choices)
    digest = models.CharField(_("digest"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=8, editable=False)
    allowed_ips = models.JSONField(_("allowed networks"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rotated_from = models.ForeignKey(
        "self",
        verbose_name=_("rotated from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=["read", "write", "admin"]), name="convites_apitoken_scope_known"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("created_at")),
                name="convites_apitoken_expires_after_created",
            ),
            models.CheckConstraint(
                condition=Q(revoked_by__isnull=True) | Q(revoked_at__isnull=False),
                name="convites_apitoken_revoked_by_needs_at",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="convites_apitoken_user_idx"),
            models.Index(fields=["-created_at"], name="convites_apitoken_created_idx"),
            models.Index(fields=["last_used_at"], name="convites_apitoken_used_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.scope})"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())
