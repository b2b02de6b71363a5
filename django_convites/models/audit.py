from __future__ import annotations

import datetime as dt
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
        # Newest first, as every list pages them: by time, the id breaking ties.
        ordering = ("-created_at", "-id")
        # Each filter of the lists leads an index that ends in the order of the pages, so a page is one
        # index range at any size of the log (docs/audit.rst, "Reading events at scale").
        indexes = [
            models.Index(fields=["created_at", "id"], name="convites_audit_time_idx"),
            models.Index(fields=["actor", "created_at", "id"], name="convites_audit_actor_time_idx"),
            models.Index(fields=["actor", "event", "created_at", "id"], name="convites_audit_actor_ev_idx"),
            models.Index(fields=["event", "created_at", "id"], name="convites_audit_event_time_idx"),
            models.Index(fields=["target_id", "created_at", "id"], name="convites_audit_target_time_idx"),
            models.Index(fields=["target_type", "created_at", "id"], name="convites_audit_ttype_time_idx"),
            models.Index(fields=["ip", "created_at", "id"], name="convites_audit_ip_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events are append-only")

    def to_wire(self, tz: dt.tzinfo | None = None) -> dict[str, Any]:
        """The event as the API shows it and webhooks send it (docs/audit.rst): wire names, the time in ISO
        8601 in ``tz`` (the current time zone by default), ``detalhes`` as stored."""
        created = timezone.localtime(self.created_at, tz) if timezone.is_aware(self.created_at) else self.created_at
        created_text = created.isoformat()
        return {
            "id": self.pk,
            "evento": self.event,
            "usuario": self.actor_id,
            "alvo_tipo": self.target_type,
            "alvo_id": self.target_id,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "criado_em": created_text[:-6] + "Z" if created_text.endswith("+00:00") else created_text,
            "detalhes": self.details,
        }
