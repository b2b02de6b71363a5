"""The JSON API. Mount it with ``path("api/", include("django_convites.api.urls"))``."""

from __future__ import annotations

from django.urls import path

from django_convites.api import views

app_name = "convites_api"

urlpatterns = [
    path("", views.APIRootView.as_view(), name="root"),
    path("auditoria/", views.AuditEventViewSet.as_view({"get": "list"}), name="audit-list"),
    path("auth/token/", views.LoginView.as_view(), name="auth-token"),
    path("auth/token/refresh/", views.RefreshView.as_view(), name="auth-token-refresh"),
    path("auth/token/revoke/", views.RevokeView.as_view(), name="auth-token-revoke"),
    path("auth/sessoes/", views.SessionListView.as_view(), name="auth-session-list"),
    path("auth/sessoes/<str:family_id>/", views.SessionDetailView.as_view(), name="auth-session-detail"),
    path("2fa/", views.TwoFactorStatusView.as_view(), name="2fa-status"),
    path("2fa/totp/", views.TotpEnrolView.as_view(), name="2fa-totp"),
    path("2fa/totp/confirmar/", views.TotpConfirmView.as_view(), name="2fa-totp-confirm"),
    path("2fa/desativar/", views.TwoFactorDisableView.as_view(), name="2fa-disable"),
    path("2fa/codigos-backup/", views.BackupCodesView.as_view(), name="2fa-backup-codes"),
    path("codigos/", views.AuthCodeIssueView.as_view(), name="auth-code-list"),
    path("codigos/validar/", views.AuthCodeValidateView.as_view(), name="auth-code-validate"),
    path("api-tokens/", views.ApiTokenListView.as_view(), name="api-token-list"),
    path("api-tokens/<str:token_id>/", views.ApiTokenDetailView.as_view(), name="api-token-detail"),
    path("api-tokens/<str:token_id>/rotacionar/", views.ApiTokenRotateView.as_view(), name="api-token-rotate"),
    path("api-tokens/<str:token_id>/logs/", views.ApiTokenLogsView.as_view(), name="api-token-logs"),
    path("tokens/", views.InviteListView.as_view(), name="invite-list"),
    path("tokens/validate/", views.InviteValidateView.as_view(), name="invite-validate"),
    path("tokens/<str:ref>/", views.InviteDetailView.as_view(), name="invite-detail"),
    path("tokens/<str:ref>/use/", views.InviteUseView.as_view(), name="invite-use"),
    path("tokens/<str:ref>/revogar/", views.InviteRevokeView.as_view(), name="invite-revoke"),
    path("tokens/<str:ref>/logs/", views.InviteLogsView.as_view(), name="invite-logs"),
]
