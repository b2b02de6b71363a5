"""``/api/tokens/``: invites (docs/invites.rst)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.log import log_response
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_convites import tokens
from django_convites.api.base import (
    ConvitesAPIView,
    ConvitesGenericAPIView,
    NoStoreMixin,
)
from django_convites.api.pagination import CreatedAtPagination
from django_convites.api.schema import ErrorDeclaration, document, query, query_of, secret_schema
from django_convites.api.serializers.audit import AuditEventSerializer, AuditFilterSerializer
from django_convites.api.serializers.base import StrictSerializer
from django_convites.api.serializers.invites import (
    CodeSerializer,
    InviteCreateSerializer,
    InviteFilterSerializer,
    InviteSerializer,
    InviteUseSerializer,
    IssuedInviteSerializer,
    RevokedInviteSerializer,
    UsedInviteSerializer,
    ValidatedInviteSerializer,
)
from django_convites.api.throttling import InviteResendThrottle, InviteValidationThrottle
from django_convites.api.views.audit import EventListView
from django_convites.exceptions import InviteQuotaExceeded
from django_convites.models import Invite
from django_convites.net import request_meta, site_origin
from django_convites.services import invites

#: Header of ``POST /api/tokens/`` responses: invites the issuer may still create today.
REMAINING_HEADER = "X-Convites-Restantes"

#: How an invite named by ``<ref>`` (its id or its code) can fail to be found.
REF_ERRORS: list[ErrorDeclaration] = ["invalid_code_format", "invite_not_found"]


def body_mapping(request: Request) -> Mapping[str, Any]:
    """The JSON body as an object (``{}`` when empty); 400 ``parse_error`` for a list or a scalar."""
    data = request.data
    if not isinstance(data, Mapping):
        raise ParseError(_("The body must be a JSON object."))
    return data


class InviteViewMixin(NoStoreMixin):
    """Invite responses may carry a code, or answer for one sent in the URL: never cache them, never
    send the URL on as a referrer."""

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        if response.status_code >= 400:
            # Django logs the path of every 4xx answer; here a path may hold a code. Log it redacted, and
            # without the request object, which log handlers would render in full.
            log_response("%s: %s", response.reason_phrase, tokens.redact(request.path), response=response)
        return response


class InviteListView(InviteViewMixin, ConvitesGenericAPIView[Invite]):
    """``GET /api/tokens/`` lists invites (``?estado=``); ``POST`` issues one and shows its code once."""

    permission_classes = [IsAuthenticated]
    pagination_class = CreatedAtPagination
    serializer_class = InviteSerializer
    #: Only for the browsable API, whose filter form asks for one; ``get`` lists what the service allows.
    queryset = Invite.objects.none()
    remaining: int | None = None

    @document(
        operation_id="convites_listar",
        parameters=query_of(InviteFilterSerializer),
        responses=InviteSerializer(many=True),
        errors=["invalid", "permission_denied"],
    )
    def get(self, request: Request) -> Response:
        filters = InviteFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = invites.invites_visible_to(request.user, state=filters.validated_data.get("estado"))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(InviteSerializer(page, many=True).data)

    @document(
        operation_id="convites_criar",
        request=InviteCreateSerializer,
        responses={201: IssuedInviteSerializer},
        errors=["invalid", "permission_denied", "invite_quota_exceeded", "invite_undeliverable"],
        links={
            201: {
                "read": ("convites_ler", {"ref": "$response.body#/id"}),
                "validate": ("convites_validar_get", {"codigo": "$response.body#/codigo"}),
                "use": ("convites_usar", {"ref": "$response.body#/codigo"}),
                "sign_up": ("convites_registrar", {"ref": "$response.body#/codigo"}),
                "revoke": ("convites_revogar", {"ref": "$response.body#/id"}),
                "resend": ("convites_reenviar", {"ref": "$response.body#/id"}),
                "logs": ("convites_logs", {"ref": "$response.body#/id"}),
            }
        },
        headers={
            REMAINING_HEADER: (
                "How many invites the issuer may still create today (absent when no quota applies: root, or "
                "INVITES_PER_DAY set to None).",
                (201, 429),
                {"type": "integer", "minimum": 0},
            )
        },
    )
    def post(self, request: Request) -> Response:
        body = InviteCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = body.validated_data
        try:
            issued = invites.issue_invite(
                actor=request.user,
                target_type=fields["tipo_destino"],
                organization=fields.get("organizacao"),
                nuclei=fields.get("nucleos", ()),
                expires_at=fields.get("data_expiracao"),
                email=fields.get("email"),
                link_base=site_origin(request),
                meta=request_meta(request),
            )
        except InviteQuotaExceeded:
            self.remaining = 0
            raise
        self.remaining = issued.remaining
        data = IssuedInviteSerializer(issued.invite, context={"code": issued.code}).data
        return Response(data, status=201)

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.remaining is not None:
            response[REMAINING_HEADER] = str(self.remaining)
        return response


#: What validating a code can answer besides the invite.
VALIDATION_ERRORS: list[ErrorDeclaration] = [
    *REF_ERRORS,
    ("invite_used", 410),
    "invite_expired",
    ("invite_revoked", 410),
]


class InviteValidateView(InviteViewMixin, ConvitesAPIView):
    """``GET /api/tokens/validate/?codigo=`` or ``POST {codigo}``: whether a code can be used. No login
    needed; throttled per client IP. ``POST`` is the documented form (a code in a URL gets logged)."""

    permission_classes = [AllowAny]
    two_factor_exempt = True
    throttle_classes = [InviteValidationThrottle]

    @document(
        operation_id="convites_validar_get",
        parameters=[
            query(
                "codigo", "the invite code (prefer POST: a URL gets logged)", required=True, kind=secret_schema("cvi")
            )
        ],
        responses=ValidatedInviteSerializer,
        errors=VALIDATION_ERRORS,
    )
    def get(self, request: Request) -> Response:
        return self.validate(request, request.query_params.get("codigo"))

    @document(
        operation_id="convites_validar",
        request=CodeSerializer,
        responses=ValidatedInviteSerializer,
        errors=VALIDATION_ERRORS,
    )
    def post(self, request: Request) -> Response:
        return self.validate(request, body_mapping(request).get("codigo"))

    def validate(self, request: Request, code: object) -> Response:
        invite = invites.validate_invite(code, actor=request.user, meta=request_meta(request))
        return Response(ValidatedInviteSerializer(invite).data)


class InviteDetailView(InviteViewMixin, ConvitesAPIView):
    """``GET /api/tokens/<ref>/``: one invite, for whoever may list it."""

    permission_classes = [IsAuthenticated]

    @document(operation_id="convites_ler", responses=InviteSerializer, errors=[*REF_ERRORS, "permission_denied"])
    def get(self, request: Request, ref: str) -> Response:
        return Response(InviteSerializer(invites.visible_invite(request.user, ref)).data)


class InviteUseView(InviteViewMixin, ConvitesAPIView):
    """``POST /api/tokens/<ref>/use/``: spend the invite for the logged-in user (``{codigo}`` when
    ``<ref>`` is the id)."""

    permission_classes = [IsAuthenticated]

    @document(
        operation_id="convites_usar",
        request=InviteUseSerializer,
        responses=UsedInviteSerializer,
        errors=[
            *REF_ERRORS,
            "invite_email_mismatch",
            ("invite_used", 409),
            "invite_expired",
            ("invite_revoked", 410),
        ],
    )
    def post(self, request: Request, ref: str) -> Response:
        code = body_mapping(request).get("codigo")
        invite = invites.use_invite(ref, user=request.user, code=code, meta=request_meta(request))
        return Response(UsedInviteSerializer(invite).data)


class InviteRevokeView(InviteViewMixin, ConvitesAPIView):
    """``POST /api/tokens/<ref>/revogar/``: revoke an invite (root and admin: any; gestor: their own)."""

    permission_classes = [IsAuthenticated]

    @document(
        operation_id="convites_revogar",
        request=None,
        responses=RevokedInviteSerializer,
        errors=[*REF_ERRORS, "permission_denied", ("invite_used", 409), ("invite_revoked", 409)],
    )
    def post(self, request: Request, ref: str) -> Response:
        invite = invites.revoke_invite(ref, actor=request.user, meta=request_meta(request))
        return Response(RevokedInviteSerializer(invite).data)


class ResendSerializer(StrictSerializer):
    """The body of ``POST /api/tokens/<ref>/reenviar/``: nothing (``{}`` or none); any key is a 400."""


class ResentInviteSerializer(InviteSerializer):
    """The 200 of ``POST /api/tokens/<ref>/reenviar/``: the invite as ``GET`` shows it and the channel it
    went by. Never the new code: that went to the bound address only."""

    canal = serializers.SerializerMethodField()

    class Meta(InviteSerializer.Meta):
        fields = [*InviteSerializer.Meta.fields, "canal"]
        read_only_fields = fields

    def get_canal(self, invite: Invite) -> str:
        """The channel ``INVITE_SENDER`` named (``email`` for the default)."""
        channel: str = self.context["channel"]
        return channel


class InviteResendView(InviteViewMixin, ConvitesAPIView):
    """``POST /api/tokens/<ref>/reenviar/``: send an invite bound to an address again, with a new code
    (its issuer; root and admin: any, within their organizations). Throttled per user."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [InviteResendThrottle]

    @document(
        operation_id="convites_reenviar",
        request=None,
        reads_body=True,
        responses=ResentInviteSerializer,
        errors=[
            "invalid",
            *REF_ERRORS,
            "permission_denied",
            ("invite_used", 409),
            ("invite_revoked", 409),
            "invite_expired",
            "invite_not_bound",
            "invite_undeliverable",
        ],
    )
    def post(self, request: Request, ref: str) -> Response:
        ResendSerializer(data=body_mapping(request)).is_valid(raise_exception=True)
        resent = invites.resend_invite(
            ref,
            actor=request.user,
            link_base=site_origin(request),
            meta=request_meta(request),
        )
        return Response(ResentInviteSerializer(resent.invite, context={"channel": resent.channel}).data)


class InviteLogsView(InviteViewMixin, EventListView):
    """``GET /api/tokens/<ref>/logs/``: the invite's audit events, newest first, with the filters of the audit
    list."""

    @document(
        operation_id="convites_logs",
        parameters=query_of(AuditFilterSerializer),
        responses=AuditEventSerializer(many=True),
        errors=["invalid", *REF_ERRORS, "permission_denied"],
    )
    def get(self, request: Request, ref: str) -> Response:
        wanted = self.wanted()
        return self.page_of(wanted.apply(invites.invite_history(request.user, ref)))
