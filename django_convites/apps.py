from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DjangoConvitesConfig(AppConfig):
    name = "django_convites"
    label = "django_convites"
    verbose_name = _("Convites")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.core import checks
        from django.core.signals import request_finished
        from django.db.models.signals import post_save, pre_save

        from django_convites import checks as convites_checks
        from django_convites.bookkeeping import flush_after_request

        checks.register(convites_checks.check_settings)
        checks.register(convites_checks.check_installed_apps)
        checks.register(convites_checks.check_middleware)
        checks.register(convites_checks.check_invite_settings)
        request_finished.connect(flush_after_request, dispatch_uid="django_convites.bookkeeping")

        from django_convites.services import sessions

        user_model = settings.AUTH_USER_MODEL
        pre_save.connect(sessions.remember_credentials, sender=user_model, dispatch_uid="django_convites.sessions.pre")
        post_save.connect(
            sessions.end_sessions_on_credential_change, sender=user_model, dispatch_uid="django_convites.sessions.post"
        )
