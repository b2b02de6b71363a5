"""An account adapter for django-allauth that lets an invite open allauth's sign-up (docs/allauth.rst).

The accept link of an invite keeps its code in the session (:data:`django_convites.views.ACCEPT_SESSION_KEY`);
with ``SIGNUP_URL = "account_signup"`` the accept page links to allauth's sign-up, and there this adapter

- opens the sign-up for a usable invite (with :attr:`InviteAdapterMixin.invite_required`, only for one),
  and fills the form's address in with the one a bound invite names;
- refuses, as an error of the form's ``email`` field, an address other than a bound invite's (compared
  in any case, :func:`~django_convites.services.invites.email_matches`);
- creates the user and spends the invite with :func:`~django_convites.services.invites.use_invite` in one
  transaction, so that a refused use, or a site's ``invite_used`` receiver refusing, leaves no user;
- has allauth count a bound invite's address as verified (``stash_verified_email``), so no confirmation
  mail goes there: the invite's link was mailed to it.

Use it as ``ACCOUNT_ADAPTER``, or mix :class:`InviteAdapterMixin` into the site's own adapter, first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from django_convites import signals
from django_convites.exceptions import ConvitesError, InviteEmailMismatch, InviteExpired, InviteRevoked, InviteUsed
from django_convites.models import Invite, InviteState
from django_convites.net import RequestMeta, request_meta
from django_convites.services import invites
from django_convites.views import ACCEPT_SESSION_KEY

if TYPE_CHECKING:  # the mixin is checked as the allauth adapter it is mixed into
    from allauth.account.adapter import DefaultAccountAdapter as _AdapterBase
else:
    _AdapterBase = object

logger = logging.getLogger(__name__)

#: Where allauth keeps an address verified outside allauth (``DefaultAccountAdapter.stash_verified_email``):
#: its sign-up form starts with it, and the account it makes has it as a verified address.
VERIFIED_EMAIL_SESSION_KEY = "account_verified_email"


class InviteAdapterMixin(_AdapterBase):  # type: ignore[misc]  # allauth ships no types: its adapter is Any
    """The invite's part of an allauth account adapter; put it before ``DefaultAccountAdapter`` (or the
    site's adapter) in the bases."""

    #: Whether allauth's sign-up is closed to anyone without a usable invite in the session. False: without
    #: one it is as open as the adapter this is mixed into says (allauth's: ``ACCOUNT_SIGNUP_ENABLED``, in the
    #: versions that have it); a usable invite opens it either way.
    invite_required: bool = False

    def invite_code(self, request: HttpRequest) -> str | None:
        """The code the invite's accept link left in ``request``'s session, if any."""
        code = request.session.get(ACCEPT_SESSION_KEY)
        return code if isinstance(code, str) else None

    @sensitive_variables("code")
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Open for a usable invite in the session (whose bound address then fills the form in); else
        closed with :attr:`invite_required`, or as allauth says. An invite that can no longer be used
        leaves the session with a message saying why, and a sign-up posted with it starts over."""
        code = self.invite_code(request)
        if code is not None:
            try:
                invite = invites.validate_invite(code, actor=getattr(request, "user", None), meta=request_meta(request))
            except ConvitesError as refusal:
                self.forget_invite(request, _lookup(code))
                messages.error(request, str(refusal.detail), fail_silently=True)
                if request.method == "POST":  # meant with the invite: never a sign-up without it
                    raise ImmediateHttpResponse(HttpResponseRedirect(request.get_full_path())) from None
            else:
                if invite.email and _signup_asks_for_email():
                    self.stash_verified_email(request, invite.email)
                return True
        return not self.invite_required and bool(super().is_open_for_signup(request))

    @sensitive_variables("code")
    def validate_unique_email(self, email: str) -> str:
        """allauth's check of a new account's address (its sign-up forms'): with a bound invite in the
        session, an address other than the invite's is refused as an error of the form's ``email``."""
        email = super().validate_unique_email(email)
        request = self.request  # allauth's request of the moment (its AccountMiddleware sets it)
        if request is None or getattr(request, "user", None) is None or request.user.is_authenticated:
            return email
        code = self.invite_code(request)
        invite = None if code is None else _lookup(code)
        if invite is not None and not invites.email_matches(invite, email):
            _audit_refusal(invite, InviteEmailMismatch.code, request_meta(request))
            raise ValidationError(str(InviteEmailMismatch.default_detail), code=InviteEmailMismatch.code)
        return email

    @sensitive_variables("code")
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        """Create the user as allauth does and, with an invite in the session, spend it for the user in the
        same transaction. A refusal (the invite used, revoked or expired meanwhile, an address other than
        a bound invite's, a site's ``invite_used`` receiver raising a
        :class:`~django_convites.exceptions.ConvitesError`) rolls the user back and answers with a
        redirect to the sign-up page, which shows the refusal as a message. Other failures (a receiver's)
        roll back too, are logged, and are answered the same way with "Your account could not be created"."""
        code = self.invite_code(request)
        if code is None or not commit:  # an unsaved user cannot be the invite's user
            return super().save_user(request, user, form, commit)
        meta = request_meta(request)
        invite = _lookup(code)
        try:
            with transaction.atomic():
                # The invite's row stays locked until the user and the use commit or roll back together: a
                # concurrent use waits, and one that won first is refused here, before any user exists.
                locked = _locked_usable(code, meta)
                if not invites.email_matches(locked, form.cleaned_data.get("email")):
                    _audit_refusal(locked, InviteEmailMismatch.code, meta)
                    raise InviteEmailMismatch()
                saved = super().save_user(request, user, form, commit=True) or user
                spent = invites.use_invite(code, user=saved, meta=meta)
        except ConvitesError as refusal:
            messages.error(request, str(refusal.detail), fail_silently=True)
            if invite is not None:
                invite.refresh_from_db()
            if invite is None or invite.state() is not InviteState.NEW:
                self.forget_invite(request, invite)
            raise ImmediateHttpResponse(HttpResponseRedirect(request.get_full_path())) from None
        except ImmediateHttpResponse:  # the site's own adapter answering: its answer stands
            raise
        except Exception:
            # A site's invite_used receiver (or the insert) failed: the user and the use were rolled back.
            logger.exception("The sign-up with an invite failed; nothing was saved.")
            messages.error(
                request, _("Your account could not be created. Nothing was saved: try again later."), fail_silently=True
            )
            raise ImmediateHttpResponse(HttpResponseRedirect(request.get_full_path())) from None
        request.session.pop(ACCEPT_SESSION_KEY, None)
        if spent.email:
            self.stash_verified_email(request, spent.email)
        return saved

    def forget_invite(self, request: HttpRequest, invite: Invite | None) -> None:
        """Take the invite's code out of the session, and the address it had allauth count as verified."""
        request.session.pop(ACCEPT_SESSION_KEY, None)
        stashed = request.session.get(VERIFIED_EMAIL_SESSION_KEY)
        if invite is not None and invite.email and invites.email_matches(invite, stashed):
            request.session[VERIFIED_EMAIL_SESSION_KEY] = None


class InviteAccountAdapter(InviteAdapterMixin, DefaultAccountAdapter):  # type: ignore[misc]  # as above
    """allauth's default adapter with invites; without one, sign-up is as open as allauth says."""


class InviteOnlyAccountAdapter(InviteAccountAdapter):
    """allauth's default adapter with invites; its sign-up is closed to anyone without a usable one."""

    invite_required = True


@sensitive_variables("code")
def _lookup(code: str) -> Invite | None:
    """The invite of ``code`` in whatever state, without an audit row; None for no invite."""
    try:
        return invites.find_by_code(code)
    except ConvitesError:
        return None


def _signup_asks_for_email() -> bool:
    """Whether allauth's sign-up form has an ``email`` field (``ACCOUNT_SIGNUP_FIELDS``), which the
    address allauth counts as verified fills in (its sign-up page fails on one without the field)."""
    fields = getattr(account_settings, "SIGNUP_FIELDS", None)
    return fields is None or "email" in fields


#: The error a use of an invite in each closed state answers (as use_invite does).
_REFUSALS: dict[InviteState, type[ConvitesError]] = {
    InviteState.USED: InviteUsed,
    InviteState.REVOKED: InviteRevoked,
    InviteState.EXPIRED: InviteExpired,
}


@sensitive_variables("code")
def _locked_usable(code: str, meta: RequestMeta) -> Invite:
    """The invite of ``code``, its row locked for the rest of the transaction, if it can be used now;
    else the error a use would answer (audited as a failed use, ``convite_uso_falhou``)."""
    found = invites.find_by_code(code)
    invite = Invite.objects.select_for_update().get(pk=found.pk)
    refusal = _REFUSALS.get(invite.state())
    if refusal is not None:
        _audit_refusal(invite, refusal.code, meta)
        raise refusal()
    return invite


def _audit_refusal(invite: Invite, reason: str, meta: RequestMeta) -> None:
    signals.invite_use_failed.send(sender=Invite, actor=None, target=invite, meta=meta, details={"motivo": reason})
