"""Sign-up with an invite: a new account, the invite spent for it and a session, in one transaction
(docs/invites.rst, "Inviting someone new").

The account is made by the ``SIGNUP_FORM`` setting's form; the invite is spent by
:func:`~django_convites.services.invites.use_invite`, whose one conditional ``UPDATE`` decides between
concurrent sign-ups and uses; the session is opened by
:func:`~django_convites.services.sessions.start_session`. ``invite_used`` is sent inside that
transaction, so what a site's receiver does there (attach the user to the organization, nuclei and role)
commits or rolls back with the account.

:func:`create_account_with_invite` is the part without the session, for the accept page, which logs the
new user in to a Django session instead; :func:`sign_up_with_invite` (the API) adds the JWT session.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from django_convites import signals
from django_convites.conf import app_settings
from django_convites.exceptions import (
    ConvitesError,
    InvalidFields,
    InviteEmailMismatch,
    InviteExpired,
    InviteNotFound,
    InviteRevoked,
    InviteUsed,
    SignUpFailed,
)
from django_convites.models import Invite, InviteState
from django_convites.net import RequestMeta
from django_convites.services import invites, sessions
from django_convites.services.sessions import TokenPair

logger = logging.getLogger("django_convites")

#: The key of a form's errors that belong to no one field, as the API names it (DRF's).
NON_FIELD_ERRORS = "non_field_errors"


@dataclass(frozen=True)
class Account:
    """What :func:`create_account_with_invite` made: the new user and the invite spent for them."""

    user: Any
    invite: Invite


@dataclass(frozen=True)
class SignUp:
    """What a sign-up made: the new user, the invite spent for them, and their session's first pair."""

    user: Any
    invite: Invite
    pair: TokenPair


#: The error a use of an invite in each closed state answers (as use_invite does).
_REFUSALS: dict[InviteState, type[ConvitesError]] = {
    InviteState.USED: InviteUsed,
    InviteState.REVOKED: InviteRevoked,
    InviteState.EXPIRED: InviteExpired,
}


def _refused(error: ConvitesError, invite: Invite | None, meta: RequestMeta | None) -> ConvitesError:
    """``error``, audited as a failed use (``convite_uso_falhou``) with its code as ``motivo``."""
    signals.invite_use_failed.send(sender=Invite, actor=None, target=invite, meta=meta, details={"motivo": error.code})
    return error


def _usable_invite(ref: str, code: object, meta: RequestMeta | None) -> Invite:
    """The invite ``ref`` (and ``code``) name, read without a change, if it can be used now; else the
    error :func:`~django_convites.services.invites.use_invite` would answer, so that a refused sign-up
    creates no account at all. The use itself still decides (a concurrent one may win in between)."""
    if invites.is_code(ref):
        parsed = invites.parse_code(ref)
        expected_id = None
    else:
        parsed = invites.parse_code(code)
        try:
            expected_id = uuid.UUID(ref)
        except ValueError:
            raise InviteNotFound() from None
    invite = Invite.objects.filter(code_digest=parsed.digest).first()
    if invite is None or (expected_id is not None and invite.pk != expected_id):
        raise _refused(InviteNotFound(), None, meta)
    refusal = _REFUSALS.get(invite.state(timezone.now()))
    if refusal is not None:
        raise _refused(refusal(), invite, meta)
    # Before the sign-up's transaction, so that the withdrawal stands when the sign-up is refused.
    cause = invites.withdraw_if_ungrantable(invite, meta=meta)
    if cause is not None:
        error = InviteRevoked()
        signals.invite_use_failed.send(
            sender=Invite, actor=None, target=invite, meta=meta, details={"motivo": error.code, "causa": cause}
        )
        raise error
    return invite


def _form_errors(form: Any) -> dict[str, list[str]]:
    return {NON_FIELD_ERRORS if name == "__all__" else name: list(messages) for name, messages in form.errors.items()}


def signup_form(data: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
    """An instance of the ``SIGNUP_FORM`` setting's form class, bound to ``data`` (unbound without)."""
    return app_settings.SIGNUP_FORM(data=data, **kwargs)


@sensitive_variables("code", "form")
def create_account_with_invite(ref: str, *, code: object = None, form: Any, meta: RequestMeta | None = None) -> Account:
    """Create the account a bound ``SIGNUP_FORM`` ``form`` describes with the invite ``ref`` names (its
    code, or its id together with ``code``) and spend the invite for it, in one transaction; no session.

    Refusals, in order, none of which leaves an account or a spent invite: the invite's errors as
    :func:`~django_convites.services.invites.use_invite` answers them; the form's errors (400
    :class:`~django_convites.exceptions.InvalidFields`, the field map; ``form.errors`` holds them too); an
    address other than the one the invite is bound to (400 ``invite_email_mismatch``); an account with the
    same details made by a concurrent sign-up (400, a non-field error). Anything raised after the account
    is created (the use losing a race, a site's ``invite_used`` receiver) rolls the account back with the
    use.
    """
    return _create_account(_usable_invite(ref, code, meta), ref, code, form, meta)


@sensitive_variables("code", "form")
def _create_account(invite: Invite, ref: str, code: object, form: Any, meta: RequestMeta | None) -> Account:
    if not form.is_valid():
        raise InvalidFields(_form_errors(form))
    if not invites.email_matches(invite, form.cleaned_data.get("email")):
        raise _refused(InviteEmailMismatch(), invite, meta)
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    user = form.save()
            except IntegrityError:
                # Another sign-up took the same username or address between the form's check and the insert.
                raise InvalidFields({NON_FIELD_ERRORS: [_("An account with these details exists already.")]}) from None
            spent = invites.use_invite(ref, user=user, code=code, address=form.cleaned_data.get("email"), meta=meta)
    except (ConvitesError, OperationalError, InterfaceError):
        # The app's refusals, and the database itself failing (a lost connection, a locked SQLite file):
        # answered as anywhere else (a 500, or 503 database_busy), not blamed on the site's receiver.
        raise
    except Exception:
        # A site's invite_used receiver (or its form's save) failed: the account and the use rolled back.
        logger.exception("django_convites: a sign-up with an invite failed; nothing was saved")
        raise SignUpFailed() from None
    return Account(user=user, invite=spent)


@sensitive_variables("code", "data", "form")
def sign_up_with_invite(
    ref: str, *, code: object = None, data: Mapping[str, Any], meta: RequestMeta | None = None
) -> SignUp:
    """Create an account from ``data`` (the ``SIGNUP_FORM`` fields) with the invite ``ref`` names (its
    code, or its id together with ``code``), spend the invite for it and open its first session.

    Refusals, in order, none of which leaves an account or a spent invite: the invite's errors as
    :func:`~django_convites.services.invites.use_invite` answers them (400 ``invalid_code_format``, 404,
    409 ``invite_used``, 410 ``invite_expired`` / ``invite_revoked``); a field unknown to the form or
    refused by it, the password validators included (400, the field map); an address other than the one
    the invite is bound to (400 ``invite_email_mismatch``). Anything raised after the account is created
    (the use losing a race, a site's ``invite_used`` receiver) rolls the account back with the use.
    """
    invite = _usable_invite(ref, code, meta)  # an unusable invite is refused before the fields are read
    form = signup_form(data)
    unknown = sorted(str(key) for key in data if key not in form.fields)
    if unknown:
        raise InvalidFields({key: [_("Unknown field.")] for key in unknown})
    with transaction.atomic():
        account = _create_account(invite, ref, code, form, meta)
        pair = sessions.start_session(account.user, meta=meta)
    return SignUp(user=account.user, invite=account.invite, pair=pair)
