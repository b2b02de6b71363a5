from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from django_convites.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: audit events are append-only, the admin can neither add, change nor delete them."""

    list_display = ("created_at", "event", "actor", "target_type", "target_id", "ip")
    list_filter = ("event", "target_type", "created_at")
    search_fields = ("event", "target_id", "ip")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
