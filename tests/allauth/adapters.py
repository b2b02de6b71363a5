"""Adapters of the tests: a site's own adapter with the mixin, and one that loses the race on purpose."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth import get_user_model
from django.http import HttpRequest

from django_convites.contrib.allauth.adapter import InviteAccountAdapter, InviteAdapterMixin
from django_convites.services import invites
from django_convites.views import ACCEPT_SESSION_KEY


class SiteAdapter(InviteAdapterMixin, DefaultAccountAdapter):
    """A site's own adapter, invite-only, that does something of its own when it saves a user."""

    invite_required = True

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user.first_name = "Do site"
        return super().save_user(request, user, form, commit)


class ClosedBase(DefaultAccountAdapter):
    """A site's adapter that closes allauth's sign-up (as ``ACCOUNT_SIGNUP_ENABLED = False`` does in the
    allauth versions that have the setting)."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


class ClosedSiteAdapter(InviteAdapterMixin, ClosedBase):
    """The invites mixed into a site's adapter that closes the sign-up."""


class SpentMeanwhileAdapter(InviteAccountAdapter):
    """Spends the session's invite for someone else after the sign-up page checked it and before the user
    is saved: the window in which a concurrent use wins."""

    def new_user(self, request: HttpRequest) -> Any:
        other = get_user_model()._default_manager.get(username="usuario")
        invites.use_invite(request.session[ACCEPT_SESSION_KEY], user=other)
        return super().new_user(request)
