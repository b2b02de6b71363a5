"""Views of the API, one module per area. Each is thin: parse input, call one service, render."""

from __future__ import annotations

from django_convites.api.views.api_tokens import (
    ApiTokenDetailView,
    ApiTokenListView,
    ApiTokenLogsView,
    ApiTokenRotateView,
)
from django_convites.api.views.audit import AuditEventViewSet
from django_convites.api.views.auth_codes import AuthCodeIssueView, AuthCodeValidateView
from django_convites.api.views.invites import (
    InviteDetailView,
    InviteListView,
    InviteLogsView,
    InviteRevokeView,
    InviteUseView,
    InviteValidateView,
)
from django_convites.api.views.root import APIRootView
from django_convites.api.views.sessions import (
    LoginView,
    RefreshView,
    RevokeView,
    SessionDetailView,
    SessionListView,
)
from django_convites.api.views.two_factor import (
    BackupCodesView,
    TotpConfirmView,
    TotpEnrolView,
    TwoFactorDisableView,
    TwoFactorStatusView,
)

__all__ = [
    "APIRootView",
    "BackupCodesView",
    "ApiTokenDetailView",
    "ApiTokenListView",
    "ApiTokenLogsView",
    "ApiTokenRotateView",
    "AuditEventViewSet",
    "AuthCodeIssueView",
    "AuthCodeValidateView",
    "InviteDetailView",
    "InviteListView",
    "InviteLogsView",
    "InviteRevokeView",
    "InviteUseView",
    "InviteValidateView",
    "LoginView",
    "RefreshView",
    "RevokeView",
    "SessionDetailView",
    "SessionListView",
    "TotpConfirmView",
    "TotpEnrolView",
    "TwoFactorDisableView",
    "TwoFactorStatusView",
]
