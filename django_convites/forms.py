"""Forms of the HTML pages. They shape input only; the services decide (roles, quota, organizations)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts
from django.db import models
from django.utils.html import escape
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


class UseInviteForm(forms.Form):
    """The accept page's button: the code comes from the session, never from the form."""


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


class _Text:
    """For a form field: a JSON body sent to the sign-up must give a string, never a number or a list
    (which Django's fields would turn into their text)."""

    def to_python(self, value: Any) -> Any:
        if value not in (None, "") and not isinstance(value, str):
            raise forms.ValidationError(_("Enter a string."), code="invalid")
        return super().to_python(value)  # type: ignore[misc]


class _TextField(_Text, forms.CharField):
    pass


class _EmailField(_Text, forms.EmailField):
    pass


class InviteSignUpForm(forms.Form):
    """The default ``SIGNUP_FORM``: a new account of ``AUTH_USER_MODEL`` for someone who holds an invite.

    Fields (their wire names): ``username``, the model's ``USERNAME_FIELD`` (absent when that field is the
    e-mail address); ``email``, required, stored in the model's e-mail field when it has one; ``password``,
    run through ``AUTH_PASSWORD_VALIDATORS`` with the unsaved user. The model's own validation (field
    validators, uniqueness) runs too. :meth:`save` creates the user. A site's own form needs the same
    interface: the ``email`` field, ``is_valid()`` and ``save()`` returning the new user.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        self.user_model = get_user_model()
        self.username_field = self.user_model.USERNAME_FIELD
        self.email_field = self.user_model.get_email_field_name()
        model_fields = {field.name for field in self.user_model._meta.concrete_fields}
        #: The model field that stores the address, or None when the model has none.
        self.email_column = self.email_field if self.email_field in model_fields else None
        if self.username_field != self.email_column:
            length = getattr(self.user_model._meta.get_field(self.username_field), "max_length", None) or 254
            self.fields["username"] = _TextField(
                label=_("Username"),
                max_length=length,
                strip=True,
                widget=forms.TextInput(attrs={"autocomplete": "username"}),
            )
        self.fields["email"] = _EmailField(
            label=_("E-mail"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
        )
        self.fields["password"] = _TextField(
            label=_("Password"),
            max_length=4096,
            strip=False,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
            # Sentences, not Django's <ul>: a list cannot sit in the <p> of as_p, and the field's
            # aria-describedby would point at an empty element.
            help_text=escape(" ".join(str(text) for text in password_validators_help_texts())),
        )
        self.user: Any = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        from django.contrib.auth.models import BaseUserManager
        from django.contrib.auth.password_validation import validate_password

        email = BaseUserManager.normalize_email(data["email"])
        data["email"] = email
        values: dict[str, Any] = {}
        if "username" in self.fields:
            values[self.username_field] = self.user_model.normalize_username(data["username"])
        if self.email_column is not None:
            values[self.email_column] = email
        user = self.user_model(**values)
        wire = {}  # model field -> wire name, for the model's errors
        if "username" in self.fields:
            wire[self.username_field] = "username"
        if self.email_column is not None:
            wire[self.email_column] = "email"
        excluded = [field.name for field in self.user_model._meta.fields if field.name not in values]
        try:
            user.full_clean(exclude=excluded)
        except forms.ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(wire.get(name), messages)
        try:
            validate_password(data["password"], user)
        except forms.ValidationError as error:
            self.add_error("password", error)
        self.user = user
        return data

    def save(self) -> Any:
        """Create the user the valid form describes, with its password hashed; the new user."""
        if self.user is None or self.errors:
            raise ValueError("save() needs a valid form")
        self.user.set_password(self.cleaned_data["password"])
        self.user.save()
        return self.user
