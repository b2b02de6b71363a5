"""The recipe of docs/allauth.rst for a site's own, plain Django sign-up view (shown there as it is here)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_variables

from django_convites.exceptions import ConvitesError, InviteEmailMismatch
from django_convites.net import request_meta
from django_convites.services import invites
from django_convites.views import ACCEPT_SESSION_KEY


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


@sensitive_variables("code")
def sign_up(request: HttpRequest) -> HttpResponse:
    form = SignUpForm(request.POST or None)
    code = request.session.get(ACCEPT_SESSION_KEY)  # left there by the invite's accept link
    if request.method == "POST" and form.is_valid():
        try:
            if code:  # a closed invite, or another address than a bound one's, before any user exists
                invite = invites.validate_invite(code, meta=request_meta(request))
                if not invites.email_matches(invite, form.cleaned_data["email"]):
                    raise InviteEmailMismatch()
            with transaction.atomic():  # the user and the use commit, or roll back, together
                user = form.save()
                if code:
                    invites.use_invite(code, user=user, meta=request_meta(request))
        except ConvitesError as refusal:  # the invite's, or your invite_used receiver's
            form.add_error(None, str(refusal.detail))
        else:
            request.session.pop(ACCEPT_SESSION_KEY, None)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "sign_up.html", {"form": form})
