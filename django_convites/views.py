"""HTML pages: issue, validate and accept invites; turn two-factor authentication on and off, make backup
codes, and verify the second factor at login. They call the same services as the API.

Mounted with ``path("tokens/", include("django_convites.urls"))``. Templates extend
``django_convites/base.html`` and can be overridden by the host like any app template (docs/templates.rst).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import global_settings, settings
from django.contrib.auth import load_backend, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.template.loader import render_to_string
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.generic import FormView, View
from django_otp import login as otp_login

from django_convites import orgs, policy, ratelimit, roles, tokens
from django_convites.conf import app_settings
from django_convites.exceptions import (
    ConvitesError,
    InvalidField,
    InvalidFields,
    InviteEmailMismatch,
    SignUpFailed,
    error_answer,
)
from django_convites.forms import (
    EnableTwoFactorForm,
    IssueInviteForm,
    TwoFactorCodeForm,
    UseInviteForm,
    ValidateInviteForm,
)
from django_convites.models import BackupCodeDevice
from django_convites.net import request_meta, site_origin
from django_convites.services import api_tokens, backup_codes, invites, sessions, signup, two_factor

logger = logging.getLogger(__name__)


def home_url() -> str:
    """Where the pages' *Back to the site* and *Continue* links go: ``LOGIN_REDIRECT_URL`` when the site
    sets it to something other than Django's default, else ``/`` (that default, ``/accounts/profile/``, is
    a page few sites have). A site points them elsewhere with the ``home_url`` block of
    ``django_convites/base.html``."""
    if settings.LOGIN_REDIRECT_URL == global_settings.LOGIN_REDIRECT_URL:
        return "/"
    return str(resolve_url(settings.LOGIN_REDIRECT_URL))


if TYPE_CHECKING:  # FormView is generic in django-stubs only; at run time it takes no subscript
    FormPage = FormView[Any]
    _MixinBase = FormPage  # the mixins below are checked as the form pages they are mixed into
else:
    FormPage = FormView
    _MixinBase = object


class NoStoreMixin(_MixinBase):
    """Pages that show or take a code are never cached and never send their URL to another site.

    ``same-origin``, not ``no-referrer``: with ``no-referrer`` browsers send ``Origin: null`` on the
    page's form posts, and Django's CSRF check refuses them."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = super().dispatch(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "same-origin"
        return response


class ThrottledPostMixin(_MixinBase):
    """A form page whose POSTs spend a :class:`~django_convites.ratelimit.RateLimit` (``rate_limit``), the
    same budget as the API's; beyond it, 429 with the form, an error and ``Retry-After``."""

    rate_limit: ratelimit.RateLimit

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = self.rate_limit.hit(request)
        if wait is not None:
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, _("Too many attempts. Try again in a minute."))
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(math.ceil(wait))
            return response
        return super().post(request, *args, **kwargs)


def _form_error(form: Any, error: ConvitesError) -> None:
    field = error.field if isinstance(error, InvalidField) and error.field in form.fields else None
    form.add_error(field, str(error.detail))


class IssueInvitePage(NoStoreMixin, LoginRequiredMixin, FormPage):
    """``/tokens/convites/gerar/``: issue an invite; the code is shown once, on the answer to the POST."""

    template_name = "django_convites/invite_issue.html"
    form_class = IssueInviteForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not policy.decide(request.user, roles.Action.CREATE_INVITE):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["remaining"] = invites.remaining_today(self.request.user)
        return context

    def form_valid(self, form: IssueInviteForm) -> HttpResponse:
        try:
            issued = invites.issue_invite(
                actor=self.request.user,
                meta=request_meta(self.request),
                link_base=site_origin(self.request),
                **form.service_arguments(),
            )
        except ConvitesError as error:
            _form_error(form, error)
            status = error.status_code
            return self.render_to_response(self.get_context_data(form=form), status=status)
        context = self.get_context_data(form=self.get_form_class()(user=self.request.user))
        context.update(
            issued=issued.invite,
            code=issued.code,
            link=invites.accept_link(issued.code, site_origin(self.request)),
            remaining=issued.remaining,
            **orgs.granted_names(issued.invite.organization_ref, issued.invite.nucleus_refs),
        )
        return self.render_to_response(context, status=201)

    def form_invalid(self, form: IssueInviteForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class ValidateInvitePage(NoStoreMixin, ThrottledPostMixin, FormPage):
    """``/tokens/convites/validar/``: whether a code can be used. It never uses the invite."""

    template_name = "django_convites/invite_validate.html"
    form_class = ValidateInviteForm

    rate_limit = ratelimit.INVITE_VALIDATION

    def form_valid(self, form: ValidateInviteForm) -> HttpResponse:
        try:
            invite = invites.validate_invite(
                form.cleaned_data["codigo"], actor=self.request.user, meta=request_meta(self.request)
            )
        except ConvitesError as error:
            form.add_error("codigo", str(error.detail))
            return self.render_to_response(self.get_context_data(form=form), status=error.status_code)
        context = self.get_context_data(form=self.get_form_class()())
        context.update(invite=invite, **orgs.granted_names(invite.organization_ref, invite.nucleus_refs))
        return self.render_to_response(context)

    def form_invalid(self, form: ValidateInviteForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


#: The session key that holds the code of the accept link between its GET and the accept page.
ACCEPT_SESSION_KEY = "django_convites_invite_code"


class AcceptInviteLink(View):
    """``GET /tokens/convites/aceitar/<codigo>/``, the link of an e-mailed invite: keeps the code in the
    session and redirects to :class:`AcceptInvitePage`, whose URL has no code, so the code stays out of
    the browser's history, the page's referrers and the logs of what the page loads (the pattern of
    Django's ``PasswordResetConfirmView``). It always redirects, even for a code that cannot be used: the
    page says why. Spends the per-IP budget of invite validations."""

    def get(self, request: HttpRequest, codigo: str) -> HttpResponseBase:
        wait = ratelimit.INVITE_VALIDATION.hit(request)
        if wait is not None:
            response: HttpResponseBase = render(
                request,
                "django_convites/login_throttled.html",
                {"login_path": resolve_url(settings.LOGIN_URL)},
                status=429,
            )
            response["Retry-After"] = str(math.ceil(wait))
        else:
            if len(codigo) <= tokens.TOKEN_LENGTH + 16:
                request.session[ACCEPT_SESSION_KEY] = codigo
            else:  # no code at all, rather than an earlier link's
                request.session.pop(ACCEPT_SESSION_KEY, None)
            response = redirect("django_convites:invite-accept")
        response["Cache-Control"] = "no-store"
        response["Referrer-Policy"] = "no-referrer"
        return response


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class AcceptInvitePage(NoStoreMixin, FormPage):
    """``/tokens/convites/aceitar/``: what the invite of the accept link grants, or why it cannot be used
    (the API's error texts). A logged-in user uses it with one button and gets the page that says so, with
    what it granted and a link on to the site (:func:`home_url`). Anyone else is offered a sign-up and a
    login link that brings them back here (the code stays in the session across the login). The sign-up
    is the ``SIGNUP_FORM`` form on this page, or, with ``SIGNUP_URL`` set, a link to the site's own
    sign-up page. The page's sign-up POST (``registrar`` in the body) creates the account and spends the
    invite in one transaction, logs the new user in and answers the same page, or redirects to
    ``SIGNUP_REDIRECT_URL`` when it is set; it spends the per-IP budget of invite validations, as the API's
    sign-up does. The code leaves the session once the invite is used."""

    template_name = "django_convites/invite_accept.html"
    form_class = UseInviteForm

    #: The POST field that tells the sign-up form from the accept button.
    SIGNUP_FIELD = "registrar"

    def code(self) -> str | None:
        code = self.request.session.get(ACCEPT_SESSION_KEY)
        return code if isinstance(code, str) else None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.show(self.get_form())

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.SIGNUP_FIELD in request.POST:
            return self.sign_up()
        return super().post(request, *args, **kwargs)

    def show(
        self, form: Any, error: ConvitesError | None = None, *, signup_form: Any = None, status: int | None = None
    ) -> HttpResponse:
        code = self.code()
        context = self.get_context_data(form=form, login_url=self.login_url(), signup_url=self.signup_url())
        if code is None:
            context["missing"] = True
            return self.render_to_response(context, status=400)
        if error is None:
            try:
                invite = invites.validate_invite(code, actor=self.request.user, meta=request_meta(self.request))
            except ConvitesError as refused:
                error = refused
            else:
                context.update(invite=invite, **orgs.granted_names(invite.organization_ref, invite.nucleus_refs))
                if not self.request.user.is_authenticated and context["signup_url"] is None:
                    initial = {"email": invite.email} if invite.email else {}
                    context["signup_form"] = signup.signup_form(initial=initial) if signup_form is None else signup_form
        if error is not None:
            context["error"] = str(error.detail)
            return self.render_to_response(context, status=error.status_code)
        return self.render_to_response(context, status=status or 200)

    def login_url(self) -> str:
        return f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': self.request.path})}"

    def signup_url(self) -> str | None:
        target = app_settings.SIGNUP_URL
        return None if target is None else resolve_url(target)

    def form_valid(self, form: Any) -> HttpResponse:
        code = self.code()
        if code is None or not self.request.user.is_authenticated:
            return self.show(form)
        try:
            invite = invites.use_invite(code, user=self.request.user, meta=request_meta(self.request))
        except ConvitesError as error:
            return self.show(form, error)
        self.request.session.pop(ACCEPT_SESSION_KEY, None)
        return self.accepted(invite)

    def accepted(self, invite: Any, *, signed_up: bool = False) -> HttpResponse:
        """The page after the invite is used: what it granted, and a link on to the site."""
        context = {
            "accepted": True,
            "signed_up": signed_up,
            "invite": invite,
            "continue_url": home_url(),
            **orgs.granted_names(invite.organization_ref, invite.nucleus_refs),
        }
        return self.render_to_response(context)

    @method_decorator(sensitive_variables("code", "data", "form"))
    def sign_up(self) -> HttpResponse:
        request = self.request
        button = self.get_form_class()()
        code = self.code()
        if code is None or request.user.is_authenticated or self.signup_url() is not None:
            return self.show(button, status=400)  # a stale form: the page as it is now
        wait = ratelimit.INVITE_VALIDATION.hit(request)
        if wait is not None:
            form = signup.signup_form(request.POST)  # bound, to keep what was typed; not checked
            form.errors.clear()
            form.add_error(None, _("Too many attempts. Try again in a minute."))
            response = self.show(button, signup_form=form, status=429)
            response["Retry-After"] = str(math.ceil(wait))
            return response
        data = request.POST.copy()
        for name in ("csrfmiddlewaretoken", self.SIGNUP_FIELD):
            data.pop(name, None)
        form = signup.signup_form(data)
        try:
            account = signup.create_account_with_invite(code, form=form, meta=request_meta(request))
        except InviteEmailMismatch as error:
            form.add_error("email" if "email" in form.fields else None, str(error.detail))
            return self.show(button, signup_form=form, status=error.status_code)
        except InvalidFields as error:
            if not form.errors:  # not the form's own errors: a concurrent sign-up took these details
                for messages in error.errors.values():
                    form.add_error(None, messages)
            return self.show(button, signup_form=form, status=error.status_code)
        except SignUpFailed as error:  # a site's invite_used receiver failed (logged): nothing was saved
            form.add_error(None, str(error.detail))
            return self.show(button, signup_form=form, status=error.status_code)
        except ConvitesError as error:  # the invite (used or revoked meanwhile), or a site's refusal
            return self.show(button, error)
        request.session.pop(ACCEPT_SESSION_KEY, None)
        backend = _backend_of(account.user)
        if backend is None:  # no backend would load this user into a session: let them log in
            return redirect(resolve_url(settings.LOGIN_URL))
        login(request, account.user, backend=backend)
        if app_settings.SIGNUP_REDIRECT_URL is not None:
            return redirect(resolve_url(app_settings.SIGNUP_REDIRECT_URL))
        return self.accepted(account.invite, signed_up=True)


def _backend_of(user: Any) -> str | None:
    """The dotted path of the first authentication backend that loads ``user`` by its id (as a session
    does on every request), for :func:`django.contrib.auth.login`; None when none does."""
    for path in settings.AUTHENTICATION_BACKENDS:
        backend = load_backend(path)
        get_user = getattr(backend, "get_user", None)
        if get_user is not None and get_user(user.pk) is not None:
            return str(path)
    return None


def backup_codes_text(codes: Sequence[str], *, account: str, issuer: str) -> str:
    """The text file of a set of backup codes (``django_convites/backup_codes.txt``): whose codes they are,
    how to use them, one code a line."""
    context = {"codes": codes, "account": account, "issuer": issuer}
    return render_to_string("django_convites/backup_codes.txt", context).strip() + "\n"


@sensitive_variables("codes", "text")
def backup_codes_context(request: HttpRequest, codes: Sequence[str]) -> dict[str, Any]:
    """What a page that shows new backup codes needs: the codes, and a ``data:`` link that downloads them as
    a text file. The link is built into the page: the codes are in that one answer (``no-store``) and
    nowhere else, neither in the session nor in a file on the server."""
    issuer = two_factor.issuer(meta=request_meta(request))
    text = backup_codes_text(codes, account=request.user.get_username(), issuer=issuer)
    return {
        "codes": codes,
        "codes_download_href": "data:text/plain;charset=utf-8," + quote(text, safe=""),
        "codes_download_name": "backup-codes.txt",
    }


@method_decorator(sensitive_post_parameters("codigo"), name="dispatch")
class TwoFactorPage(NoStoreMixin, LoginRequiredMixin, ThrottledPostMixin, FormPage):
    """A page that takes a current two-factor code and hands it to one service call."""

    form_class = TwoFactorCodeForm
    #: Reachable before the second factor is proved (:class:`django_convites.middleware.TwoFactorMiddleware`).
    two_factor_exempt = True

    # The same per-user budget as the API's two-factor endpoints, so codes cannot be guessed here.
    rate_limit = ratelimit.TWO_FACTOR

    def form_invalid(self, form: TwoFactorCodeForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def refuse(self, form: TwoFactorCodeForm, error: ConvitesError) -> HttpResponse:
        form.add_error("codigo", str(error.detail))
        answer = error_answer(error)  # 429 otp_locked carries Retry-After: how long the user's codes are refused
        response = self.render_to_response(self.get_context_data(form=form), status=answer.status)
        for name, value in answer.headers.items():
            response[name] = value
        return response

    def safe_next(self) -> str | None:
        """``next`` of the query or the form when it is a URL of this site, else None."""
        target = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if url_has_allowed_host_and_scheme(target, {self.request.get_host()}, require_https=self.request.is_secure()):
            return target
        return None

    def next_url(self) -> str:
        """Where a login step goes on to: ``next``, else ``LOGIN_REDIRECT_URL`` (as Django's login does)."""
        return self.safe_next() or resolve_url(settings.LOGIN_REDIRECT_URL)

    def continue_url(self) -> str:
        """Where a page's *Continue* link goes: ``next``, else :func:`home_url`."""
        return self.safe_next() or home_url()

    def page(self, status: int = 200, **context: Any) -> HttpResponse:
        """The page in one of its states (no form), with the links every state offers."""
        context.setdefault("continue_url", self.continue_url())
        context.setdefault("next", self.safe_next() or "")
        return self.render_to_response(context, status=status)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "next": self.safe_next() or ""}


class EnableTwoFactorPage(TwoFactorPage):
    """``/tokens/ativar-2fa/``: a ``GET`` shows the QR code and secret of the pending enrolment, the same on
    every reload (the first visit, with none pending, prepares one; no later ``GET`` replaces it, so a
    reload or a cross-site ``<img>`` never invalidates a scanned code); a ``POST`` with ``iniciar`` starts
    over with a new seed; a ``POST`` with a current ``codigo`` confirms it. The page says what the
    confirmation ends before it is made; the answer to the confirmation says that two-factor
    authentication is on, shows the first ten backup codes (once) and links on to ``next``."""

    template_name = "django_convites/2fa_enable.html"
    form_class = EnableTwoFactorForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.setdefault("enrolment", two_factor.pending_enrolment(user, meta=request_meta(self.request)))
        # What confirming ends: from a Django session, every JWT session of the user, and the API tokens.
        context["sessions_to_end"] = sessions.sessions_of(user).count()
        context["tokens_to_revoke"] = api_tokens.live_api_tokens(user).count()
        return context

    def active(self, status: int = 200) -> HttpResponse:
        return self.page(status, active=True, remaining=backup_codes.remaining(self.request.user))

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if two_factor.is_active(request.user):
            return self.active()
        enrolment = two_factor.pending_enrolment(request.user, meta=request_meta(request))
        if enrolment is None:  # the first visit prepares one device: the page shows its QR code (docs/two-factor.rst)
            enrolment = two_factor.start_totp(request.user, meta=request_meta(request))
        return self.render_to_response(self.get_context_data(enrolment=enrolment))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "iniciar" not in request.POST:
            return super().post(request, *args, **kwargs)
        try:
            two_factor.start_totp(request.user, meta=request_meta(request))
        except ConvitesError:  # on already: the page says so
            return self.active(status=409)
        target = self.safe_next()
        query = f"?{urlencode({'next': target})}" if target else ""
        return redirect(f"{request.path}{query}")  # a reload shows this seed again, never a new one

    @method_decorator(sensitive_variables("activation", "context"))
    def form_valid(self, form: EnableTwoFactorForm) -> HttpResponse:
        try:
            activation = two_factor.confirm_totp(
                self.request.user,
                form.cleaned_data["codigo"],
                meta=request_meta(self.request),
                keep_api_tokens=form.cleaned_data["manter_api_tokens"],
                with_backup_codes=True,
            )
        except ConvitesError as error:
            return self.refuse(form, error)
        otp_login(self.request, activation.device)  # this session has just proved the second factor
        context = backup_codes_context(self.request, activation.backup_codes)
        return self.page(enabled=True, activation=activation, **context)


class DisableTwoFactorPage(TwoFactorPage):
    """``/tokens/desativar-2fa/``: turn two-factor authentication off with a current code (or a backup code)."""

    template_name = "django_convites/2fa_disable.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not two_factor.is_active(request.user):
            return self.page(off=True)
        return super().get(request, *args, **kwargs)

    def form_valid(self, form: TwoFactorCodeForm) -> HttpResponse:
        try:
            two_factor.disable(self.request.user, form.cleaned_data["codigo"], meta=request_meta(self.request))
        except ConvitesError as error:
            return self.refuse(form, error)
        return self.page(disabled=True)


class VerifyTwoFactorPage(TwoFactorPage):
    """``/tokens/verificar-2fa/``: the second step of a session login (``django_otp.login``). A current code
    goes on to ``next``; a backup code answers a page that says how many are left, with a link to make new
    ones and one on to ``next``."""

    template_name = "django_convites/2fa_verify.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        is_verified = getattr(request.user, "is_verified", None)
        if callable(is_verified) and is_verified():
            return self.page(verified=True)
        return super().get(request, *args, **kwargs)

    def form_valid(self, form: TwoFactorCodeForm) -> HttpResponse:
        try:
            device = two_factor.verify_session(
                self.request.user, form.cleaned_data["codigo"], meta=request_meta(self.request)
            )
        except ConvitesError as error:
            return self.refuse(form, error)
        otp_login(self.request, device)
        if isinstance(device, BackupCodeDevice):
            remaining = backup_codes.remaining(self.request.user)
            return self.page(backup_used=True, remaining=remaining, continue_url=self.next_url())
        return redirect(self.next_url())


class BackupCodesPage(TwoFactorPage):
    """``/tokens/codigos-backup/``: ten new backup codes for a current code of the authenticator app, as
    ``POST /api/2fa/codigos-backup/`` makes them (the same service, policy, throttle, lockout and audit
    event); they replace the old ones and are shown once, with a download and a print button."""

    template_name = "django_convites/2fa_backup_codes.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "remaining": backup_codes.remaining(self.request.user)}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not two_factor.is_active(request.user):
            return self.page(off=True)
        return super().get(request, *args, **kwargs)

    @method_decorator(sensitive_variables("codes", "context"))
    def form_valid(self, form: TwoFactorCodeForm) -> HttpResponse:
        try:
            codes = two_factor.new_backup_codes(
                self.request.user, form.cleaned_data["codigo"], meta=request_meta(self.request)
            )
        except ConvitesError as error:
            return self.refuse(form, error)
        context = backup_codes_context(self.request, codes)
        return self.page(made=True, **context)


# -- logging in to a session ------------------------------------------------------------------------------


def login_retry_after(request: HttpRequest, view: Any = None) -> int | None:
    """Count one login attempt of ``request`` against every login limit
    (:data:`django_convites.ratelimit.LOGIN_LIMITS`: ``LOGIN_RATE`` per client IP, ``LOGIN_USERNAME_RATE``
    per username posted, the same budgets and cache keys as the JWT login ``POST /api/auth/token/``):
    None when it may go on, otherwise the whole seconds to wait. Every limit counts the attempt. ``view``
    is not used; it is kept for callers that pass it."""
    wait = ratelimit.hit_all(ratelimit.LOGIN_LIMITS, request)
    return None if wait is None else math.ceil(wait)


class LoginView(auth_views.LoginView):
    """Django's :class:`~django.contrib.auth.views.LoginView`, throttled like the JWT login.

    Mount it as the site's login page (``path("accounts/login/", LoginView.as_view(), name="login")``).
    A POST beyond ``LOGIN_RATE`` per client IP or ``LOGIN_USERNAME_RATE`` per username is answered 429
    with the form and an error, without trying the password. Every login, here or anywhere the site calls
    ``django.contrib.auth.login()``, is audited (``login`` / ``login_falhou``); Django's view already
    marks every POST parameter sensitive.
    """

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        retry_after = login_retry_after(request, self)
        if retry_after is None:
            return super().post(request, *args, **kwargs)
        # An unbound form: validating the posted one would call authenticate(), the very thing throttled.
        form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")})
        form.errors[NON_FIELD_ERRORS] = form.error_class(
            [_("Too many attempts. Try again in a minute.")], error_class="nonfield", renderer=form.renderer
        )
        response = self.render_to_response(self.get_context_data(form=form), status=429)
        response["Retry-After"] = str(retry_after)
        return response


def throttle_login(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Throttle a login view you cannot replace, such as the admin's (``throttle_login(admin.site.login)``):
    its POSTs count against the same budgets as :class:`LoginView`; beyond them it answers 429 with the
    ``django_convites/login_throttled.html`` page, without calling ``view``."""

    @functools.wraps(view)
    def throttled(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            retry_after = login_retry_after(request)
            if retry_after is not None:
                context = {"retry_after": retry_after, "login_path": request.get_full_path()}
                response = render(request, "django_convites/login_throttled.html", context, status=429)
                response["Retry-After"] = str(retry_after)
                return response
        return view(request, *args, **kwargs)

    return throttled
