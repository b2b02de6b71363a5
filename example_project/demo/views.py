from __future__ import annotations

from typing import Any

from django.conf import settings
from django.views.generic import TemplateView

from demo.models import Nucleo, Organizacao
from django_convites.roles import role_of


class HomeView(TemplateView):
    """What the demo is, who is logged in (with their django-convites role), and where to go next."""

    template_name = "demo/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        role = role_of(self.request.user)
        context["role"] = role.value if role is not None else None
        context["has_api_docs"] = "drf_spectacular" in settings.INSTALLED_APPS
        user = self.request.user
        if user.is_authenticated:  # what the invite_used receiver (demo/receivers.py) made them a member of
            context["organizations"] = [organization.nome for organization in Organizacao.objects.filter(membros=user)]
            context["nuclei"] = [nucleus.nome for nucleus in Nucleo.objects.filter(membros=user).order_by("nome")]
        return context
