"""``POST /api/tokens/<ref>/registrar/``: sign up with an invite (docs/invites.rst)."""

from __future__ import annotations

from typing import Any

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from django_convites.api.base import ConvitesAPIView
from django_convites.api.schema import document
from django_convites.api.serializers.signup import SignedUpSerializer, SignUpSerializer
from django_convites.api.throttling import InviteValidationThrottle
from django_convites.api.views.invites import REF_ERRORS, InviteViewMixin, body_mapping
from django_convites.net import request_meta
from django_convites.services import signup


@method_decorator(sensitive_post_parameters("password", "codigo"), name="dispatch")
class InviteSignUpView(InviteViewMixin, ConvitesAPIView):
    """Create an account with an invite, spend the invite for it and answer the new user's id and a JWT
    pair (201). No login: whatever credential the request carries is not read. Throttled per client IP on
    the budget of ``/api/tokens/validate/`` (``INVITE_VALIDATION_RATE``)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []
    two_factor_exempt = True
    throttle_classes = [InviteValidationThrottle]

    @document(
        operation_id="convites_registrar",
        request=SignUpSerializer,
        responses={201: SignedUpSerializer},
        errors=[
            "invalid",
            *REF_ERRORS,
            "invite_email_mismatch",
            ("invite_used", 409),
            "invite_expired",
            ("invite_revoked", 410),
            "signup_failed",
        ],
    )
    @method_decorator(sensitive_variables("body", "fields"))
    def post(self, request: Request, ref: str) -> Response:
        body = body_mapping(request)
        fields = {key: value for key, value in body.items() if key != "codigo"}
        made = signup.sign_up_with_invite(ref, code=body.get("codigo"), data=fields, meta=request_meta(request))
        return Response(SignedUpSerializer(made.pair).data, status=201)
