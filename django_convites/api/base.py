"""What every API view of the app shares: the JSON parser, the error shape, and its own transactions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections, transaction
from rest_framework import generics, viewsets
from rest_framework.views import APIView

from django_convites.api.exceptions import exception_handler
from django_convites.api.parsers import JSONParser
from django_convites.api.permissions import HasScope, RequireTwoFactor


def _non_atomic(view: Callable[..., Any]) -> Callable[..., Any]:
    # Services open their own transactions; the failure bookkeeping they leave must not be rolled back
    # by ATOMIC_REQUESTS together with the failure response (contract section 9).
    for alias in connections:
        view = transaction.non_atomic_requests(using=alias)(view)
    return view


class ConvitesAPIMixin:
    parser_classes = [JSONParser]
    #: The view runs outside ATOMIC_REQUESTS; read by the exception handler.
    convites_owns_transactions = True

    def get_permissions(self) -> list[Any]:
        """The view's permissions, always with the API-token scope and the two-factor checks in front."""
        return [HasScope(), RequireTwoFactor(), *super().get_permissions()]  # type: ignore[misc]

    def get_exception_handler(self) -> Callable[..., Any]:
        return exception_handler


class ConvitesAPIView(ConvitesAPIMixin, APIView):
    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., Any]:
        return _non_atomic(super().as_view(**initkwargs))


class ConvitesGenericAPIView(ConvitesAPIMixin, generics.GenericAPIView):  # type: ignore[type-arg]
    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., Any]:
        return _non_atomic(super().as_view(**initkwargs))


class ConvitesGenericViewSet(ConvitesAPIMixin, viewsets.GenericViewSet):  # type: ignore[type-arg]
    @classmethod
    def as_view(cls, actions: Any = None, **initkwargs: Any) -> Callable[..., Any]:
        return _non_atomic(super().as_view(actions, **initkwargs))


class NoStoreMixin:
    """For answers that carry or touch a secret: ``Cache-Control: no-store``, so no cache keeps them."""

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        response["Cache-Control"] = "no-store"
        return response
