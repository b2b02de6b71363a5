from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DjangoConvitesConfig(AppConfig):
    name = "django_convites"
    label = "django_convites"
    verbose_name = _("Convites")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks
        from django.core.signals import request_finished

        from django_convites import checks as convites_checks
        from django_convites.bookkeeping import flush_after_request

        checks.register(convites_checks.check_settings)
        checks.register(convites_checks.check_installed_apps)
        checks.register(convites_checks.check_middleware)
        checks.register(convites_checks.check_invite_settings)
        request_finished.connect(flush_after_request, dispatch_uid="django_convites.bookkeeping")
