"""What every API view of the app shares: the JSON parser, the error shape, and its own transactions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connections, models, transaction
from rest_framework import generics, viewsets
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_convites.api.exceptions import exception_handler
from django_convites.api.parsers import JSONParser
from django_convites.api.permissions import HasScope, RequireTwoFactor

if TYPE_CHECKING:
    from rest_framework.decorators import ViewSetAction
    from rest_framework.permissions import _SupportsHasPermission
    from rest_framework.views import AsView, GenericView

    # The mixins below only ever sit in front of an APIView: type-check them as one.
    _APIViewBase = APIView
else:
    _APIViewBase = object

_View = TypeVar("_View", bound=Callable[..., Any])
_M = TypeVar("_M", bound=models.Model)


def _non_atomic(view: _View) -> _View:
    # Services open their own transactions; the failure bookkeeping they leave must not be rolled back
    # by ATOMIC_REQUESTS together with the failure response (docs/errors.rst).
    for alias in connections:
        view = transaction.non_atomic_requests(using=alias)(view)
    return view


class ConvitesAPIMixin(_APIViewBase):
    parser_classes: Sequence[type[BaseParser]] = [JSONParser]
    #: The view runs outside ATOMIC_REQUESTS; read by the exception handler.
    convites_owns_transactions = True

    def get_permissions(self) -> list[_SupportsHasPermission]:
        """The view's permissions, always with the API-token scope and the two-factor checks in front."""
        return [HasScope(), RequireTwoFactor(), *super().get_permissions()]

    def get_exception_handler(self) -> Callable[..., Any]:
        return exception_handler


class ConvitesAPIView(ConvitesAPIMixin, APIView):
    @classmethod
    def as_view(cls, **initkwargs: Any) -> AsView[GenericView]:
        return _non_atomic(super().as_view(**initkwargs))


class ConvitesGenericAPIView(ConvitesAPIMixin, generics.GenericAPIView[_M]):
    @classmethod
    def as_view(cls, **initkwargs: Any) -> AsView[GenericView]:
        return _non_atomic(super().as_view(**initkwargs))


class ConvitesGenericViewSet(ConvitesAPIMixin, viewsets.GenericViewSet[_M]):
    @classmethod
    def as_view(
        cls, actions: dict[str, str | ViewSetAction[Any]] | None = None, **initkwargs: Any
    ) -> AsView[GenericView]:
        return _non_atomic(super().as_view(actions, **initkwargs))


class NoStoreMixin(_APIViewBase):
    """For answers that carry or touch a secret: ``Cache-Control: no-store``, so no cache keeps them."""

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response
