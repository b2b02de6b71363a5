"""The webhook outbox: one row per audit event and endpoint, written in the event's transaction."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DeliveryState(models.TextChoices):
    PENDING = "pendente", _("pending")
    DELIVERED = "entregue", _("delivered")
    DEAD = "morta", _("dead")


class WebhookDelivery(models.Model):
    """One audit event on its way to one endpoint of ``WEBHOOKS`` (docs/webhooks.rst).

    ``payload`` is the JSON body exactly as it is sent, fixed when the event is written, so every attempt
    sends the same bytes with the same ``id``. It never holds a secret: the endpoint's secret is read from the
    settings when a request is signed. A worker claims a row by setting ``leased_until`` to the end of the
    time its attempt may take; nobody else claims it before then, and what the worker writes afterwards is
    conditional on that value, so a row is never delivered by two workers at the same time
    (:mod:`django_convites.services.webhooks`).
    """

    audit_target_type = "webhook"

    id = models.BigAutoField(primary_key=True)
    event_id = models.BigIntegerField(_("audit event"))
    event = models.CharField(_("event"), max_length=64)
    #: The primary key of the event's actor, as text (empty: none): whose event it is, for the policy.
    actor_pk = models.CharField(_("event's user"), max_length=64, blank=True)
    url = models.CharField(_("URL"), max_length=2000)
    payload = models.TextField(_("payload"))
    state = models.CharField(_("state"), max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    leased_until = models.DateTimeField(_("claimed by a worker until"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ("-id",)
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="convites_webhook_due_idx"),
            models.Index(fields=["event_id"], name="convites_webhook_event_idx"),
            models.Index(fields=["created_at"], name="convites_webhook_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=DeliveryState.values), name="convites_webhook_state_valid"),
            models.CheckConstraint(
                condition=Q(delivered_at__isnull=True) | Q(state=DeliveryState.DELIVERED),
                name="convites_webhook_delivered_state",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.event_id} -> {self.url}"
