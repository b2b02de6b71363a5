"""``/api/api-tokens/``: API tokens (docs/api-tokens.rst)."""

from __future__ import annotations

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_convites.api.base import (
    ConvitesAPIView,
    ConvitesGenericAPIView,
    NoStoreMixin,
)
from django_convites.api.pagination import CreatedAtPagination
from django_convites.api.schema import document, query_of
from django_convites.api.serializers.api_tokens import (
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    CreatedApiTokenSerializer,
)
from django_convites.api.serializers.audit import AuditEventSerializer, AuditFilterSerializer, UserFilterSerializer
from django_convites.api.views.audit import EventListView
from django_convites.models import ApiToken
from django_convites.net import request_meta
from django_convites.services import api_tokens

#: What a new token's id leads to (OpenAPI links).
TOKEN_LINKS = {
    "read": ("api_tokens_ler", {"token_id": "$response.body#/id"}),
    "rotate": ("api_tokens_rotacionar", {"token_id": "$response.body#/id"}),
    "logs": ("api_tokens_logs", {"token_id": "$response.body#/id"}),
    "revoke": ("api_tokens_revogar", {"token_id": "$response.body#/id"}),
}


class ApiTokenListView(NoStoreMixin, ConvitesGenericAPIView[ApiToken]):
    """``GET /api/api-tokens/`` lists one's tokens (root and admin: ``?usuario=``); ``POST`` creates one and
    shows its secret once."""

    permission_classes = [IsAuthenticated]
    pagination_class = CreatedAtPagination
    serializer_class = ApiTokenSerializer
    #: Only for the browsable API, whose filter form asks for one; ``get`` lists what the service allows.
    queryset = ApiToken.objects.none()

    @document(
        operation_id="api_tokens_listar",
        parameters=query_of(UserFilterSerializer),
        responses=ApiTokenSerializer(many=True),
        errors=["invalid", "permission_denied"],
    )
    def get(self, request: Request) -> Response:
        filters = UserFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = api_tokens.api_tokens_visible_to(request.user, owner_id=filters.validated_data.get("usuario"))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ApiTokenSerializer(page, many=True).data)

    @document(
        operation_id="api_tokens_criar",
        request=ApiTokenCreateSerializer,
        responses={201: CreatedApiTokenSerializer},
        errors=["invalid", "scope_not_allowed"],
        links={201: TOKEN_LINKS},
    )
    def post(self, request: Request) -> Response:
        body = ApiTokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = body.validated_data
        created = api_tokens.create_api_token(
            user=request.user,
            scope=fields["scope"],
            name=fields.get("nome", ""),
            expires_at=fields.get("expira_em"),
            allowed_ips=fields.get("ips_permitidos", ()),
            meta=request_meta(request),
        )
        return Response(CreatedApiTokenSerializer(created.token, context={"secret": created.secret}).data, status=201)


class ApiTokenDetailView(NoStoreMixin, ConvitesAPIView):
    """``GET /api/api-tokens/<id>/`` shows a token; ``DELETE`` revokes it (204, the row is kept)."""

    permission_classes = [IsAuthenticated]

    @document(operation_id="api_tokens_ler", responses=ApiTokenSerializer, errors=["not_found"])
    def get(self, request: Request, token_id: str) -> Response:
        return Response(ApiTokenSerializer(api_tokens.visible_api_token(request.user, token_id)).data)

    @document(operation_id="api_tokens_revogar", responses={204: None}, errors=["not_found"])
    def delete(self, request: Request, token_id: str) -> Response:
        api_tokens.revoke_api_token(token_id, actor=request.user, meta=request_meta(request))
        return Response(status=204)


class ApiTokenRotateView(NoStoreMixin, ConvitesAPIView):
    """``POST /api/api-tokens/<id>/rotacionar/``: a new token in place of the old one, which is revoked."""

    permission_classes = [IsAuthenticated]

    @document(
        operation_id="api_tokens_rotacionar",
        request=None,
        responses={201: CreatedApiTokenSerializer},
        errors=["not_found", "not_owner", "scope_not_allowed", ("token_revoked", 409)],
        links={201: TOKEN_LINKS},
    )
    def post(self, request: Request, token_id: str) -> Response:
        created = api_tokens.rotate_api_token(token_id, actor=request.user, meta=request_meta(request))
        return Response(CreatedApiTokenSerializer(created.token, context={"secret": created.secret}).data, status=201)


class ApiTokenLogsView(EventListView):
    """``GET /api/api-tokens/<id>/logs/``: who created, used, rotated and revoked the token, from where; with
    the filters of the audit list."""

    @document(
        operation_id="api_tokens_logs",
        parameters=query_of(AuditFilterSerializer),
        responses=AuditEventSerializer(many=True),
        errors=["invalid", "not_found"],
    )
    def get(self, request: Request, token_id: str) -> Response:
        wanted = self.wanted()
        return self.page_of(wanted.apply(api_tokens.api_token_history(request.user, token_id)))
