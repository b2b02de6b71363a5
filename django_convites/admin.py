from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from django_convites import policy, roles
from django_convites.audit import events_visible_to
from django_convites.exceptions import ConvitesError
from django_convites.models import (
    ApiToken,
    AuditEvent,
    AuthCode,
    BackupCodeDevice,
    Invite,
    InviteState,
    SessionFamily,
    TwoFactorLimit,
    WebhookDelivery,
)
from django_convites.models.invites import InviteQuerySet
from django_convites.net import request_meta
from django_convites.services import api_tokens, invites, sessions, two_factor, webhooks

if TYPE_CHECKING:
    # ModelAdmin is generic in django-stubs only: at run time it cannot be subscripted.
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = admin.ModelAdmin


class ViewOnlyAdmin(_ModelAdmin):
    """Rows are looked at here, never added, edited or deleted: their services own every change."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def revoke_each(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    objects: Iterable[Any],
    revoke: Callable[..., Any],
) -> None:
    """Call ``revoke(pk, actor=..., meta=...)`` for each object through its service, which applies the role
    table and audits; report how many were revoked and how many it left as they were."""
    revoked, skipped = 0, 0
    for obj in objects:
        try:
            revoke(obj.pk, actor=request.user, meta=request_meta(request))
        except ConvitesError:
            skipped += 1
        else:
            revoked += 1
    model_admin.message_user(
        request, _("%(revoked)d revoked, %(skipped)d left as they were.") % {"revoked": revoked, "skipped": skipped}
    )


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin):
    """Read-only: audit events are append-only. Each user sees the events the API would show them
    (:func:`~django_convites.audit.events_visible_to`); search by username, IP, event or target id."""

    list_display = ("created_at", "event", "actor", "target_type", "target_id", "ip")
    list_filter = ("event", "target_type", "created_at")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return events_visible_to(request.user).select_related("actor")

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return [f"actor__{get_user_model().USERNAME_FIELD}", "ip", "event", "=target_id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in AuditEvent._meta.fields]


def events_link(obj: Any) -> str:
    """A link to the audit events whose target is ``obj``, for its admin page."""
    url = reverse("admin:django_convites_auditevent_changelist")
    query = urlencode({"target_type": obj.audit_target_type, "target_id": str(obj.pk)})
    return format_html('<a href="{}?{}">{}</a>', url, query, _("Its audit events"))


class InviteStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "estado"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(state.value, str(state.label)) for state in InviteState]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Invite]) -> QuerySet[Invite]:
        value = self.value()
        if value in InviteState.values:
            # The admin's queryset comes from Invite's default manager, an InviteQuerySet.
            return cast(InviteQuerySet, queryset).in_state(value)
        return queryset


@admin.register(Invite)
class InviteAdmin(ViewOnlyAdmin):
    """Invites can be looked at and revoked here, never edited. The code and its digest are not shown.

    Invites are issued through the API or the HTML page, where the code is shown once to its issuer.
    """

    list_display = (
        "id",
        "target_type",
        "state_label",
        "email",
        "organization_ref",
        "issued_by",
        "created_at",
        "expires_at",
    )
    list_filter = (InviteStateFilter, "target_type", "created_at")
    list_select_related = ("issued_by",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["revoke_selected"]
    fields = (
        "id",
        "target_type",
        "state_label",
        "organization_ref",
        "nucleus_refs",
        "email",
        "issued_by",
        "created_at",
        "expires_at",
        "used_at",
        "used_by",
        "revoked_at",
        "revoked_by",
        "audit_events",
    )
    readonly_fields = fields

    @admin.display(description=_("audit events"))
    def audit_events(self, invite: Invite) -> str:
        return events_link(invite)

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        username = get_user_model().USERNAME_FIELD
        return ["=id", "target_type", "email", "organization_ref", f"issued_by__{username}", f"used_by__{username}"]

    @admin.display(description=_("state"))
    def state_label(self, invite: Invite) -> str:
        return str(invite.state().label)

    @admin.action(description=_("Revoke the selected invites"), permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Invite]) -> None:
        revoke_each(
            self, request, queryset.order_by("created_at"), lambda pk, **kw: invites.revoke_invite(str(pk), **kw)
        )

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


@admin.register(ApiToken)
class ApiTokenAdmin(ViewOnlyAdmin):
    """API tokens can be looked at and revoked here, never created or edited: the secret exists only in the
    answer that creates it. The digest is not shown; the prefix is, to recognise a token."""

    list_display = ("prefix", "name", "user", "scope", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("scope", ("revoked_at", admin.EmptyFieldListFilter), "created_at")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["revoke_selected"]
    fields = (
        "id",
        "prefix",
        "name",
        "user",
        "scope",
        "allowed_ips",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_ip",
        "revoked_at",
        "revoked_by",
        "rotated_from",
        "audit_events",
    )
    readonly_fields = fields

    @admin.display(description=_("audit events"))
    def audit_events(self, token: ApiToken) -> str:
        return events_link(token)

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return ["=id", "=prefix", "name", f"user__{get_user_model().USERNAME_FIELD}"]

    @admin.action(description=_("Revoke the selected API tokens"), permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoke_each(
            self, request, queryset.filter(revoked_at__isnull=True).order_by("created_at"), api_tokens.revoke_api_token
        )

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)


@admin.register(SessionFamily)
class SessionFamilyAdmin(ViewOnlyAdmin):
    """JWT sessions: who is logged in, from where; the *End the selected sessions* action logs them out.
    Refresh tokens (digests) are not shown."""

    list_display = (
        "user",
        "created_at",
        "last_refreshed_at",
        "expires_at",
        "ip",
        "user_agent",
        "revoked_at",
        "revoked_reason",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "revoked_reason", "created_at")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["end_selected"]
    fields = (
        "id",
        "user",
        "created_at",
        "last_refreshed_at",
        "expires_at",
        "ip",
        "user_agent",
        "revoked_at",
        "revoked_reason",
        "audit_events",
    )
    readonly_fields = fields

    @admin.display(description=_("audit events"))
    def audit_events(self, family: SessionFamily) -> str:
        return events_link(family)

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return ["=id", "=ip", f"user__{get_user_model().USERNAME_FIELD}"]

    @admin.action(description=_("End the selected sessions"), permissions=["end"])
    def end_selected(self, request: HttpRequest, queryset: QuerySet[SessionFamily]) -> None:
        ended = sum(
            sessions.end_session(family, actor=request.user, reason="admin", meta=request_meta(request))
            for family in queryset.filter(revoked_at__isnull=True)
            if policy.decide(request.user, policy.Act.END_SESSION_OF_OTHERS, policy.Subject(owner_id=family.user_id))
        )
        self.message_user(request, _("%(count)d sessions ended.") % {"count": ended})

    def has_end_permission(self, request: HttpRequest) -> bool:
        # Ending someone else's session is managing their credentials: root and admin only.
        return self.has_view_permission(request) and (
            policy.reach(request.user, policy.Act.END_SESSION_OF_OTHERS) is roles.Reach.ALL
        )


@admin.register(BackupCodeDevice)
class BackupCodeDeviceAdmin(ViewOnlyAdmin):
    """Who has backup codes and how many are left; the codes are digests and are never shown."""

    list_display = ("user", "name", "remaining")
    list_select_related = ("user",)
    fields = ("user", "name", "confirmed", "remaining")
    readonly_fields = fields

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return [f"user__{get_user_model().USERNAME_FIELD}"]

    @admin.display(description=_("codes left"))
    def remaining(self, obj: BackupCodeDevice) -> int:
        remaining: int = obj.codes.filter(used_at__isnull=True).count()
        return remaining


@admin.register(AuthCode)
class AuthCodeAdmin(ViewOnlyAdmin):
    """Authentication codes, to look at: who got one, for what, how, and what became of it. The code and
    its digest are not shown (the code is not stored at all)."""

    list_display = (
        "id",
        "user",
        "purpose",
        "channel",
        "created_at",
        "expires_at",
        "used_at",
        "replaced_at",
        "attempts",
    )
    list_filter = ("purpose", "channel", ("used_at", admin.EmptyFieldListFilter), "created_at")
    list_select_related = ("user",)
    show_full_result_count = False
    fields = ("id", "user", "purpose", "channel", "created_at", "expires_at", "used_at", "replaced_at", "attempts")
    readonly_fields = fields

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return ["=id", "purpose", f"user__{get_user_model().USERNAME_FIELD}"]


@admin.register(TwoFactorLimit)
class TwoFactorLimitAdmin(ViewOnlyAdmin):
    """Who typed wrong two-factor codes in a row, and whose codes are refused until when
    (``TOTP_FAILURE_LIMIT``); the *Unlock* action lifts a lockout, for root and admin, and is audited."""

    list_display = ("user", "consecutive_failures", "locked_until", "is_locked")
    list_select_related = ("user",)
    ordering = (F("locked_until").desc(nulls_last=True), "-consecutive_failures")  # the locked first
    show_full_result_count = False
    actions = ["unlock_selected"]
    fields = ("user", "consecutive_failures", "locked_until", "is_locked")
    readonly_fields = fields

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return [f"user__{get_user_model().USERNAME_FIELD}"]

    @admin.display(description=_("locked"), boolean=True)
    def is_locked(self, row: TwoFactorLimit) -> bool:
        return row.locked_until is not None and row.locked_until > timezone.now()

    @admin.action(description=_("Unlock the two-factor codes of the selected users"), permissions=["unlock"])
    def unlock_selected(self, request: HttpRequest, queryset: QuerySet[TwoFactorLimit]) -> None:
        unlocked = 0
        for row in queryset.select_related("user"):
            try:
                unlocked += two_factor.unlock(row.user, actor=request.user, meta=request_meta(request))
            except ConvitesError:
                continue  # outside the admin's organizations, or their own lockout
        self.message_user(request, _("%(count)d users unlocked.") % {"count": unlocked})

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        # Lifting someone's lockout is managing their credentials: root and admin only.
        return self.has_view_permission(request) and (
            policy.reach(request.user, policy.Act.UNLOCK_SECOND_FACTOR) is roles.Reach.ALL
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ViewOnlyAdmin):
    """The webhook outbox: what was sent where, what is waiting, and what died with its last error. *Send
    again* makes the selected deliveries due now, with their attempts counted afresh; a worker sends them
    (``convites_deliver_webhooks``). Root and admin only, as for reading the events."""

    list_display = (
        "id",
        "event",
        "event_link",
        "url",
        "state",
        "attempts",
        "next_attempt_at",
        "last_status",
        "last_error",
        "delivered_at",
    )
    list_filter = ("state", "event", "created_at")
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["send_again"]
    fields = (
        "id",
        "event",
        "event_link",
        "url",
        "state",
        "attempts",
        "created_at",
        "next_attempt_at",
        "last_attempt_at",
        "leased_until",
        "delivered_at",
        "last_status",
        "last_error",
        "payload",
    )
    readonly_fields = fields

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return ["=id", "=event_id", "event", "url", "last_error"]

    @admin.display(description=_("audit event"))
    def event_link(self, delivery: WebhookDelivery) -> str:
        url = reverse("admin:django_convites_auditevent_change", args=[delivery.event_id])
        return format_html('<a href="{}">#{}</a>', url, delivery.event_id)

    @admin.action(description=_("Send the selected deliveries again"), permissions=["redeliver"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = webhooks.requeue(queryset, actor=request.user)
        self.message_user(request, _("%(count)d deliveries are due again; a worker sends them.") % {"count": count})

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request) and (
            policy.reach(request.user, policy.Act.REDELIVER_WEBHOOK) is roles.Reach.ALL
        )
