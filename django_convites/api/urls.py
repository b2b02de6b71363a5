"""The JSON API. Mount it with ``path("api/", include("django_convites.api.urls"))``."""

from __future__ import annotations

from django.urls import path

from django_convites.api.views import api_tokens, audit, auth_codes, invites, root, sessions, signup, two_factor

app_name = "convites_api"

urlpatterns = [
    path("", root.APIRootView.as_view(), name="root"),
    path("auditoria/", audit.AuditEventListView.as_view(), name="audit-list"),
    path("auditoria/acessos/", audit.AccessHistoryView.as_view(), name="audit-access-history"),
    path("auth/token/", sessions.LoginView.as_view(), name="auth-token"),
    path("auth/token/refresh/", sessions.RefreshView.as_view(), name="auth-token-refresh"),
    path("auth/token/revoke/", sessions.RevokeView.as_view(), name="auth-token-revoke"),
    path("auth/sessoes/", sessions.SessionListView.as_view(), name="auth-session-list"),
    path("auth/sessoes/<str:family_id>/", sessions.SessionDetailView.as_view(), name="auth-session-detail"),
    path("2fa/", two_factor.TwoFactorStatusView.as_view(), name="2fa-status"),
    path("2fa/totp/", two_factor.TotpEnrolView.as_view(), name="2fa-totp"),
    path("2fa/totp/confirmar/", two_factor.TotpConfirmView.as_view(), name="2fa-totp-confirm"),
    path("2fa/desativar/", two_factor.TwoFactorDisableView.as_view(), name="2fa-disable"),
    path("2fa/codigos-backup/", two_factor.BackupCodesView.as_view(), name="2fa-backup-codes"),
    path("codigos/", auth_codes.AuthCodeIssueView.as_view(), name="auth-code-list"),
    path("codigos/validar/", auth_codes.AuthCodeValidateView.as_view(), name="auth-code-validate"),
    path("api-tokens/", api_tokens.ApiTokenListView.as_view(), name="api-token-list"),
    path("api-tokens/<str:token_id>/", api_tokens.ApiTokenDetailView.as_view(), name="api-token-detail"),
    path("api-tokens/<str:token_id>/rotacionar/", api_tokens.ApiTokenRotateView.as_view(), name="api-token-rotate"),
    path("api-tokens/<str:token_id>/logs/", api_tokens.ApiTokenLogsView.as_view(), name="api-token-logs"),
    path("tokens/", invites.InviteListView.as_view(), name="invite-list"),
    path("tokens/validate/", invites.InviteValidateView.as_view(), name="invite-validate"),
    path("tokens/<str:ref>/", invites.InviteDetailView.as_view(), name="invite-detail"),
    path("tokens/<str:ref>/use/", invites.InviteUseView.as_view(), name="invite-use"),
    path("tokens/<str:ref>/registrar/", signup.InviteSignUpView.as_view(), name="invite-signup"),
    path("tokens/<str:ref>/revogar/", invites.InviteRevokeView.as_view(), name="invite-revoke"),
    path("tokens/<str:ref>/reenviar/", invites.InviteResendView.as_view(), name="invite-resend"),
    path("tokens/<str:ref>/logs/", invites.InviteLogsView.as_view(), name="invite-logs"),
]
