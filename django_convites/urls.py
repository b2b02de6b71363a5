"""The HTML pages (two-factor setup and verification). Mount them with
``path("tokens/", include("django_convites.urls"))``; the pages arrive with the two-factor feature."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "django_convites"

urlpatterns: list[URLPattern] = []
