"""The JSON API. Mount it with ``path("api/", include("django_convites.api.urls"))``."""

from __future__ import annotations

from django.urls import path

from django_convites.api import views

app_name = "convites_api"

urlpatterns = [
    path("", views.APIRootView.as_view(), name="root"),
    path("auditoria/", views.AuditEventViewSet.as_view({"get": "list"}), name="audit-list"),
]
