"""The app's models, one module per aggregate."""

from __future__ import annotations

from django_convites.models.api_tokens import ApiToken, Scope
from django_convites.models.audit import AppendOnlyError, AuditEvent
from django_convites.models.invites import Invite, InviteQuota, InviteState
from django_convites.models.sessions import RefreshToken, SessionFamily

__all__ = [
    "ApiToken",
    "AppendOnlyError",
    "AuditEvent",
    "Invite",
    "InviteQuota",
    "InviteState",
    "RefreshToken",
    "Scope",
    "SessionFamily",
]
