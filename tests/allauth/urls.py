"""The test URLs with allauth's under ``accounts/``."""

from __future__ import annotations

from django.urls import include, path

from tests.allauth import recipe
from tests.urls import handler400, handler403, handler404, handler500
from tests.urls import urlpatterns as base_patterns

urlpatterns = [
    *base_patterns,
    path("accounts/", include("allauth.urls")),
    path("site/cadastro/", recipe.sign_up, name="site-sign-up"),  # docs/allauth.rst's recipe
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
