from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from django_convites._db.batches import delete_in_batches


class AppendOnlyError(RuntimeError):
    """Audit events are never edited or deleted, except by the retention purge."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events are append-only")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit events are append-only; use purge_before() for retention")

    def purge_before(self, cutoff: datetime, *, batch_size: int = 1000) -> int:
        """Delete events created before ``cutoff``, oldest first, ``batch_size`` rows per statement."""
        return delete_in_batches(self.filter(created_at__lt=cutoff), batch_size, raw=True)


class AuditEvent(models.Model):
    """One thing that happened: generation, validation, use, revocation, login... (docs/audit.rst).

    Rows hold no secret, digest or password. They are written by :mod:`django_convites.audit` from the
    domain signals and never changed afterwards.
    """

    id = models.BigAutoField(primary_key=True)
    event = models.CharField(_("event"), max_length=64)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    target_type = models.CharField(_("target type"), max_length=32, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    details = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ("-id",)
        indexes = [
            models.Index(fields=["actor", "id"], name="convites_audit_actor_idx"),
            models.Index(fields=["event", "id"], name="convites_audit_event_idx"),
            models.Index(fields=["target_type", "target_id", "id"], name="convites_audit_target_idx"),
            models.Index(fields=["created_at"], name="convites_audit_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events are append-only")
