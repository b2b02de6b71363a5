"""Permission classes that read an API token's scope. Use them on your own views too::

    from django_convites.api.permissions import HasScope

    class ReportView(APIView):
        permission_classes = [IsAuthenticated, HasScope]
        required_scope = "write"    # optional: the least scope every method needs

``read`` tokens may only use safe methods (GET, HEAD, OPTIONS); ``write`` tokens every method; a view's
``required_scope`` raises the bar. Requests not authenticated by an API token (sessions, JWT) pass: their
user's role decides, as everywhere. Whatever the scope, the app's role checks use the owner's current role,
and a token without the ``admin`` scope acts only on its owner's own objects (:func:`django_convites.roles.reach`).
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from django_convites import policy
from django_convites.api.exceptions import as_drf_error
from django_convites.exceptions import ConvitesError, TwoFactorRequired
from django_convites.models import Scope
from django_convites.net import request_meta
from django_convites.policy import CredentialKind
from django_convites.services import api_tokens, two_factor
from django_convites.services.api_tokens import AuthenticatedToken


def required_scope(request: Request, view: Any, minimum: Scope | None = None) -> Scope:
    """The least scope ``request`` needs on ``view``: read for safe methods and write for the others,
    raised to the view's ``required_scope`` and to ``minimum`` when they ask for more."""
    needed = Scope.READ if request.method in SAFE_METHODS else Scope.WRITE
    for floor in (getattr(view, "required_scope", None), minimum):
        if floor is not None and not needed.covers(floor):
            needed = Scope(floor)
    return needed


class HasScope(BasePermission):
    """The request's API token has the scope the method (and the view's ``required_scope``) needs.

    A refusal is 403 ``insufficient_scope`` and an ``api_token_negado`` audit event.
    """

    #: The least scope of every method, whatever the view says; subclasses raise it.
    minimum: Scope | None = None

    def has_permission(self, request: Request, view: Any) -> bool:
        credential = policy.credential_of(request.user)
        if credential.kind is not CredentialKind.API_TOKEN or credential.scope is None:
            return True
        needed = required_scope(request, view, self.minimum)
        token = AuthenticatedToken(id=credential.id, scope=credential.scope)
        try:  # the service audits a refusal
            api_tokens.require_scope(token, needed, actor=request.user, meta=lambda: request_meta(request))
        except ConvitesError as error:
            raise as_drf_error(error) from None
        return True


class HasWriteScope(HasScope):
    """:class:`HasScope` for a view whose every method, GET included, needs ``write``."""

    minimum = Scope.WRITE


class HasAdminScope(HasScope):
    """:class:`HasScope` for a view whose every method needs the ``admin`` scope."""

    minimum = Scope.ADMIN


class RequireTwoFactor(BasePermission):
    """The request proved a second factor when its user has a device or a role in
    ``TWO_FACTOR_REQUIRED_ROLES``; else 403 ``two_factor_required``. Every view of the app has it.

    What counts as proof, by how the request was authenticated:

    * a session: django-otp's ``request.user.is_verified()`` (``/tokens/verificar-2fa/``, or
      ``django_otp.login``); needs ``django_otp.middleware.OTPMiddleware``;
    * a JWT access token: a login that passed ``otp`` (the token's ``amr`` claim), or a session in which
      two-factor authentication was turned on (its row, read by the query that loaded the user); no
      query of its own;
    * an API token: always, since creating one is a request this class has let through.

    Anything else (Basic, DRF's ``TokenAuthentication``) proves a password at most. Views that must stay
    open to users who have yet to verify or enrol (the two-factor endpoints) set ``two_factor_exempt``.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        credential = policy.credential_of(request.user)
        if getattr(view, "two_factor_exempt", False) or credential.kind is CredentialKind.API_TOKEN:
            return True
        # A JWT's login query already read whether its session proved the factor: no question of devices.
        jwt = credential.kind is CredentialKind.JWT
        needed = two_factor.requirement(request.user, verified=credential.second_factor, may_have_device=not jwt)
        if needed is None:
            return True
        raise as_drf_error(TwoFactorRequired())
