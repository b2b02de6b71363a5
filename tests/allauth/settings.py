"""The test settings with django-allauth's accounts and the app's allauth adapter, for tests/allauth/
(``pytest tests/allauth --ds tests.allauth.settings``)."""

from __future__ import annotations

from pathlib import Path

from tests.settings import *  # noqa: F403
from tests.settings import DJANGO_CONVITES, INSTALLED_APPS, MIDDLEWARE, TEMPLATES

INSTALLED_APPS = [*INSTALLED_APPS, "allauth", "allauth.account"]
MIDDLEWARE = [*MIDDLEWARE, "allauth.account.middleware.AccountMiddleware"]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ROOT_URLCONF = "tests.allauth.urls"
TEMPLATES = [{**TEMPLATES[0], "DIRS": [Path(__file__).resolve().parent / "templates"]}]
LOGIN_REDIRECT_URL = "/site/page/"

ACCOUNT_ADAPTER = "django_convites.contrib.allauth.adapter.InviteAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
# Mandatory: an address allauth does not count as verified gets a confirmation mail and no login yet.
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_RATE_LIMITS = False

DJANGO_CONVITES = {**DJANGO_CONVITES, "SIGNUP_URL": "account_signup"}
# Mail goes to the locmem outbox: tests.settings names it for Django 6.1, the test runner for older ones.
