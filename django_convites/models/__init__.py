"""The app's models, one module per aggregate."""

from __future__ import annotations

from django_convites.models.api_tokens import ApiToken, Scope
from django_convites.models.audit import AppendOnlyError, AuditEvent
from django_convites.models.auth_codes import AuthCode, AuthCodeLimit
from django_convites.models.invites import Invite, InviteQuota, InviteState
from django_convites.models.sessions import RefreshToken, SessionFamily
from django_convites.models.two_factor import (
    BackupCode,
    BackupCodeDevice,
    TotpSecret,
    TwoFactorLimit,
)
from django_convites.models.webhooks import DeliveryState, WebhookDelivery

__all__ = [
    "ApiToken",
    "AppendOnlyError",
    "AuditEvent",
    "AuthCode",
    "AuthCodeLimit",
    "BackupCode",
    "BackupCodeDevice",
    "DeliveryState",
    "Invite",
    "InviteQuota",
    "InviteState",
    "RefreshToken",
    "Scope",
    "SessionFamily",
    "TotpSecret",
    "TwoFactorLimit",
    "WebhookDelivery",
]
