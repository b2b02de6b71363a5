"""The HTML pages. Mount them with ``path("tokens/", include("django_convites.urls"))``."""

from __future__ import annotations

from django.urls import path

from django_convites import views

app_name = "django_convites"

urlpatterns = [
    path("convites/gerar/", views.IssueInvitePage.as_view(), name="invite-issue"),
    path("convites/validar/", views.ValidateInvitePage.as_view(), name="invite-validate"),
    path("convites/aceitar/", views.AcceptInvitePage.as_view(), name="invite-accept"),
    path("convites/aceitar/<str:codigo>/", views.AcceptInviteLink.as_view(), name="invite-accept-link"),
    path("ativar-2fa/", views.EnableTwoFactorPage.as_view(), name="2fa-enable"),
    path("desativar-2fa/", views.DisableTwoFactorPage.as_view(), name="2fa-disable"),
    path("verificar-2fa/", views.VerifyTwoFactorPage.as_view(), name="2fa-verify"),
    path("codigos-backup/", views.BackupCodesPage.as_view(), name="2fa-backup-codes"),
]
