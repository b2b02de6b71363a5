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

        from django_convites import audit, logfilters, signals
        from django_convites import checks as convites_checks
        from django_convites._db.deferred import flush_after_request
        from django_convites.services import api_tokens, invites, sessions

        # Tagged security: the checks whose failure leaves a protection weaker (docs/checks.rst says which).
        checks.register(convites_checks.check_security_settings, checks.Tags.security)
        checks.register(convites_checks.check_other_settings)
        checks.register(convites_checks.check_installed_apps)
        checks.register(convites_checks.check_middleware, checks.Tags.security)
        checks.register(convites_checks.check_invite_settings, checks.Tags.security)  # E031: the JWT keys
        checks.register(convites_checks.check_throttle_cache, checks.Tags.security, checks.Tags.caches)
        request_finished.connect(flush_after_request, dispatch_uid="django_convites.deferred_writes")
        # A path may hold an invite's code: Django's request logs get it redacted.
        logfilters.install()

        # One audit row per domain signal; the signals module itself only declares them.
        signals.DomainSignal.connect_every(audit.record_event, dispatch_uid="django_convites.audit")

        # Turning two-factor authentication on ends what a password alone opened.
        signals.two_factor_enabling.connect(
            sessions.end_sessions_on_two_factor, dispatch_uid="django_convites.sessions.two_factor"
        )
        signals.two_factor_enabling.connect(
            api_tokens.revoke_on_two_factor, dispatch_uid="django_convites.api_tokens.two_factor"
        )

        user_model = settings.AUTH_USER_MODEL
        pre_save.connect(sessions.remember_credentials, sender=user_model, dispatch_uid="django_convites.sessions.pre")
        post_save.connect(
            sessions.end_sessions_on_credential_change, sender=user_model, dispatch_uid="django_convites.sessions.post"
        )

        # Every login of the site is audited, not only the app's JWT login.
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        user_logged_in.connect(sessions.audit_session_login, dispatch_uid="django_convites.sessions.logged_in")
        user_login_failed.connect(sessions.audit_failed_login, dispatch_uid="django_convites.sessions.login_failed")

        # An issuer deactivated or moved out of a role loses the open invites they could no longer issue.
        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed

        post_save.connect(invites.withdraw_on_user_save, sender=user_model, dispatch_uid="django_convites.invites.post")
        groups = getattr(get_user_model(), "groups", None)
        if groups is not None and hasattr(groups, "through"):
            m2m_changed.connect(
                invites.withdraw_on_group_change, sender=groups.through, dispatch_uid="django_convites.invites.groups"
            )
