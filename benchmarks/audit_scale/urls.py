"""The URL configuration the benchmark's settings name: the app's API, as a project mounts it."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("api/", include("django_convites.api.urls"))]
