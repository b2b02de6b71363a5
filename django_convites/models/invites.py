from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InviteState(models.TextChoices):
    """Where an invite stands. ``expirado`` is derived from the clock, never stored."""

    NEW = "novo", _("new")
    USED = "usado", _("used")
    EXPIRED = "expirado", _("expired")
    REVOKED = "revogado", _("revoked")


class InviteQuerySet(models.QuerySet["Invite"]):
    def open_at(self, now: datetime) -> InviteQuerySet:
        """Invites that can still be used at ``now``: neither used nor revoked, and not expired."""
        return self.filter(used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)

    def in_state(self, state: InviteState | str, now: datetime | None = None) -> InviteQuerySet:
        now = now or timezone.now()
        state = InviteState(state)
        if state is InviteState.USED:
            return self.filter(used_at__isnull=False)
        if state is InviteState.REVOKED:
            return self.filter(revoked_at__isnull=False)
        pending = self.filter(used_at__isnull=True, revoked_at__isnull=True)
        if state is InviteState.EXPIRED:
            return pending.filter(expires_at__lte=now)
        return pending.filter(expires_at__gt=now)


class Invite(models.Model):
    """A single-use invite code for a new user (docs/invites.rst).

    Only the SHA-256 digest of the code is stored. The organization and nuclei are the host's, kept as
    primary-key references (:mod:`django_convites.orgs`). Every change of state goes through
    :mod:`django_convites.services.invites`.
    """

    audit_target_type = "convite"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code_digest = models.CharField(_("code digest"), max_length=64, unique=True, editable=False)
    target_type = models.CharField(_("target type"), max_length=32)
    organization_ref = models.CharField(_("organization"), max_length=64, blank=True, default="")
    nucleus_refs = models.JSONField(_("nuclei"), default=list, blank=True)
    email = models.EmailField(
        _("e-mail"),
        blank=True,
        default="",
        help_text=_("The address the invite is bound to: only a sign-up with it may use the invite. Empty: any."),
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("used by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = InviteQuerySet.as_manager()

    class Meta:
        verbose_name = _("invite")
        verbose_name_plural = _("invites")
        ordering = ("-created_at", "-id")
        constraints = [
            models.CheckConstraint(
                condition=Q(used_at__isnull=True) | Q(revoked_at__isnull=True),
                name="convites_invite_used_or_revoked",
            ),
            models.CheckConstraint(
                condition=Q(used_by__isnull=True) | Q(used_at__isnull=False),
                name="convites_invite_used_by_needs_used_at",
            ),
            models.CheckConstraint(
                condition=Q(revoked_by__isnull=True) | Q(revoked_at__isnull=False),
                name="convites_invite_revoked_by_needs_at",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="convites_invite_expires_after_created",
            ),
            models.CheckConstraint(condition=~Q(target_type=""), name="convites_invite_target_type_set"),
        ]
        indexes = [
            models.Index(fields=["issued_by", "-created_at"], name="convites_invite_issuer_idx"),
            models.Index(fields=["-created_at"], name="convites_invite_created_idx"),
            models.Index(fields=["organization_ref", "-created_at"], name="convites_invite_org_idx"),
            models.Index(fields=["expires_at"], name="convites_invite_expires_idx"),
            models.Index(fields=["used_at"], name="convites_invite_used_idx"),
            models.Index(fields=["revoked_at"], name="convites_invite_revoked_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.target_type} {self.id}"

    def state(self, now: datetime | None = None) -> InviteState:
        if self.used_at is not None:
            return InviteState.USED
        if self.revoked_at is not None:
            return InviteState.REVOKED
        if self.expires_at <= (now or timezone.now()):
            return InviteState.EXPIRED
        return InviteState.NEW


class InviteQuota(models.Model):
    """How many invites an issuer has created on one calendar day (``TIME_ZONE``).

    The counter is raised by one conditional ``UPDATE ... WHERE count < limit`` in the transaction
    that creates the invite, so concurrent requests can never go past the limit.
    """

    issuer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issuer"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    day = models.DateField(_("day"))
    count = models.PositiveIntegerField(_("invites created"), default=0)

    class Meta:
        verbose_name = _("invite quota")
        verbose_name_plural = _("invite quotas")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "day"], name="convites_quota_issuer_day_uniq"),
        ]
        indexes = [models.Index(fields=["day"], name="convites_quota_day_idx")]

    def __str__(self) -> str:
        return f"{self.issuer_id} {self.day}: {self.count}"
