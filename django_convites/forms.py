"""Forms of the HTML pages. They shape input only; the services decide (roles, quota, organizations)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from django_convites import orgs, policy, roles, tokens
from django_convites.conf import app_settings


class IssueInviteForm(forms.Form):
    """Issue an invite: the target types the user may grant, and the organizations they may act on."""

    tipo_destino = forms.ChoiceField(label=_("Target type"))
    # The host's models, from the settings; the querysets are the user's, set in __init__.
    organizacao: forms.ModelChoiceField[models.Model] = forms.ModelChoiceField(
        label=_("Organization"), queryset=None, required=False
    )
    nucleos: forms.ModelMultipleChoiceField[models.Model] = forms.ModelMultipleChoiceField(
        label=_("Nuclei"), queryset=None, required=False
    )
    data_expiracao = forms.DateTimeField(
        label=_("Expires at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Leave empty for the default lifetime."),
    )
    email = forms.EmailField(
        label=_("E-mail"),
        required=False,
        help_text=_("Bind the invite to this address: only a sign-up with it may use the invite."),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["tipo_destino"]).choices = [
            (name, name)
            for name in app_settings.TARGET_TYPES
            if policy.may_grant(user, roles.role_for_target_type(name))
        ]
        organization_model, nucleus_model = orgs.organization_model(), orgs.nucleus_model()
        if organization_model is None:
            del self.fields["organizacao"]
        else:
            queryset = organization_model._default_manager.all()
            managed = roles.managed_organizations(user)
            if managed is not None:
                queryset = queryset.filter(pk__in=list(managed))
            cast("forms.ModelChoiceField[models.Model]", self.fields["organizacao"]).queryset = queryset
        if nucleus_model is None or organization_model is None:
            del self.fields["nucleos"]
        else:
            field = app_settings.NUCLEUS_ORGANIZATION_FIELD
            organizations = cast("forms.ModelChoiceField[models.Model]", self.fields["organizacao"]).queryset
            nuclei = cast("forms.ModelMultipleChoiceField[models.Model]", self.fields["nucleos"])
            nuclei.queryset = nucleus_model._default_manager.filter(**{f"{field}__in": organizations})

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "target_type": data["tipo_destino"],
            "organization": data.get("organizacao"),
            "nuclei": list(data.get("nucleos") or ()),
            "expires_at": data.get("data_expiracao"),
            "email": data.get("email") or None,
        }


class ValidateInviteForm(forms.Form):
    codigo = forms.CharField(
        label=_("Invite code"),
        max_length=tokens.TOKEN_LENGTH + 16,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class TwoFactorCodeForm(forms.Form):
    """A current code of the authenticator app: six digits (the service checks them exactly); where the
    page says so, a backup code."""

    codigo = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=32,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class EnableTwoFactorForm(TwoFactorCodeForm):
    """Confirm a new device: its current code, and whether to keep the API tokens (off by default: they
    were made without a second factor, so turning it on revokes them)."""

    manter_api_tokens = forms.BooleanField(
        label=_("Keep my API tokens"),
        required=False,
        help_text=_("Leave this off to revoke them: they were made without a second factor."),
    )
